"""Intraday bars in the warehouse through real Dagster runs: one transaction per partition, idempotent re-runs,
duplicated minutes dropped and counted, the checks; then the reaction mart, its macro, the reads and the CLI."""

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from pipelines import warehouse
from pipelines.errors import DataValidationError
from pipelines.resources import PriceSourceResource
from pipelines.runner import run_job
from pipelines.sources.demo_intraday import DemoIntradaySource
from pipelines.warehouse import intraday as store
from pipelines.warehouse import read

DAY = date(2025, 1, 27)
TICKERS = ["NVDA", "MSFT", "META", "SPY", "QQQ"]
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def intraday_env(monkeypatch, tmp_path):
    """Definitions built from the environment: the intraday source, its tickers and a throw-away Dagster home."""
    monkeypatch.setenv("IMPACT_TICKERS", ",".join(TICKERS))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    monkeypatch.setenv("IMPACT_RETRY_DELAY_S", "0")
    return tmp_path


def _core(path: Path) -> pd.DataFrame:
    with warehouse.reader(path) as con:
        return con.execute("SELECT * EXCLUDE (ingested_at) FROM core.bars_intraday ORDER BY ticker, ts").df()


def test_a_partition_is_written_once_and_a_rerun_leaves_identical_rows(intraday_env):
    path = intraday_env / "w.duckdb"
    with dg.instance_for_test() as instance:
        first = run_job("ingest_intraday", DAY, DAY, warehouse_file=path, instance=instance)
        assert first.success, first.error
        assert first.checks == {
            "duplicated_minutes_dropped": True,
            "bars_inside_daily_range": True,
            "no_regular_hours_gaps": True,
        }
        before = _core(path)
        again = run_job("ingest_intraday", DAY, DAY, warehouse_file=path, instance=instance)
        assert again.success, again.error
    after = _core(path)
    assert len(before) == len(TICKERS) * 960
    pd.testing.assert_frame_equal(before, after)
    assert set(after["session"]) == {"pre", "regular", "post"}


def test_duplicated_minutes_are_dropped_and_counted_by_the_check(intraday_env, monkeypatch):
    bars = DemoIntradaySource().fetch_bars(["NVDA"], DAY, DAY)
    local = bars["ts"].dt.tz_convert("America/New_York").dt.strftime("%Y-%m-%dT%H:%M:%S%z")
    csv = bars.assign(timestamp=local)[["ticker", "timestamp", "open", "high", "low", "close", "volume"]]
    pd.concat([csv, csv.iloc[400:403]]).to_csv(intraday_env / "NVDA.csv", index=False)  # an overlapping export
    monkeypatch.setenv("IMPACT_TICKERS", "NVDA")
    monkeypatch.setenv("IMPACT_INTRADAY_SOURCE", "files")
    monkeypatch.setenv("IMPACT_INTRADAY_PATH", str(intraday_env / "NVDA.csv"))
    with dg.instance_for_test() as instance:
        outcome = run_job("ingest_intraday", DAY, DAY, warehouse_file=intraday_env / "w.duckdb", instance=instance)
    assert outcome.success, outcome.error
    assert outcome.checks["duplicated_minutes_dropped"] is False
    assert outcome.metadata["duplicates"] == 3
    assert outcome.metadata["rows"] == 960


def test_an_inconsistent_bar_refuses_the_partition_and_writes_nothing(tmp_path):
    bars = DemoIntradaySource().fetch_bars(["NVDA"], DAY, DAY)
    path = tmp_path / "w.duckdb"
    with warehouse.writer(path) as con:
        store.replace_bars_intraday(con, bars, DAY, DAY, ["NVDA"], "1m")
    bad = bars.copy()
    bad.loc[500, "high"] = bad.loc[500, "low"] / 2
    with warehouse.writer(path) as con, pytest.raises(DataValidationError, match="ticker NVDA.*nothing was written"):
        store.replace_bars_intraday(con, bad, DAY, DAY, ["NVDA"], "1m")
    assert len(_core(path)) == 960


