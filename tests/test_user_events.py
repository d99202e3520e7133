"""Your own events end to end, as a user runs them: `impact events add`, then `impact analyze` studies the event
and `impact study --event <id>` shows it (real CLI subprocesses, a real warehouse, real Dagster runs)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from models.calendar import sessions
from pipelines import warehouse

START, END = date(2024, 5, 1), date(2025, 2, 14)
"""Enough sessions before 2025-01-27 for the estimation window's 120-observation minimum, a few after."""


def _prices(folder: Path) -> Path:
    """NVDA, MSFT and SPY as Yahoo exports: a common market factor plus noise."""
    folder.mkdir()
    days = sessions(START, END)
    rng = np.random.default_rng(20250127)
    market = rng.normal(0, 0.01, len(days))
    for ticker, level, beta in (("NVDA", 100.0, 1.5), ("MSFT", 400.0, 1.0), ("SPY", 500.0, 1.0)):
        returns = market if ticker == "SPY" else beta * market + rng.normal(0, 0.01, len(days))
        close = level * np.exp(np.cumsum(returns))
        pd.DataFrame(
            {
                "Date": days.strftime("%Y-%m-%d"),
                "Open": close,
                "High": close * 1.01,
                "Low": close * 0.99,
                "Close": close,
                "Adj Close": close,
                "Volume": 1_000_000,
            }
        ).to_csv(folder / f"{ticker}.csv", index=False)
    return folder


def _impact(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    command = [str(Path(sys.executable).with_name("impact")), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)


def test_an_added_event_is_analysed_and_studied(tmp_path):
    user_file = tmp_path / "mine" / "events.yaml"
    target = tmp_path / "w.duckdb"
    env = {
        **os.environ,
        "IMPACT_USER_EVENTS": str(user_file),
        "DAGSTER_HOME": str(tmp_path / "dagster"),
        "COLUMNS": "250",
    }
    ingested = _impact(
        "ingest",
        "--source",
        "files",
        "--path",
        str(_prices(tmp_path / "prices")),
        "--tickers",
        "NVDA,MSFT,SPY",
        "--start",
        str(START),
        "--end",
        str(END),
        "--no-analyze",
        "--warehouse",
        str(target),
        env=env,
    )
    assert ingested.returncode == 0, ingested.stderr[-2000:]
    added = _impact(
        "events",
        "add",
        "--id",
        "our-launch",
        "--name",
        "Our launch",
        "--at",
        "2025-01-27 09:00 America/New_York",
        "--tickers",
        "NVDA,MSFT",
        "--kind",
        "product",
        env=env,
    )
    assert added.returncode == 0, added.stderr
    analysed = _impact("analyze", "--warehouse", str(target), env=env)
    assert analysed.returncode == 0, (analysed.stdout + analysed.stderr)[-3000:]
    with warehouse.reader(target) as con:
        row = con.execute("SELECT day0, tickers FROM core.events WHERE event_id = 'our-launch'").fetchone()
        studied = con.execute(
            "SELECT ticker FROM mart.event_estimates WHERE event_id = 'our-launch' AND status = 'ok' ORDER BY ticker"
        ).fetchall()
    assert row == (date(2025, 1, 27), ["NVDA", "MSFT"])
    assert [t for (t,) in studied] == ["MSFT", "NVDA"]
    listed = _impact("events", "--warehouse", str(target), env=env)
    assert listed.returncode == 0 and "our-launch" in listed.stdout
    shown = _impact("study", "--event", "our-launch", "--format", "json", "--warehouse", str(target), env=env)
    assert shown.returncode == 0, shown.stderr
    study = json.loads(shown.stdout)  # the versioned study schema (docs: `impact study --format json`)
    assert study["event"]["event_id"] == "our-launch" and study["source"]["kind"] == "stored"
    own = next(sample for sample in study["samples"] if sample["sample"] == "event")
    assert {firm["ticker"] for firm in own["firms"]} == {"NVDA", "MSFT"} and own["verdicts"]
