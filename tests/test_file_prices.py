"""FilePriceSource: every reference price folder, each vendor layout, Parquet, and bad files named to the row."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from models.calendar import sessions
from pipelines.errors import DataValidationError, SourceError
from pipelines.sources.base import PRICE_COLUMNS
from pipelines.sources.files import FilePriceSource

START, END = date(2024, 6, 3), date(2025, 3, 31)

# Close 2025-01-24 -> 2025-01-27 in percent, from ../shared/data/README.md.
DEEPSEEK_MOVES = {
    "NVDA": -16.97, "AVGO": -17.40, "TSM": -13.33, "ORCL": -13.79, "SMCI": -12.62, "AMD": -6.37, "ASML": -5.75,
    "GOOGL": -4.20, "MSFT": -2.14, "AMZN": 0.24, "META": 1.91, "AAPL": 3.18, "SPY": -1.41, "QQQ": -2.91,
    "SMH": -9.83, "SOXX": -7.84, "SPX": -1.46, "IXIC": -3.07, "SOX": -9.15,
}
GOOD_FOLDERS = ["ibkr_daily", "yahoo_adjusted", "yahoo_adjusted_with_dividends", "yahoo_etf"]

HEADER = "Date,Open,High,Low,Close,Adj Close,Volume\n"
ROWS = [
    "2025-01-23,145.05,147.23,143.72,147.22,147.20,155915500\n",
    "2025-01-24,148.37,148.97,141.88,142.62,142.60,234657600\n",
    "2025-01-27,124.80,128.40,116.70,118.42,118.40,818830900\n",
    "2025-01-28,121.81,129.00,116.25,128.99,128.97,579666400\n",
]


def _tickers(folder: Path) -> list[str]:
    """Per-ticker price files of a reference folder (not ``<T>_dividends.csv`` or ``_metadata.csv``)."""
    return sorted(p.stem for p in folder.glob("*.csv") if "_" not in p.stem)


def _write(folder: Path, name: str, text: str | bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def _move(frame: pd.DataFrame, ticker: str, column: str = "close") -> float:
    series = frame[frame["ticker"] == ticker].set_index("date")[column]
    return round((series[pd.Timestamp("2025-01-27")] / series[pd.Timestamp("2025-01-24")] - 1) * 100, 2)


@pytest.mark.shared_data
@pytest.mark.parametrize("folder", GOOD_FOLDERS)
def test_reference_folder_reads_every_ticker_on_nyse_sessions(shared_data: Path, folder: str) -> None:
    path = shared_data / "prices" / folder
    tickers = _tickers(path)
    frame = FilePriceSource(path).fetch_prices(tickers, START, END)
    assert list(frame.columns) == list(PRICE_COLUMNS)
    assert set(frame["source"]) == {"files"}
    expected = sessions(START, END)
    for ticker in tickers:
        days = pd.DatetimeIndex(frame.loc[frame["ticker"] == ticker, "date"])
        assert days.equals(expected), ticker
    checked = [t for t in tickers if t in DEEPSEEK_MOVES]
    assert checked, f"no README facts cover {folder}"
    for ticker in checked:
        assert _move(frame, ticker) == DEEPSEEK_MOVES[ticker], ticker


@pytest.mark.shared_data
def test_ibkr_closes_are_the_official_closes(shared_data: Path) -> None:
    frame = FilePriceSource(shared_data / "prices" / "ibkr_daily").fetch_prices(["nvda"], date(2025, 1, 24), date(2025, 1, 27))
    assert frame["close"].tolist() == [142.62, 118.42]
    assert frame["adj_close"].tolist() == [142.62, 118.42]  # generic layout without adj_close: adj_close = close
    assert frame["date"].tolist() == [pd.Timestamp("2025-01-24"), pd.Timestamp("2025-01-27")]


@pytest.mark.shared_data
def test_yahoo_export_keeps_raw_close_and_adjusted_close(shared_data: Path) -> None:
    source = FilePriceSource(shared_data / "prices" / "yahoo_etf")
    june = source.fetch_prices(["SPY"], date(2024, 6, 3), date(2024, 6, 28))
    assert (june["adj_close"] < june["close"]).all()  # SPY paid dividends after June 2024
    assert _move(source.fetch_prices(["SPY"], START, END), "SPY", "adj_close") == -1.41


@pytest.mark.shared_data
def test_adjclose_only_folder_is_missing_ohlcv(shared_data: Path) -> None:
    folder = shared_data / "prices" / "adjclose_only"
    with pytest.raises(DataValidationError) as caught:
        FilePriceSource(folder).fetch_prices(["NVDA"], START, END)
    message = str(caught.value)
    assert str(folder / "NVDA.csv") in message
    for field in ("open", "high", "low", "volume"):
        assert field in message
    assert caught.value.field == "open"


def test_layouts_map_to_the_canonical_frame(tmp_path: Path) -> None:
    _write(tmp_path, "YEXP.csv", HEADER + "".join(ROWS))
    _write(tmp_path, "yfin.CSV", "Date,Close,High,Low,Open,Volume\n2025-01-24,142.6,148.9,141.8,148.3,234657600\n")
    _write(tmp_path, "Generic.csv", "date,open,high,low,close,volume,adj_close,wap,count\n"
                                    "20250124,148.37,148.97,141.88,142.62,234657600,142.5,145.1,99\n")
    _write(tmp_path, "upper.csv", "DATE,OPEN,HIGH,LOW,CLOSE,VOLUME,DIVIDENDS,STOCK SPLITS\n"
                                  "2025-01-24 00:00:00-05:00,10,11,9,10.5,1000,0.25,0\n")
    source = FilePriceSource(tmp_path)
    day = date(2025, 1, 24)
    frame = source.fetch_prices(["yexp", "YFIN", "GENERIC", "UPPER"], day, day).set_index("ticker")
    assert frame.loc["YEXP", ["close", "adj_close", "volume"]].tolist() == [142.62, 142.60, 234657600]
    assert frame.loc["YFIN", "adj_close"] == frame.loc["YFIN", "close"] == 142.6
    assert frame.loc["YFIN", "open"] == 148.3  # columns are matched by name, not position
    assert frame.loc["GENERIC", ["close", "adj_close"]].tolist() == [142.62, 142.5]
    assert frame.loc["UPPER", ["dividend", "split_ratio"]].tolist() == [0.25, 1.0]
    assert set(frame["date"]) == {pd.Timestamp(day)}


def test_range_is_inclusive_and_sorted(tmp_path: Path) -> None:
    _write(tmp_path, "NVDA.csv", HEADER + "".join(reversed(ROWS)))
    frame = FilePriceSource(tmp_path).fetch_prices(["NVDA"], date(2025, 1, 24), date(2025, 1, 27))
    assert frame["date"].tolist() == [pd.Timestamp("2025-01-24"), pd.Timestamp("2025-01-27")]


def test_long_file_with_ticker_column(tmp_path: Path) -> None:
    body = "".join(f"{t},{r}" for t in ("NVDA", "msft") for r in ROWS)
    path = _write(tmp_path, "all.csv", "Ticker," + HEADER + body)
    frame = FilePriceSource(path).fetch_prices(["MSFT", "NVDA"], date(2025, 1, 24), date(2025, 1, 27))
    assert frame.groupby("ticker").size().to_dict() == {"MSFT": 2, "NVDA": 2}
    with pytest.raises(SourceError, match="AMD") as caught:
        FilePriceSource(path).fetch_prices(["AMD"], date(2025, 1, 24), date(2025, 1, 27))
    assert caught.value.ticker == "AMD"


def test_long_file_without_ticker_column(tmp_path: Path) -> None:
    path = _write(tmp_path, "all.csv", HEADER + "".join(ROWS))
    with pytest.raises(DataValidationError, match="ticker"):
        FilePriceSource(path).fetch_prices(["NVDA"], date(2025, 1, 24), date(2025, 1, 27))


def test_parquet_round_trip(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow", reason="pyarrow is a project dependency for Parquet files")
    csv_path = _write(tmp_path / "csv", "NVDA.csv", HEADER + "".join(ROWS))
    from_csv = FilePriceSource(csv_path.parent).fetch_prices(["NVDA"], date(2025, 1, 1), date(2025, 2, 1))
    columns = ["date", "open", "high", "low", "close", "adj_close", "volume"]
    (tmp_path / "pq").mkdir()
    from_csv[columns].to_parquet(tmp_path / "pq" / "nvda.parquet", index=False)
    from_parquet = FilePriceSource(tmp_path / "pq").fetch_prices(["NVDA"], date(2025, 1, 1), date(2025, 2, 1))
    pd.testing.assert_frame_equal(from_parquet, from_csv)
    long = from_csv[["ticker", *columns]].assign(date=from_csv["date"].dt.tz_localize("America/New_York"))
    long.to_parquet(tmp_path / "long.parquet", index=False)
    from_long = FilePriceSource(tmp_path / "long.parquet").fetch_prices(["NVDA"], date(2025, 1, 1), date(2025, 2, 1))
    pd.testing.assert_frame_equal(from_long, from_csv)


def test_unknown_ticker_names_ticker_and_folder(tmp_path: Path) -> None:
    _write(tmp_path, "NVDA.csv", HEADER + "".join(ROWS))
    with pytest.raises(SourceError) as caught:
        FilePriceSource(tmp_path).fetch_prices(["NVDA", "AMD"], date(2025, 1, 24), date(2025, 1, 27))
    assert caught.value.ticker == "AMD"
    assert str(tmp_path) in str(caught.value)


def test_no_rows_in_range_is_an_error(tmp_path: Path) -> None:
    _write(tmp_path, "NVDA.csv", HEADER + "".join(ROWS))
    with pytest.raises(SourceError, match="no rows between 2024-01-01 and 2024-01-31"):
        FilePriceSource(tmp_path).fetch_prices(["NVDA"], date(2024, 1, 1), date(2024, 1, 31))


def test_missing_path_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such file or folder"):
        FilePriceSource(tmp_path / "absent").fetch_prices(["NVDA"], date(2025, 1, 24), date(2025, 1, 27))


def _row(day: str, open_: str = "1.0", close: str = "1.5") -> str:
    return f"{day},{open_},2.0,0.5,{close},1.4,100\n"


BAD_FILES: dict[str, tuple[bytes, int, str, str]] = {
    # name: (file body after the header, row, field, words in the message)
    "nan_price": ((_row("2025-01-02") + _row("2025-01-03") + _row("2025-01-06", close="NaN")).encode(), 3, "Close", "finite"),
    "empty_price": ((_row("2025-01-02") + _row("2025-01-03", close="")).encode(), 2, "Close", "finite"),
    "negative_price": ((_row("2025-01-02") + _row("2025-01-03", open_="-3.2")).encode(), 2, "Open", "> 0"),
    "duplicate_date": ((_row("2025-01-02") + _row("2025-01-03") + _row("2025-01-03")).encode(), 3, "Date", "duplicate"),
    "unparsable_date": ((_row("2025-01-02") + _row("2025-02-30")).encode(), 2, "Date", "unparsable date"),
    "ragged_quoting": ((_row("2025-01-02") + '2025-01-03,1.0,"2.0,0.5,1.5,1.4,100\n' + _row("2025-01-06")).encode(),
                       2, "High", "malformed CSV"),
    "stray_quote": ((_row("2025-01-02") + '2025-01-03,1.0,2.0,0.5,"1.5"x,1.4,100\n').encode(), 2, "Close", "malformed CSV"),
    "non_utf8": (_row("2025-01-02").encode() + b"2025-01-03,1.0,2.0,0.5,1.5,1.4,10\xff0\n", 2, "Volume", "UTF-8"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_file_error_names_file_row_and_field(tmp_path: Path, case: str) -> None:
    body, row, field, words = BAD_FILES[case]
    path = _write(tmp_path, "NVDA.csv", HEADER.encode() + body)
    with pytest.raises(DataValidationError) as caught:
        FilePriceSource(tmp_path).fetch_prices(["NVDA"], date(2025, 1, 1), date(2025, 1, 31))
    error = caught.value
    assert (error.origin, error.row, error.field) == (str(path), row, field)
    assert words in str(error) and str(path) in str(error) and f"row {row}" in str(error)


def test_wrong_field_count_names_the_row(tmp_path: Path) -> None:
    path = _write(tmp_path, "NVDA.csv", HEADER + _row("2025-01-02") + "\n" + "2025-01-06,1.0,2.0,0.5,1.5,1.4,100,7\n")
    with pytest.raises(DataValidationError, match="expected 7 fields") as caught:
        FilePriceSource(tmp_path).fetch_prices(["NVDA"], date(2025, 1, 1), date(2025, 1, 31))
    assert (caught.value.origin, caught.value.row) == (str(path), 3)  # the blank line is row 2


def test_two_files_for_one_ticker_are_ambiguous(tmp_path: Path) -> None:
    _write(tmp_path, "NVDA.csv", HEADER + "".join(ROWS))
    _write(tmp_path, "nvda.CSV", HEADER + "".join(ROWS))
    with pytest.raises(SourceError, match="ambiguous") as caught:
        FilePriceSource(tmp_path).fetch_prices(["NVDA"], date(2025, 1, 24), date(2025, 1, 27))
    assert caught.value.ticker == "NVDA"
