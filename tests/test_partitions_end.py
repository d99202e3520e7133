"""The UI's partitions end at the sources' last day with data (issue 12): the demo market's 2025-03-31, the price
files' last date; live sources run to today. The CLI's own runs keep partitions to today."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from models.calendar import sessions
from pipelines import definitions
from pipelines.settings import VARIABLES

PRICES, HEADLINES = ["core", "prices"], ["core", "headlines"]


def _keys(defs, key: list[str]) -> list[str]:
    return defs.resolve_assets_def(key).partitions_def.get_partition_keys()


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in VARIABLES:
        if variable.name.startswith("IMPACT_"):
            monkeypatch.delenv(variable.name, raising=False)


def test_the_demo_partitions_end_with_the_demo_market():
    prices, news = _keys(definitions.defs(), PRICES), _keys(definitions.defs(), HEADLINES)
    assert (prices[0], prices[-1]) == ("2023-01-02", "2025-03-31")
    assert (news[0], news[-1]) == ("2023-01-02", "2025-03-31")
    assert len(prices) == 586  # weekdays only: not the ~1,000 a run to today would show as missing


def test_the_files_partitions_end_at_the_files_last_date(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    folder = tmp_path / "prices"
    folder.mkdir()
    for ticker, last in (("NVDA", date(2025, 2, 14)), ("SPY", date(2025, 2, 12))):
        days = sessions(date(2025, 1, 2), last).strftime("%Y-%m-%d")
        pd.DataFrame(
            {"Date": days, "Open": 1.0, "High": 1.0, "Low": 1.0, "Close": 1.0, "Adj Close": 1.0, "Volume": 10}
        ).to_csv(folder / f"{ticker}.csv", index=False)
    monkeypatch.setenv("IMPACT_PRICE_SOURCE", "files")
    monkeypatch.setenv("IMPACT_PRICE_PATH", str(folder))
    monkeypatch.setenv("IMPACT_NEWS_SOURCES", "yahoo")
    defs = definitions.defs()
    assert _keys(defs, PRICES)[-1] == "2025-02-14"
    today = pd.Timestamp.now(tz="America/New_York").date()
    assert date.fromisoformat(_keys(defs, HEADLINES)[-1]) >= today - timedelta(days=1)  # a live news source


def test_the_cli_runs_keep_partitions_to_today():
    """`impact ingest --source yahoo` needs today's partition even when the configured source is the demo."""
    last = _keys(definitions.build_definitions("/tmp/never-opened.duckdb"), PRICES)[-1]
    assert pd.Timestamp(last) >= pd.Timestamp("2026-01-01")


def test_the_ui_schedules_skip_days_after_the_data_and_say_why():
    import dagster as dg

    defs = definitions.defs()
    schedules, repository = {s.name: s for s in defs.schedules}, defs.get_repository_def()
    after = dg.build_schedule_context(
        scheduled_execution_time=pd.Timestamp("2025-04-01 17:30", tz="America/New_York"), repository_def=repository
    )
    skipped = schedules["prices_after_close"].evaluate_tick(after).skip_message
    assert skipped == "the 'demo' price source has no data after 2025-03-31"
    news = schedules["news_end_of_day"].evaluate_tick(after).skip_message
    assert news == "the news sources (demo) have no data after 2025-03-31"
    inside = dg.build_schedule_context(
        scheduled_execution_time=pd.Timestamp("2025-03-31 17:30", tz="America/New_York"), repository_def=repository
    )
    assert [r.partition_key for r in schedules["prices_after_close"].evaluate_tick(inside).run_requests] == [
        "2025-03-31"
    ]
