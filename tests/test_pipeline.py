"""Real Dagster runs into throw-away DuckDB files: ranges, idempotency, bad input, failing checks."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from pipelines import warehouse
from pipelines.assets import market
from pipelines.definitions import build_definitions, news_end_of_day, prices_after_close
from pipelines.resources import NewsSourceResource, PriceSourceResource, WarehouseResource
from pipelines.runner import run_job

TICKERS = ["NVDA", "MSFT", "META", "SPY"]


@pytest.fixture
def instance():
    with dg.instance_for_test() as inst:
        yield inst


def _demo_prices(tickers=TICKERS) -> PriceSourceResource:
    return PriceSourceResource(source="demo", tickers=list(tickers))


def _table(path: Path, sql: str) -> pd.DataFrame:
    with warehouse.reader(path) as con:
        return con.execute(sql).df()


def _write_bars(folder: Path, ticker: str, rows: list[tuple]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame(rows, columns=["date", "open", "high", "low", "close", "volume"])
    frame.to_csv(folder / f"{ticker}.csv", index=False)


def _clean_bars(days: pd.DatetimeIndex, start: float = 100.0) -> list[tuple]:
    return [(d.date().isoformat(), start + i, start + i + 2, start + i - 2, start + i + 1, 1_000 + i) for i, d in enumerate(days)]


def test_definitions_load_with_groups_checks_and_schedules():
    defs = build_definitions()
    groups = {spec.key.to_user_string(): spec.group_name for spec in defs.resolve_all_asset_specs()}
    assert groups == {
        "core/prices": "market_data", "core/bars_intraday": "market_data", "core/headlines": "news",
        "data/event_catalog": "event_study",
        "core/events": "event_study", "mart/daily_abnormal_returns": "event_study",
        "core/headline_sentiment": "sentiment", "mart/daily_sentiment": "sentiment",
        **{f"mart/{t}": "event_study" for t in ("event_estimates", "abnormal_returns", "event_windows",
                                               "event_aggregates", "event_tests", "event_dollars",
                                               "event_dollar_windows", "intraday_reaction")},
    }
    check_names = {key.name for key in defs.resolve_asset_graph().asset_check_keys}
    assert {"prices_are_positive", "ohlc_consistent", "no_outsized_moves", "no_missing_sessions",
            "prices_not_stale", "no_duplicate_headlines", "headlines_well_formed", "share_jumps_explained",
            "bars_inside_daily_range", "no_regular_hours_gaps", "duplicated_minutes_dropped"} <= check_names
    assert {s.name for s in defs.schedules} == {"prices_after_close", "news_end_of_day"}


def test_schedules_run_after_the_close_on_sessions_only():
    holiday = dg.build_schedule_context(scheduled_execution_time=pd.Timestamp("2025-01-20 17:30", tz="America/New_York"))
    assert isinstance(prices_after_close(holiday), dg.SkipReason)
    session = dg.build_schedule_context(scheduled_execution_time=pd.Timestamp("2025-01-27 17:30", tz="America/New_York"))
    request = prices_after_close(session)
    assert isinstance(request, dg.RunRequest) and request.partition_key == "2025-01-27"
    sunday = dg.build_schedule_context(scheduled_execution_time=pd.Timestamp("2025-01-26 23:55", tz="America/New_York"))
    assert news_end_of_day(sunday).partition_key == "2025-01-26"


def test_single_partition_materialize(tmp_path):
    path = tmp_path / "w.duckdb"
    result = dg.materialize(
        [market.prices],
        partition_key="2025-01-27",
        resources={"warehouse": WarehouseResource(path=str(path)), "price_source": _demo_prices()},
    )
    assert result.success
    bars = _table(path, "SELECT ticker, date, close FROM core.prices ORDER BY ticker")
    assert list(bars["ticker"]) == sorted(TICKERS)
    assert set(bars["date"].astype(str)) == {"2025-01-27"}
    assert bars.set_index("ticker").loc["NVDA", "close"] == pytest.approx(118.42)


def test_holiday_partition_writes_nothing(tmp_path):
    path = tmp_path / "w.duckdb"
    result = dg.materialize(
        [market.prices],
        partition_key="2025-01-09",  # closed: national day of mourning for President Carter
        resources={"warehouse": WarehouseResource(path=str(path)), "price_source": _demo_prices()},
    )
    assert result.success
    assert result.get_asset_materialization_events()[0].materialization.metadata["note"].value == "market closed"
    assert not path.exists(), "a closed day opens no writer"


def test_range_backfill_is_one_run_and_reruns_are_identical(tmp_path, instance):
    path = tmp_path / "w.duckdb"
    first = run_job("ingest_prices", date(2024, 12, 2), date(2025, 1, 31), warehouse_file=path,
                    price_source=_demo_prices(), instance=instance)
    assert first.success, first.error
    assert all(first.checks.values()) and len(first.checks) == 6  # the five price checks and the share-count check
    runs = instance.get_runs()
    assert len(runs) == 1
    snapshot = _table(path, "SELECT ticker, date, open, high, low, close, adj_close, volume FROM core.prices ORDER BY ALL")
    assert len(snapshot) == 4 * 41  # 41 NYSE sessions in Dec 2024 + Jan 2025 (holidays 12-25, 01-01, 01-09, 01-20)
    again = run_job("ingest_prices", date(2024, 12, 2), date(2025, 1, 31), warehouse_file=path,
                    price_source=_demo_prices(), instance=instance)
    assert again.success
    pd.testing.assert_frame_equal(snapshot, _table(path, "SELECT ticker, date, open, high, low, close, adj_close, volume FROM core.prices ORDER BY ALL"))
    assert _table(path, "SELECT count(*) AS n FROM raw.prices")["n"][0] == len(snapshot)


def test_news_partitions_include_weekends_and_dedupe(tmp_path, instance):
    path = tmp_path / "w.duckdb"
    sources = NewsSourceResource(sources=["demo"])
    for _ in range(2):
        outcome = run_job("ingest_news", date(2025, 1, 18), date(2025, 1, 31), warehouse_file=path,
                          news_source=sources, instance=instance)
        assert outcome.success, outcome.error
        assert all(outcome.checks.values())
    stories = _table(path, "SELECT ny_date, headline_id FROM core.headlines")
    assert stories["headline_id"].is_unique
    assert len(stories) >= 50
    weekend = pd.to_datetime(stories["ny_date"]).dt.dayofweek >= 5
    assert weekend.any(), "weekend headlines are ingested into weekend partitions"


def test_bad_file_fails_the_run_naming_the_row_and_keeps_the_old_data(tmp_path, instance):
    path = tmp_path / "w.duckdb"
    folder = tmp_path / "vendor"
    days = pd.DatetimeIndex(pd.to_datetime(["2025-01-23", "2025-01-24", "2025-01-27"]))
    _write_bars(folder, "NVDA", _clean_bars(days))
    files = PriceSourceResource(source="files", path=str(folder), tickers=["NVDA"])
    good = run_job("ingest_prices", date(2025, 1, 23), date(2025, 1, 27), warehouse_file=path, price_source=files, instance=instance)
    assert good.success, good.error
    before = _table(path, "SELECT * EXCLUDE (ingested_at) FROM core.prices ORDER BY date")

    rows = _clean_bars(days)
    rows[1] = (rows[1][0], rows[1][1], rows[1][2], rows[1][3], float("nan"), rows[1][5])
    _write_bars(folder, "NVDA", rows)
    bad = run_job("ingest_prices", date(2025, 1, 23), date(2025, 1, 27), warehouse_file=path, price_source=files, instance=instance)
    assert not bad.success
    assert "NVDA.csv" in bad.error and "row 2" in bad.error and "close" in bad.error
    pd.testing.assert_frame_equal(before, _table(path, "SELECT * EXCLUDE (ingested_at) FROM core.prices ORDER BY date"))


def test_unknown_ticker_fails_naming_it(tmp_path, instance):
    outcome = run_job("ingest_prices", date(2025, 1, 27), date(2025, 1, 27), warehouse_file=tmp_path / "w.duckdb",
                      price_source=_demo_prices(["NVDA", "NOPE"]), instance=instance)
    assert not outcome.success
    assert "NOPE" in outcome.error
    assert not (tmp_path / "w.duckdb").exists() or _table(tmp_path / "w.duckdb", "SELECT count(*) AS n FROM core.prices")["n"][0] == 0


def test_checks_fail_on_bad_data(tmp_path, instance):
    """An unexplained 50% jump, a missing session and a stale ticker each fail their check (a bar with
    inconsistent OHLC is refused before the write: tests/test_staging.py)."""
    path = tmp_path / "w.duckdb"
    folder = tmp_path / "vendor"
    days = pd.DatetimeIndex(pd.to_datetime(["2025-01-21", "2025-01-22", "2025-01-23", "2025-01-24", "2025-01-27"]))
    rows = _clean_bars(days)
    rows[3] = (rows[3][0], 160.0, 165.0, 155.0, 160.0, 1000)         # +50% jump, no split
    del rows[2]                                                      # 2025-01-23 missing
    _write_bars(folder, "NVDA", rows)
    _write_bars(folder, "MSFT", _clean_bars(days[:2]))               # stops two sessions early: stale
    files = PriceSourceResource(source="files", path=str(folder), tickers=["NVDA", "MSFT"])
    outcome = run_job("ingest_prices", date(2025, 1, 21), date(2025, 1, 27), warehouse_file=path, price_source=files, instance=instance)
    assert outcome.success, outcome.error
    assert outcome.checks == {
        "prices_are_positive": True,
        "ohlc_consistent": True,
        "no_outsized_moves": False,
        "no_missing_sessions": False,
        "prices_not_stale": False,
        "share_jumps_explained": True,  # no shares.csv beside the files: no counts, nothing to flag
    }


def test_duplicate_story_under_two_ids_fails_its_check(tmp_path, instance):
    folder = tmp_path / "news"
    folder.mkdir()
    pd.DataFrame(
        {
            "published_at": ["2025-01-27T14:00:00Z", "2025-01-27T18:00:00Z"],
            "title": ["Nvidia falls on DeepSeek", "Nvidia falls on DeepSeek (updated)"],
            "summary": ["", ""],
            "url": ["https://example.test/a", "https://example.test/a"],
            "publisher": ["Wire", "Wire"],
            "tickers": ["NVDA", "NVDA"],
        }
    ).to_csv(folder / "news.csv", index=False)
    outcome = run_job("ingest_news", date(2025, 1, 27), date(2025, 1, 27), warehouse_file=tmp_path / "w.duckdb",
                      news_source=NewsSourceResource(sources=["files"], path=str(folder)), instance=instance)
    assert outcome.success, outcome.error
    assert outcome.checks["no_duplicate_headlines"] is False
    assert outcome.checks["headlines_well_formed"] is True
