"""The warehouse contract: schema, atomic idempotent partition replacement, dedup, read-only access."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from datetime import date

import pandas as pd
import pytest

from pipelines import warehouse
from pipelines.errors import WarehouseError
from pipelines.sources.base import validate_headlines, validate_prices


def _bars(tickers: list[str], days: list[str], close: float = 10.0, source: str = "test") -> pd.DataFrame:
    rows = [
        {
            "ticker": t,
            "date": d,
            "open": close,
            "high": close + 1,
            "low": close - 1,
            "close": close,
            "volume": 1000,
            "source": source,
        }
        for t in tickers
        for d in days
    ]
    return validate_prices(pd.DataFrame(rows), "test")


def _news(rows: list[tuple[str, str, str, str]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["published_at", "title", "tickers", "source"])
    return validate_headlines(frame, "test")


def _count(path, sql: str) -> int:
    with warehouse.reader(path) as con:
        return con.execute(sql).fetchone()[0]


def test_path_resolution_prefers_flag_then_env(tmp_path, monkeypatch):
    monkeypatch.setenv(warehouse.WAREHOUSE_ENV, str(tmp_path / "env.duckdb"))
    assert warehouse.warehouse_path() == tmp_path / "env.duckdb"
    assert warehouse.warehouse_path(tmp_path / "flag.duckdb") == tmp_path / "flag.duckdb"
    monkeypatch.delenv(warehouse.WAREHOUSE_ENV)
    assert warehouse.warehouse_path() == warehouse.DEFAULT_WAREHOUSE


def test_replace_prices_is_idempotent_and_scoped(tmp_path):
    path = tmp_path / "w.duckdb"
    days = ["2025-01-23", "2025-01-24", "2025-01-27"]
    with warehouse.writer(path) as con:
        warehouse.replace_prices(
            con, _bars(["NVDA", "MSFT"], days), date(2025, 1, 23), date(2025, 1, 27), ["NVDA", "MSFT"]
        )
        warehouse.replace_prices(
            con, _bars(["NVDA", "MSFT"], days), date(2025, 1, 23), date(2025, 1, 27), ["NVDA", "MSFT"]
        )
        # A later run for NVDA alone replaces only NVDA's rows in its range.
        warehouse.replace_prices(
            con, _bars(["NVDA"], days[1:], close=20.0), date(2025, 1, 24), date(2025, 1, 27), ["NVDA"]
        )
    assert _count(path, "SELECT count(*) FROM core.prices") == 6
    assert _count(path, "SELECT count(*) FROM core.prices WHERE ticker='NVDA' AND close=20") == 2
    assert _count(path, "SELECT count(*) FROM core.prices WHERE ticker='MSFT' AND close=10") == 3
    assert _count(path, "SELECT count(*) FROM raw.ingestions WHERE dataset='prices'") == 3


def test_failed_write_leaves_the_partition_untouched(tmp_path):
    path = tmp_path / "w.duckdb"
    days = ["2025-01-24", "2025-01-27"]
    with warehouse.writer(path) as con:
        warehouse.replace_prices(con, _bars(["NVDA"], days), date(2025, 1, 24), date(2025, 1, 27), ["NVDA"])
        broken = _bars(["NVDA"], days, close=30.0)
        broken.loc[1, "split_ratio"] = None  # passes the checks, violates NOT NULL after the DELETE already ran
        with pytest.raises(WarehouseError, match="cannot write warehouse .*w.duckdb.*NOT NULL"):
            warehouse.replace_prices(con, broken, date(2025, 1, 24), date(2025, 1, 27), ["NVDA"])
    assert _count(path, "SELECT count(*) FROM core.prices WHERE close = 10") == 2
    assert _count(path, "SELECT count(*) FROM raw.prices") == 2
    assert _count(path, "SELECT count(*) FROM raw.ingestions") == 1


def test_rows_outside_the_partition_are_refused(tmp_path):
    with warehouse.writer(tmp_path / "w.duckdb") as con:
        with pytest.raises(ValueError, match="NVDA date 2025-01-27 lies outside"):
            warehouse.replace_prices(
                con, _bars(["NVDA"], ["2025-01-27"]), date(2025, 1, 24), date(2025, 1, 24), ["NVDA"]
            )


def test_headlines_dedup_across_sources_and_reruns(tmp_path):
    path = tmp_path / "w.duckdb"
    a = _news(
        [
            ("2025-01-27T14:00:00Z", "Nvidia sinks as DeepSeek rattles AI trade", "NVDA", "alpha"),
            ("2025-01-27T15:00:00Z", "Meta gains", "META", "alpha"),
        ]
    )
    b = _news(
        [
            ("2025-01-27T14:05:00Z", "  NVIDIA sinks as DeepSeek rattles AI  trade ", "NVDA AVGO", "beta"),
        ]
    )
    with warehouse.writer(path) as con:
        for _ in range(2):
            warehouse.replace_headlines(con, a, date(2025, 1, 27), date(2025, 1, 27), ["alpha"])
            warehouse.replace_headlines(con, b, date(2025, 1, 27), date(2025, 1, 27), ["beta"])
        row = con.execute(
            "SELECT tickers, source, published_at FROM core.headlines WHERE title ILIKE 'nvidia sinks%'"
        ).fetchall()
    assert _count(path, "SELECT count(*) FROM core.headlines") == 2
    assert _count(path, "SELECT count(*) FROM raw.headlines") == 3
    assert len(row) == 1
    tickers, source, published = row[0]
    assert tickers == ["AVGO", "NVDA"] and source == "alpha,beta"
    assert pd.Timestamp(published) == pd.Timestamp("2025-01-27T14:00:00Z")


def test_headline_partition_is_the_new_york_date(tmp_path):
    path = tmp_path / "w.duckdb"
    late = _news([("2025-01-28T02:30:00Z", "After-hours reaction", "NVDA", "alpha")])
    with warehouse.writer(path) as con:
        with pytest.raises(ValueError, match="outside the partition"):
            warehouse.replace_headlines(con, late, date(2025, 1, 28), date(2025, 1, 28), ["alpha"])
        warehouse.replace_headlines(con, late, date(2025, 1, 27), date(2025, 1, 27), ["alpha"])
    assert _count(path, "SELECT count(*) FROM core.headlines WHERE ny_date = DATE '2025-01-27'") == 1
    assert _count(path, "SELECT count(*) FROM core.headline_tickers WHERE ticker = 'NVDA'") == 1
    # 21:30 New York time is after the close: the story can first move the next session.
    assert _count(path, "SELECT count(*) FROM core.headlines WHERE session_date = DATE '2025-01-28'") == 1


def test_reader_needs_an_existing_warehouse(tmp_path):
    with pytest.raises(WarehouseError, match="no warehouse at"):
        with warehouse.reader(tmp_path / "absent.duckdb"):
            pass


def test_reader_waits_for_the_writer_then_reads(tmp_path):
    """A reader retries while another process writes, and gets in once the writer lets go."""
    path = tmp_path / "w.duckdb"
    with warehouse.writer(path):
        pass
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
        import time
        from pipelines import warehouse
        with warehouse.writer({str(path)!r}) as con:
            print("holding", flush=True)
            time.sleep(1.5)
    """),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        with pytest.raises(WarehouseError, match="read-only"):
            with warehouse.reader(path, wait_s=0.2):
                pass
        started = time.monotonic()
        with warehouse.reader(path, wait_s=20) as con:
            assert con.execute("SELECT count(*) FROM core.prices").fetchone()[0] == 0
        assert time.monotonic() - started < 15
    finally:
        holder.wait(timeout=30)


