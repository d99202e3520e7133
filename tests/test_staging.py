"""Validate, then commit: a partition is staged and checked before it touches raw/core, and the checks
of a run look at its own partition, so one bad row cannot poison the warehouse or every later ingest."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from models.calendar import sessions
from pipelines import warehouse
from pipelines.errors import DataValidationError
from pipelines.resources import NewsSourceResource, PriceSourceResource
from pipelines.runner import run_job
from pipelines.sources.base import validate_headlines, validate_prices

JANUARY = sessions(date(2025, 1, 2), date(2025, 1, 17))
FEBRUARY = sessions(date(2025, 2, 3), date(2025, 2, 7))
TICKERS = ["MSFT", "NVDA"]


@pytest.fixture
def instance():
    with dg.instance_for_test() as inst:
        yield inst


def _bars(days: pd.DatetimeIndex, tickers: list[str] = TICKERS) -> pd.DataFrame:
    """A clean canonical price frame: steady prices, consistent OHLC."""
    rows = []
    for ticker in tickers:
        for i, day in enumerate(days):
            price = 100.0 + i
            rows.append(
                {
                    "ticker": ticker,
                    "date": day,
                    "open": price,
                    "high": price + 2,
                    "low": price - 2,
                    "close": price + 1,
                    "volume": 1_000 + i,
                    "source": "files",
                }
            )
    return validate_prices(pd.DataFrame(rows), "test")


def _stories(day: str, titles: list[str]) -> pd.DataFrame:
    return validate_headlines(
        pd.DataFrame(
            {
                "published_at": [f"{day}T15:{i:02d}:00Z" for i in range(len(titles))],
                "title": titles,
                "url": [f"https://news.test/{day}/{i}" for i in range(len(titles))],
                "tickers": ["NVDA"] * len(titles),
                "source": "files",
            }
        ),
        "test",
    )


def _table_digests(path: Path) -> dict[str, tuple[int, str]]:
    """Row count and md5 of the sorted rows of every table of the warehouse: equal digests, equal content."""
    with warehouse.reader(path) as con:
        tables = con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE NOT temporary ORDER BY ALL"
        ).fetchall()
        return {
            f"{schema}.{table}": con.execute(
                f"SELECT count(*), md5(coalesce(string_agg(CAST(r AS VARCHAR), chr(10) ORDER BY CAST(r AS VARCHAR)), '')) "
                f'FROM "{schema}"."{table}" AS r'
            ).fetchone()
            for schema, table in tables
        }


def _poison(frame: pd.DataFrame, ticker: str, day: str, **values: float) -> pd.DataFrame:
    frame = frame.copy()
    at = (frame["ticker"] == ticker) & (frame["date"] == pd.Timestamp(day))
    assert at.sum() == 1
    for field, value in values.items():
        frame.loc[at, field] = value
    return frame


BAD_BARS = {
    # case: (changes to NVDA's bar of 2025-02-05, the field the error must name)
    "high_below_close": ({"high": 100.5}, "high"),
    "low_above_open": ({"low": 103.5}, "low"),
    "negative_close": ({"close": -1.0}, "close"),
    "zero_open": ({"open": 0.0}, "open"),
    "nan_adj_close": ({"adj_close": float("nan")}, "adj_close"),
    "infinite_high": ({"high": float("inf")}, "high"),
    "negative_volume": ({"volume": -5}, "volume"),
}


@pytest.mark.parametrize("case", sorted(BAD_BARS))
def test_bad_bar_is_refused_before_commit_and_the_warehouse_is_unchanged(tmp_path: Path, case: str) -> None:
    path = tmp_path / "w.duckdb"
    with warehouse.writer(path) as con:
        warehouse.replace_prices(con, _bars(JANUARY), JANUARY[0].date(), JANUARY[-1].date(), TICKERS)
    before = _table_digests(path)

    changes, field = BAD_BARS[case]
    bad = _poison(_bars(FEBRUARY), "NVDA", "2025-02-05", **changes)
    with warehouse.writer(path) as con, pytest.raises(DataValidationError) as caught:
        warehouse.replace_prices(con, bad, FEBRUARY[0].date(), FEBRUARY[-1].date(), TICKERS)
    error = caught.value
    assert (error.ticker, str(error.date)[:10], error.field) == ("NVDA", "2025-02-05", field), str(error)
    assert "files" in str(error) and "nothing was written" in str(error), str(error)
    assert _table_digests(path) == before

    later = sessions(date(2025, 2, 10), date(2025, 2, 14))
    with warehouse.writer(path) as con:
        assert warehouse.replace_prices(con, _bars(later), later[0].date(), later[-1].date(), TICKERS) == 2 * len(later)
    stored = warehouse.query("SELECT count(*) AS n, min(close) AS low FROM core.prices", path=path)
    assert stored["n"][0] == 2 * (len(JANUARY) + len(later)) and stored["low"][0] > 0


def test_blank_headline_is_refused_before_commit(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    with warehouse.writer(path) as con:
        warehouse.replace_headlines(
            con, _stories("2025-01-27", ["Nvidia falls"]), date(2025, 1, 27), date(2025, 1, 27), ["files"]
        )
    before = _table_digests(path)
    bad = _stories("2025-01-28", ["Nvidia rebounds", "Microsoft earnings"])
    bad.loc[1, "title"] = "   "
    with warehouse.writer(path) as con, pytest.raises(DataValidationError) as caught:
        warehouse.replace_headlines(con, bad, date(2025, 1, 28), date(2025, 1, 28), ["files"])
    assert caught.value.field == "title" and bad.loc[1, "headline_id"] in str(caught.value), str(caught.value)
    assert str(caught.value.date)[:10] == "2025-01-28"
    assert _table_digests(path) == before


def _write_csv(folder: Path, ticker: str, frame: pd.DataFrame) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{ticker}.csv"
    frame.loc[frame["ticker"] == ticker, ["date", "open", "high", "low", "close", "volume"]].assign(
        date=lambda f: f["date"].dt.strftime("%Y-%m-%d")
    ).to_csv(path, index=False)
    return path


def test_dagster_run_refuses_a_partition_with_high_below_low_and_later_ranges_ingest(tmp_path, instance) -> None:
    path, vendor = tmp_path / "w.duckdb", tmp_path / "vendor"
    days = JANUARY.append(FEBRUARY).append(sessions(date(2025, 2, 10), date(2025, 2, 14)))
    clean = _bars(days)
    for ticker in TICKERS:
        _write_csv(vendor, ticker, clean)
    files = PriceSourceResource(source="files", path=str(vendor), tickers=TICKERS)
    first = run_job(
        "ingest_prices", date(2025, 1, 2), date(2025, 1, 17), warehouse_file=path, price_source=files, instance=instance
    )
    assert first.success, first.error
    before = _table_digests(path)
    before_bytes = path.read_bytes()

    _write_csv(vendor, "NVDA", _poison(clean, "NVDA", "2025-02-05", high=97.0, low=98.0))  # high < low
    refused = run_job(
        "ingest_prices", date(2025, 2, 3), date(2025, 2, 7), warehouse_file=path, price_source=files, instance=instance
    )
    assert not refused.success
    assert "ticker NVDA" in refused.error and "date 2025-02-05" in refused.error, refused.error
    assert "field 'high'" in refused.error and "files" in refused.error, refused.error
    assert len(refused.error.splitlines()) <= 2, refused.error
    assert _table_digests(path) == before
    assert path.read_bytes() == before_bytes, "a refused partition changed the warehouse file's bytes"

    later = run_job(
        "ingest_prices",
        date(2025, 2, 10),
        date(2025, 2, 14),
        warehouse_file=path,
        price_source=files,
        instance=instance,
    )
    assert later.success, later.error
    assert later.checks["prices_are_positive"] and later.checks["ohlc_consistent"], later.checks
    stored = warehouse.query("SELECT count(*) AS n FROM core.prices WHERE date >= '2025-02-01'", path=path)
    assert stored["n"][0] == 2 * 5


def test_a_bad_row_outside_the_partition_does_not_block_a_new_partition(tmp_path, instance) -> None:
    """Rows written before validation existed (or edited by hand) are not this run's partition."""
    path = tmp_path / "w.duckdb"
    demo = PriceSourceResource(source="demo", tickers=TICKERS)
    news = NewsSourceResource(sources=["demo"])
    assert run_job(
        "ingest_prices", date(2025, 1, 21), date(2025, 1, 24), warehouse_file=path, price_source=demo, instance=instance
    ).success
    assert run_job(
        "ingest_news", date(2025, 1, 21), date(2025, 1, 24), warehouse_file=path, news_source=news, instance=instance
    ).success
    with warehouse.writer(path) as con:
        con.execute("UPDATE core.prices SET close = -1 WHERE ticker = 'NVDA' AND date = '2025-01-22'")
        con.execute("UPDATE core.prices SET high = low - 1 WHERE ticker = 'MSFT' AND date = '2025-01-23'")
        poisoned = con.execute(
            "UPDATE core.headlines SET title = ' ' WHERE headline_id = (SELECT min(headline_id) FROM core.headlines)"
        ).fetchone()[0]
    assert poisoned == 1

    prices = run_job(
        "ingest_prices", date(2025, 1, 27), date(2025, 1, 28), warehouse_file=path, price_source=demo, instance=instance
    )
    assert prices.success, prices.error
    assert prices.checks["prices_are_positive"] and prices.checks["ohlc_consistent"], prices.checks
    headlines = run_job(
        "ingest_news", date(2025, 1, 27), date(2025, 1, 28), warehouse_file=path, news_source=news, instance=instance
    )
    assert headlines.success, headlines.error
    assert headlines.checks["headlines_well_formed"], headlines.checks
    held = warehouse.query("SELECT count(*) AS n FROM core.prices WHERE date >= '2025-01-27'", path=path)
    assert held["n"][0] == 2 * len(TICKERS)
    assert np.isclose(
        warehouse.query("SELECT close FROM core.prices WHERE ticker = 'NVDA' AND date = '2025-01-22'", path=path)[
            "close"
        ][0],
        -1,
    ), "the old row is left as it was, for a person to fix"
