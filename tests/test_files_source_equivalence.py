"""FilePriceSource on long files: the per-distinct-value reading gives the frames and errors the per-row one gave.

The expected frames below were produced by the per-row code (before issue 14's speed-up) and written out here.
"""

from __future__ import annotations

import cProfile
import io
import pstats
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines.errors import DataValidationError
from pipelines.sources.files import FilePriceSource

MIXED_CSV = (
    "Symbol,Date,Open,High,Low,Close,Volume\n"
    " amd ,2025-01-27 16:00:00-05:00,115.0,117.5,114.0,116.0,40000000\n"
    "NVDA,2025-01-24,148.37,148.97,141.88,142.62,234657600\n"
    "nvda,20250127,124.80,128.40,116.70,118.42,818830900\n"
    "\tNvda,2025-01-28T09:30:00Z,121.81,129.00,116.25,128.99,579666400\n"
    "AMD,20250124,120.0,121.5,118.0,119.5,30000000\n"
    "amd, 2025-01-28 ,116.5,119.0,115.5,118.0,35000000\n"
    "msft,2025-01-27T00:00:00.000+01:00,424.0,427.0,420.0,434.56,25000000\n"
)
JAN = {d: pd.Timestamp(f"2025-01-{d}") for d in (24, 27, 28)}
MIXED_EXPECTED = pd.DataFrame(
    {
        "ticker": ["AMD", "AMD", "AMD", "NVDA", "NVDA", "NVDA"],
        "date": [JAN[24], JAN[27], JAN[28], JAN[24], JAN[27], JAN[28]],
        "open": [120.0, 115.0, 116.5, 148.37, 124.8, 121.81],
        "high": [121.5, 117.5, 119.0, 148.97, 128.4, 129.0],
        "low": [118.0, 114.0, 115.5, 141.88, 116.7, 116.25],
        "close": [119.5, 116.0, 118.0, 142.62, 118.42, 128.99],
        "adj_close": [119.5, 116.0, 118.0, 142.62, 118.42, 128.99],
        "volume": np.array([30000000, 40000000, 35000000, 234657600, 818830900, 579666400], dtype="int64"),
        "split_ratio": 1.0,
        "dividend": 0.0,
        "source": "files",
    }
)
TICKERS = [f"T{i:03d}" for i in range(500)]
DAYS = pd.bdate_range("2024-01-01", periods=200)


def _fetch(path: Path, tickers: list[str]) -> pd.DataFrame:
    return FilePriceSource(path).fetch_prices(tickers, date(2024, 1, 1), date(2025, 12, 31))


def _large() -> pd.DataFrame:
    """100,000 rows (200 weekdays x 500 tickers) in a vendor's order: by date, then ticker."""
    return pd.DataFrame(
        {
            "ticker": np.tile(TICKERS, len(DAYS)),
            "date": np.repeat(DAYS.strftime("%Y-%m-%d").to_numpy(), len(TICKERS)),
            "open": 10.0, "high": 11.0, "low": 9.0, "close": 10.5, "volume": 1000,
        }
    )