def test_unwritable_location_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(WarehouseError, match="cannot create the warehouse folder"):
        with warehouse.writer(blocker / "sub" / "w.duckdb"):
            pass


# --------------------------------------------------------------------------------------------- mart writes


def _estimates(rows: list[tuple[str, str, str | None]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["event_id", "ticker", "status"])
    return frame.assign(
        day0=date(2025, 1, 27), model="market", sample="event", computed_at=pd.Timestamp("2025-01-28", tz="UTC")
    )


def test_replace_tables_is_all_or_nothing_across_tables(tmp_path):
    path = tmp_path / "w.duckdb"
    events = pd.DataFrame(
        {
            "event_id": ["e1"],
            "name": ["E"],
            "kind": ["earnings"],
            "origin": ["curated"],
            "day0": [date(2025, 1, 27)],
            "day0_rule": ["exact"],
            "tickers": [["NVDA"]],
            "computed_at": [pd.Timestamp("2025-01-28", tz="UTC")],
        }
    )
    with warehouse.writer(path) as con:
        warehouse.replace_tables(
            con, {"core.events": events, "mart.event_estimates": _estimates([("e1", "NVDA", "ok")])}
        )
        renamed = events.assign(name="renamed")
        broken = _estimates([("e1", "NVDA", "ok"), ("e1", "AMD", None)])  # status is NOT NULL
        with pytest.raises(WarehouseError, match=r"cannot write warehouse .*w\.duckdb.*NOT NULL"):
            warehouse.replace_tables(con, {"core.events": renamed, "mart.event_estimates": broken})
        warehouse.replace_table(con, "mart.event_windows", pd.DataFrame())  # empty: the table is emptied
    assert _count(path, "SELECT count(*) FROM core.events WHERE name = 'E'") == 1
    assert _count(path, "SELECT count(*) FROM mart.event_estimates") == 1


def test_replace_tables_refuses_tables_fed_by_sources(tmp_path):
    with warehouse.writer(tmp_path / "w.duckdb") as con:
        with pytest.raises(ValueError, match="not core.prices"):
            warehouse.replace_table(con, "core.prices", pd.DataFrame())
    assert _count(tmp_path / "w.duckdb", "SELECT count(*) FROM core.prices") == 0


def test_rebuild_daily_sentiment_weights_pairs_by_relevance(tmp_path):
    path = tmp_path / "w.duckdb"
    news = _news([("2025-01-27T14:00:00Z", "Nvidia slides", "NVDA", "alpha")])
    with warehouse.writer(path) as con:
        warehouse.replace_headlines(con, news, date(2025, 1, 27), date(2025, 1, 27), ["alpha"])
        (headline_id,) = con.execute("SELECT headline_id FROM core.headlines").fetchone()
        for ticker, relevance, label, score in (
            ("NVDA", "direct", "negative", -0.6),
            ("AMD", "indirect", "positive", 0.9),
        ):
            con.execute(
                "INSERT INTO core.headline_sentiment VALUES (?, ?, 'm', 'v1', ?, NULL, [], ?, 0, 0, 0, ?, now())",
                [headline_id, ticker, relevance, label, score],
            )
        con.execute(
            "INSERT INTO mart.daily_sentiment (ticker, date, model, headlines) VALUES ('OLD', DATE '2020-01-02', 'm', 1)"
        )
        assert warehouse.rebuild_daily_sentiment(con) == (2, 0)
        rows = con.execute(
            "SELECT ticker, headlines, direct_headlines, indirect_headlines, mean_score FROM mart.daily_sentiment "
            "ORDER BY ticker"
        ).fetchall()
    assert rows == [("AMD", 1, 0, 1, 0.9), ("NVDA", 1, 1, 0, -0.6)]