def test_the_checks_find_bars_outside_the_daily_range_and_gaps(tmp_path):
    from pipelines.sources.demo_market import DemoPriceSource

    path = tmp_path / "w.duckdb"
    with warehouse.writer(path) as con:
        warehouse.replace_prices(con, DemoPriceSource().fetch_prices(["NVDA"], DAY, DAY), DAY, DAY, ["NVDA"])
        store.replace_bars_intraday(con, DemoIntradaySource().fetch_bars(["NVDA"], DAY, DAY), DAY, DAY, ["NVDA"], "1m")
        assert store.check_frame(con, store.OUTSIDE_DAILY_RANGE_SQL, DAY, DAY).empty
        assert store.check_frame(con, store.REGULAR_GAPS_SQL, DAY, DAY).empty
        con.execute("UPDATE core.bars_intraday SET high = high * 1.5 WHERE ts = '2025-01-27 15:00:00+00'")
        con.execute("DELETE FROM core.bars_intraday WHERE ts = '2025-01-27 16:00:00+00'")
        outside = store.check_frame(con, store.OUTSIDE_DAILY_RANGE_SQL, DAY, DAY)
        gaps = store.check_frame(con, store.REGULAR_GAPS_SQL, DAY, DAY)
    assert outside["ts"].tolist() == [pd.Timestamp("2025-01-27 15:00", tz="UTC")]
    assert gaps[["ticker", "missing"]].values.tolist() == [["NVDA", 1]]


@pytest.fixture(scope="module")
def analysed(tmp_path_factory) -> Path:
    """Demo prices (a year, for the market model's betas), the sell-off's intraday bars, then the analyze job."""
    folder = tmp_path_factory.mktemp("intraday")
    path = folder / "w.duckdb"
    saved = dict(os.environ)
    os.environ.update({"DAGSTER_HOME": str(folder / "dagster"), "IMPACT_RETRY_DELAY_S": "0"})
    try:
        with dg.instance_for_test() as instance:
            for job, start, end, resources in (
                (
                    "ingest_prices",
                    date(2024, 1, 2),
                    date(2025, 2, 4),
                    {"price_source": PriceSourceResource(source="demo")},
                ),
                ("ingest_intraday", DAY, DAY, {}),
                ("analyze", date(2024, 1, 2), date(2025, 2, 4), {}),
            ):
                outcome = run_job(job, start, end, warehouse_file=path, instance=instance, **resources)
                assert outcome.success, f"{job}: {outcome.error}"
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return path


def test_the_mart_holds_the_sell_off_with_the_reported_pre_market_falls(analysed):
    with warehouse.reader(analysed) as con:
        frame = read.intraday_reaction(con, "deepseek-r1-release")
        macro = con.execute("SELECT ticker, measure, ret FROM mart.intraday_reaction('deepseek-r1-release')").df()
        bars = read.intraday_bars(con, ["NVDA", "SPY"], DAY)
    low = frame[frame["measure"] == "premarket_low"].set_index("ticker")["ret"]
    assert -0.14 <= low["NVDA"] <= -0.11
    assert low["MSFT"] == pytest.approx(-0.07, abs=0.002)
    assert low["META"] == pytest.approx(-0.05, abs=0.002)
    close = frame[frame["measure"] == "close"].set_index("ticker")
    assert close.loc["NVDA", "ret"] == pytest.approx(118.42 / 142.62 - 1, abs=1e-6)  # the demo's daily close
    assert (close["beta_source"] == "market model (daily)").all()
    assert (frame["timing"] == "market closed").all()
    assert frame["note"].str.contains("not on the first session after the news").all()
    assert len(macro) == len(frame) == 12 * 5
    assert set(bars["ticker"]) == {"NVDA", "SPY"} and len(bars) == 2 * 960


def test_study_intraday_prints_a_table_per_ticker(analysed):
    env = {**os.environ, "COLUMNS": "200"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipelines.cli",
            "study",
            "--event",
            "deepseek-r1-release",
            "--intraday",
            "--warehouse",
            str(analysed),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "market closed" in done.stdout and "pre-market low" in done.stdout
    assert done.stdout.count("vs SPY x beta") == 12
    assert "-13.00%" in done.stdout  # NVDA's pre-market low


def test_study_intraday_without_bars_says_how_to_get_them(analysed):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipelines.cli",
            "study",
            "--event",
            "stargate-announcement",
            "--intraday",
            "--warehouse",
            str(analysed),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert done.returncode != 0
    assert "no intraday reaction for event 'stargate-announcement'" in done.stderr + done.stdout
    assert "Traceback" not in done.stderr


def test_the_report_and_the_explorer_draw_the_event_session(analysed, tmp_path):
    from dashboards import data
    from dashboards.intraday import view_figure
    from dashboards.report import build_report

    [page] = build_report("deepseek-r1-release", tmp_path / "r.html", warehouse_path=analysed)
    text = page.read_text(encoding="utf-8")
    assert "The event session, minute by minute" in text and "fig-intraday" in text
    view = data.event_intraday(data.open_store(analysed), "deepseek-r1-release").value
    figure = view_figure(view, ["NVDA", "MSFT"])
    names = {trace.name for trace in figure.data}
    assert {"NVDA", "MSFT"} <= names and "META" not in names  # the explorer's focus tickers, and the benchmark
