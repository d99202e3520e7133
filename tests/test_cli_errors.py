"""User mistakes end `impact` with one or two lines on stderr, exit 1, no traceback; --debug shows the trace.

Most cases run the installed `impact` entry point in a subprocess, on a small warehouse of demo prices
written directly (no Dagster run), so what is checked is what a user sees.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from pipelines import warehouse
from pipelines.cli import app
from pipelines.sources.demo_market import DemoPriceSource

IMPACT = Path(sys.executable).with_name("impact")
TICKERS = ["NVDA", "AMD", "SPY", "SMH"]
FIRST, LAST = date(2024, 1, 2), date(2025, 1, 28)
"""The small warehouse's prices: 250+ sessions before 2025-01-27 (DeepSeek-R1's day0), one session after it."""


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli_errors") / "w.duckdb"
    prices = DemoPriceSource().fetch_prices(TICKERS, FIRST, LAST)
    with warehouse.writer(path) as con:
        warehouse.replace_prices(con, prices, FIRST, LAST, TICKERS)
    return path


def impact(*args: str, tmp: Path, env: dict[str, str] | None = None, timeout: int = 180) -> subprocess.CompletedProcess:
    """Run the real `impact` entry point; the warehouse defaults to one in ``tmp`` (never the checkout's)."""
    environ = {
        **os.environ,
        "DAGSTER_HOME": str(tmp / "dagster_home"),
        "IMPACT_WAREHOUSE": str(tmp / "absent.duckdb"),
        "COLUMNS": "200",
        **(env or {}),
    }
    environ.pop("IMPACT_DEBUG", None)
    return subprocess.run([str(IMPACT), *args], capture_output=True, text=True, timeout=timeout, env=environ)


def short_failure(done: subprocess.CompletedProcess, code: int = 1) -> str:
    """stderr of a run that failed as a user mistake should: ``code``, one or two lines, no trace."""
    assert done.returncode == code, f"exit {done.returncode}\nstdout: {done.stdout}\nstderr: {done.stderr}"
    assert "Traceback" not in done.stderr + done.stdout, done.stderr
    lines = done.stderr.strip().splitlines()
    assert 1 <= len(lines) <= 2, done.stderr
    return done.stderr


# --------------------------------------------------------------------------------------------- impact sql -f


def test_sql_file_that_does_not_exist(small, tmp_path):
    err = short_failure(impact("sql", "-f", str(tmp_path / "missing.sql"), "--warehouse", str(small), tmp=tmp_path))
    assert "missing.sql" in err and "no such file" in err


def test_sql_file_that_is_a_folder(small, tmp_path):
    err = short_failure(impact("sql", "-f", str(tmp_path), "--warehouse", str(small), tmp=tmp_path))
    assert str(tmp_path) in err and "is a folder" in err


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8-sig", "utf-16-be"])
def test_sql_file_with_a_byte_order_mark_is_decoded(small, tmp_path, encoding):
    script = tmp_path / "q.sql"
    text = "SELECT 42 AS answer"
    script.write_bytes(("\ufeff" + text if encoding == "utf-16-be" else text).encode(encoding))
    done = impact("sql", "-f", str(script), "--format", "csv", "--warehouse", str(small), tmp=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["answer", "42"]


def test_sql_file_that_is_not_text(small, tmp_path):
    script = tmp_path / "q.sql"
    script.write_bytes(b"SELECT '\xe9t\xe9'")  # Latin-1, no byte order mark
    err = short_failure(impact("sql", "-f", str(script), "--warehouse", str(small), tmp=tmp_path))
    assert "q.sql" in err and "UTF-8" in err and "byte 8" in err


# --------------------------------------------------------------------------------------------- impact study


def test_study_window_that_overlaps_the_estimation_window(small, tmp_path):
    err = short_failure(
        impact("study", "--event", "deepseek-r1-release", "--window", "-20,5", "--warehouse", str(small), tmp=tmp_path)
    )
    assert "--window -20,5" in err and "-10" in err and "[-250,-11]" in err


def test_study_window_with_bad_syntax_is_a_usage_error(small, tmp_path):
    done = impact(
        "study", "--event", "deepseek-r1-release", "--window", "-20:5", "--warehouse", str(small), tmp=tmp_path
    )
    assert done.returncode == 2 and "START,END" in done.stderr and "Traceback" not in done.stderr


def test_study_without_a_warehouse(tmp_path):
    missing = tmp_path / "none.duckdb"
    err = short_failure(
        impact("study", "--event", "deepseek-r1-release", tmp=tmp_path, env={"IMPACT_WAREHOUSE": str(missing)})
    )
    assert str(missing) in err and "impact ingest" in err
    assert not missing.exists()


def test_study_of_an_unknown_event_suggests_the_closest(small, tmp_path):
    err = short_failure(impact("study", "--event", "deepseek-r1", "--warehouse", str(small), tmp=tmp_path))
    assert "unknown event 'deepseek-r1'" in err and "did you mean deepseek-r1-release?" in err


def test_study_window_beyond_the_data_is_an_error(small, tmp_path):
    done = impact("study", "--event", "deepseek-r1-release", "--window", "0,5", "--warehouse", str(small), tmp=tmp_path)
    err = short_failure(done)
    assert "no firm" in err and "2025-01-28" in err and "[0,+5]" in err
    assert done.stdout == ""


def test_study_still_prints_what_it_can(small, tmp_path):
    done = impact(
        "study",
        "--event",
        "deepseek-r1-release",
        "--window",
        "0,1",
        "--format",
        "csv",
        "--warehouse",
        str(small),
        tmp=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    firms = pd.read_csv(io.StringIO(done.stdout)).query("table == 'firms'")  # the tidy CSV's per-firm rows
    assert sorted(firms["ticker"].unique()) == ["AMD", "NVDA"]


# --------------------------------------------------------------------------------------------- impact ingest


def test_ingest_of_a_weekend_names_the_missing_sessions(tmp_path):
    target = tmp_path / "w.duckdb"
    err = short_failure(
        impact("ingest", "--start", "2025-01-25", "--end", "2025-01-26", "--warehouse", str(target), tmp=tmp_path)
    )
    assert "no NYSE sessions between 2025-01-25 and 2025-01-26" in err
    assert "2025-01-24" in err and "2025-01-27" in err
    assert not target.exists()


def test_ingest_of_an_unknown_ticker_suggests_the_closest(tmp_path):
    target = tmp_path / "w.duckdb"
    err = short_failure(
        impact(
            "ingest",
            "--start",
            "2025-01-22",
            "--end",
            "2025-01-24",
            "--tickers",
            "NVDA,NVDX",
            "--no-analyze",
            "--warehouse",
            str(target),
            tmp=tmp_path,
        )
    )
    assert "NVDX" in err and "did you mean NVDA?" in err
    assert not target.exists()


def test_a_failed_dagster_run_prints_the_steps_own_error(tmp_path):
    folder = tmp_path / "vendor"
    folder.mkdir()
    pd.DataFrame(
        {
            "Date": ["2025-01-24", "2025-01-27"],
            "Open": [140.0, 124.8],
            "High": [141.9, 128.4],
            "Low": [137.1, 116.7],
            "Close": [142.62, -1.0],
            "Adj Close": [142.62, 118.42],
            "Volume": [1, 2],
        }
    ).to_csv(folder / "NVDA.csv", index=False)
    done = impact(
        "ingest",
        "--source",
        "files",
        "--path",
        str(folder),
        "--tickers",
        "NVDA",
        "--start",
        "2025-01-24",
        "--end",
        "2025-01-27",
        "--no-analyze",
        "--warehouse",
        str(tmp_path / "w.duckdb"),
        tmp=tmp_path,
    )
    err = short_failure(done)
    assert "NVDA.csv" in err and "row 2" in err and "close" in err and "run the command again" in err
    assert "Dagster" not in err.replace("(Dagster run", "") and "dagster." not in err  # no Dagster error or trace


# --------------------------------------------------------------------------------------------- the handler


@pytest.fixture
def broken_sql(monkeypatch):
    """`impact sql` whose connection fails in a way no code expects."""
    from pipelines.commands import sql as command

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(command.engine, "connect", boom)
    monkeypatch.delenv("IMPACT_DEBUG", raising=False)


def test_an_unexpected_error_is_one_line_without_debug(broken_sql):
    result = CliRunner().invoke(app, ["sql", "SELECT 1"])
    assert result.exit_code == 1
    assert result.output.strip() == "internal error: RuntimeError: boom (run with --debug for the trace)"


def test_debug_shows_the_trace(broken_sql, monkeypatch):
    flag = CliRunner().invoke(app, ["--debug", "sql", "SELECT 1"])
    monkeypatch.setenv("IMPACT_DEBUG", "1")
    env = CliRunner().invoke(app, ["sql", "SELECT 1"])
    for result in (flag, env):
        assert result.exit_code == 1
        assert "Traceback" in result.output and 'raise RuntimeError("boom")' in result.output


def test_a_project_error_prints_its_message(tmp_path):
    foreign = tmp_path / "notes.duckdb"
    foreign.write_text("not a database")
    err = short_failure(impact("sql", "SELECT 1", "--warehouse", str(foreign), tmp=tmp_path))
    assert err.startswith("Error: ") and str(foreign) in err