def _save(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_parquet(path) if path.suffix == ".parquet" else frame.to_csv(path, index=False)
    return path


def test_mixed_long_csv_reads_as_the_per_row_code_did(tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    path.write_text(MIXED_CSV)
    got = FilePriceSource(path).fetch_prices(["NVDA", " amd"], date(2025, 1, 24), date(2025, 1, 28))
    pd.testing.assert_frame_equal(got, MIXED_EXPECTED)


def test_mixed_long_parquet_reads_as_the_per_row_code_did(tmp_path: Path) -> None:
    rows = pd.read_csv(io.StringIO(MIXED_CSV), dtype=str)  # the same text cells, as an object column
    path = rows.astype({c: float for c in ("Open", "High", "Low", "Close", "Volume")}).pipe(_save, tmp_path / "m.parquet")
    got = FilePriceSource(path).fetch_prices(["nvda", "AMD"], date(2025, 1, 24), date(2025, 1, 28))
    pd.testing.assert_frame_equal(got, MIXED_EXPECTED)


@pytest.mark.parametrize("kind", ["date objects", "zoned timestamps"])
def test_parquet_date_columns_keep_the_written_day(tmp_path: Path, kind: str) -> None:
    days = [date(2025, 1, 24), date(2025, 1, 27), date(2025, 1, 28)]
    column = days if kind == "date objects" else pd.DatetimeIndex(days).tz_localize("Asia/Tokyo")  # midnight Tokyo
    frame = pd.DataFrame({"ticker": [" nvda"] * 3, "date": column, "open": 1.0, "high": 2.0, "low": 0.5, "close": 1.5,
                          "volume": 7})
    got = _fetch(_save(frame, tmp_path / "d.parquet"), ["NVDA"])
    assert got["date"].tolist() == [JAN[24], JAN[27], JAN[28]]
    assert got["ticker"].tolist() == ["NVDA"] * 3


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_large_unsorted_file_comes_back_sorted(tmp_path: Path, suffix: str) -> None:
    frame = _large().sample(frac=1.0, random_state=3)
    got = _fetch(_save(frame, tmp_path / f"p{suffix}"), ["t499", "T000"])
    assert got["ticker"].tolist() == ["T000"] * 200 + ["T499"] * 200
    assert got["date"].tolist() == list(DAYS) * 2
    assert got.index.equals(pd.RangeIndex(400))


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_bad_date_in_the_middle_of_a_large_file_names_the_first_bad_row(tmp_path: Path, suffix: str) -> None:
    frame = _large()
    frame.loc[[61_233, 70_000, 90_000], "date"] = ["2024-02-30", "2024-02-30", "2024/01/02"]  # rows 61234, 70001, 90001
    path = _save(frame, tmp_path / f"p{suffix}")
    with pytest.raises(DataValidationError) as caught:
        _fetch(path, ["T000"])
    assert str(caught.value) == f"{path}, row 61234, field 'date': unparsable date '2024-02-30'; expected YYYY-MM-DD"


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_bad_ticker_in_the_middle_of_a_large_file_names_its_row(tmp_path: Path, suffix: str) -> None:
    frame = _large()
    frame.loc[[55_554, 60_000], "ticker"] = [" b rk", "B RK"]
    path = _save(frame, tmp_path / f"p{suffix}")
    with pytest.raises(DataValidationError) as caught:
        _fetch(path, ["T000"])
    assert str(caught.value) == f"{path}, row 55555, field 'ticker': invalid ticker 'B RK'"


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_duplicate_and_bad_price_in_a_large_file_name_row_ticker_and_date(tmp_path: Path, suffix: str) -> None:
    frame = _large()
    frame.loc[77_777, "ticker"] = "t276"  # its neighbour's ticker on the same day, written in lower case
    path = _save(frame, tmp_path / f"dup{suffix}")
    with pytest.raises(DataValidationError) as caught:
        _fetch(path, ["T000"])
    assert str(caught.value) == f"{path}, row 77778, ticker T276, date 2024-08-05, field 'date': duplicate date for ticker"

    frame = _large()
    frame.loc[33_333, "close"] = -1.0
    path = _save(frame, tmp_path / f"neg{suffix}")
    with pytest.raises(DataValidationError) as caught:
        _fetch(path, ["T000"])
    assert str(caught.value) == (
        f"{path}, row 33334, ticker T333, date 2024-04-02, field 'close': close must be a finite number > 0 and < 1e+07, "
        f"got {'-1.0' if suffix == '.parquet' else repr('-1.0')}"
    )


def test_long_parquet_reads_dates_and_tickers_once_per_distinct_value(tmp_path: Path) -> None:
    """No Python call per row: the per-row code made ~13 calls a row (1.3M for this file), the per-distinct one ~40k."""
    path = _save(_large(), tmp_path / "p.parquet")
    profile = cProfile.Profile()
    profile.enable()
    got = _fetch(path, TICKERS)
    profile.disable()
    assert len(got) == 100_000
    calls = pstats.Stats(profile).total_calls
    assert calls < 100_000, f"{calls:,} Python calls for 100,000 rows"
