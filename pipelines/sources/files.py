"""Daily bars from vendor exports on disk (CSV or Parquet), with errors that name the file, row and column.

``path`` is either a folder of per-ticker files (``NVDA.csv``, ``nvda.parquet``: the ticker is the
file name, case-insensitive) or one long file with a ``ticker`` (or ``symbol``) column. Column
names are case-insensitive; the layouts seen in practice all map onto the canonical frame:
Yahoo export (Date,Open,High,Low,Close,Adj Close,Volume: Close as traded, Adj Close adjusted),
yfinance-style (Date,Close,High,Low,Open,Volume: already adjusted, so adj_close = close) and
generic/IBKR (date,open,high,low,close,volume[,adj_close][,wap,count]). A whole file is checked
before filtering to ``start``..``end``: a file is either valid or an error.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipelines.errors import DataValidationError, SourceError
from pipelines.sources.base import per_distinct, validate_prices

SUFFIXES = (".csv", ".parquet")
_ALIASES = {
    "date": "date", "datetime": "date",
    "open": "open", "high": "high", "low": "low", "close": "close", "volume": "volume",
    "adj close": "adj_close", "adj_close": "adj_close", "adjclose": "adj_close",
    "dividends": "dividend", "dividend": "dividend", "stock splits": "split_ratio", "split_ratio": "split_ratio",
    "ticker": "ticker", "symbol": "ticker",
}
_REQUIRED = ("date", "open", "high", "low", "close", "volume")
_ISO_DAY = re.compile(r"^\s*(\d{4})-?(\d{2})-?(\d{2})(?:[ T].*)?\s*$")


class _Table:
    """A file's rows as read: columns keyed by canonical field, the header each came from, file row numbers."""

    def __init__(self, path: Path, columns: dict[str, pd.Series], headers: dict[str, str], rows: np.ndarray) -> None:
        self.path = path
        self.columns = columns
        self.headers = headers
        self.rows = rows

    def error(self, detail: str, position: int | None = None, field: str | None = None, **where: Any) -> DataValidationError:
        """A DataValidationError at ``position`` (0-based among data rows) naming the file's own column."""
        row = int(self.rows[position]) if position is not None else None
        header = self.headers.get(field, field) if field is not None else None
        return DataValidationError(str(self.path), detail, row=row, field=header, **where)


def _decode(path: Path, raw: bytes) -> str:
    """UTF-8 text of ``raw`` (BOM allowed), or an error naming the row and column of the first bad byte."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line_start = raw.rfind(b"\n", 0, exc.start) + 1
        row = raw.count(b"\n", 0, exc.start)  # line 0 is the header, so line n holds data row n
        header = raw[: raw.find(b"\n")].decode("utf-8", "replace").split(",")
        column = raw[line_start : exc.start].decode("utf-8", "replace").count(",")
        field = header[column].strip() if row > 0 and column < len(header) else None
        raise DataValidationError(
            str(path), f"not UTF-8 text: byte {raw[exc.start:exc.start + 1]!r} at offset {exc.start}",
            row=row if row > 0 else None, field=field,
        ) from exc


def _read_csv(path: Path) -> tuple[list[str], list[list[str]], list[int]]:
    """Header, data records and their row numbers (1 = first data row; blank lines count, then skip)."""
    text = _decode(path, path.read_bytes())
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records: list[list[str]] = []
    numbers: list[int] = []
    number = 0
    header: list[str] | None = None
    try:
        header = next(reader, None)
        if not header:
            raise DataValidationError(str(path), "empty file: no header row")
        for record in reader:
            number += 1
            if not record:
                continue
            if len(record) != len(header):
                raise DataValidationError(
                    str(path), f"expected {len(header)} fields like the header, got {len(record)}: {record[:8]}", row=number,
                )
            records.append(record)
            numbers.append(number)
    except csv.Error as exc:
        if header is None:
            raise DataValidationError(str(path), f"malformed CSV header: {exc}") from exc
        row = number + 1
        lines = text.splitlines()
        raise DataValidationError(
            str(path), f"malformed CSV: {exc}", row=row, field=_quoted_field(header, lines[row] if row < len(lines) else ""),
        ) from exc
    return header, records, numbers


def _quoted_field(header: list[str], line: str) -> str | None:
    """The column of the first field on a raw ``line`` holding a quote: where ragged quoting starts."""
    for i, part in enumerate(line.split(",")):
        if '"' in part:
            return header[i].strip() if i < len(header) else None
    return None


def _read_table(path: Path) -> _Table:
    """Read ``path`` (CSV or Parquet) into a :class:`_Table` keyed by canonical field names."""
    if path.suffix.lower() == ".parquet":
        try:
            frame = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several unrelated types for a broken file
            raise DataValidationError(str(path), f"unreadable Parquet file: {exc}") from exc
        if not isinstance(frame.index, pd.RangeIndex):
            frame = frame.reset_index()
        elif not frame.index.equals(pd.RangeIndex(len(frame))):
            frame = frame.reset_index(drop=True)
        header = [str(c) for c in frame.columns]
        data = {h: frame[c] for h, c in zip(header, frame.columns, strict=True)}
        numbers = np.arange(1, len(frame) + 1)
    else:
        header, records, rows = _read_csv(path)
        by_column = list(zip(*records, strict=True)) if records else [() for _ in header]
        data = {h: pd.Series(list(values), dtype=object) for h, values in zip(header, by_column, strict=True)}
        numbers = np.asarray(rows, dtype=int)
    columns: dict[str, pd.Series] = {}
    headers: dict[str, str] = {}
    for name in header:
        field = _ALIASES.get(name.strip().lower())
        if field is None:
            continue  # wap, count, capital gains and other vendor extras are not part of a bar
        if field in columns:
            raise DataValidationError(str(path), f"columns {headers[field]!r} and {name!r} both mean {field!r}", field=name)
        columns[field] = data[name]
        headers[field] = name
    table = _Table(path, columns, headers, numbers)
    missing = [f for f in _REQUIRED if f not in columns]
    if missing:
        raise DataValidationError(
            str(path), f"missing OHLCV column(s) {missing}; found {header}: need date, open, high, low, close, volume",
            field=missing[0],
        )
    if len(numbers) == 0:
        raise DataValidationError(str(path), "no data rows")
    return table


def _text_days(values: pd.Series) -> pd.Series:
    """Each value's day as written (a date object's own, or ``YYYY-MM-DD``/``YYYYMMDD`` text), NaT where unreadable."""
    text = values.map(lambda v: v.isoformat() if isinstance(v, date) else str(v))
    parts = text.str.extract(_ISO_DAY)
    return pd.to_datetime(parts[0] + "-" + parts[1] + "-" + parts[2], format="%Y-%m-%d", errors="coerce")


def _symbols(values: pd.Series) -> pd.Series:
    """Ticker cells as symbols: stripped and upper-cased text, None for anything else."""
    return values.map(lambda v: v.strip().upper() if isinstance(v, str) else None)


def _dates(table: _Table) -> pd.Series:
    """Session dates as written (``YYYY-MM-DD`` or ``YYYYMMDD``, any time/zone suffix ignored), or a row error."""
    values = table.columns["date"]
    if pd.api.types.is_datetime64_any_dtype(values):
        stamps = pd.DatetimeIndex(values)
        if stamps.tz is not None:
            stamps = stamps.tz_localize(None)  # keep the wall-clock date the vendor wrote
        days = pd.Series(stamps.normalize())
    else:
        days = per_distinct(values, _text_days)
    bad = np.flatnonzero(days.isna().to_numpy())
    if len(bad):
        i = int(bad[0])
        raise table.error(f"unparsable date {values.iloc[i]!r}; expected YYYY-MM-DD", i, "date")
    return days


def _canonical(table: _Table, tickers: pd.Series) -> pd.DataFrame:
    """The table as a validated canonical frame (whole file), errors re-pointed at file rows and columns."""
    fields = ("open", "high", "low", "close", "adj_close", "volume", "dividend", "split_ratio")
    frame = pd.DataFrame(
        {"ticker": tickers.to_numpy(), "date": _dates(table).to_numpy()}
        | {field: table.columns[field].to_numpy() for field in fields if field in table.columns}
    )
    if "split_ratio" in frame.columns:
        ratio = pd.to_numeric(frame["split_ratio"], errors="coerce")
        frame["split_ratio"] = frame["split_ratio"].where(ratio != 0, 1.0)  # Yahoo writes 0 for "no split"
    frame["source"] = "files"
    try:
        return validate_prices(frame, str(table.path))
    except DataValidationError as exc:
        position = exc.row - 1 if exc.row is not None else None
        raise table.error(exc.detail, position, exc.field, ticker=exc.ticker, date=exc.date) from exc


def _between(frame: pd.DataFrame, start: date, end: date) -> pd.DataFrame:
    days = frame["date"]
    inside = (days >= pd.Timestamp(start)) & (days <= pd.Timestamp(end))
    return frame if inside.all() else frame[inside]


class FilePriceSource:
    """Bars from a folder of ``<TICKER>.csv|.parquet`` files or from one long file with a ticker column."""

    name = "files"

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def fetch_prices(self, tickers: Sequence[str], start: date, end: date) -> pd.DataFrame:
        """Canonical bars for ``tickers`` on ``start``..``end`` inclusive; no rows for a ticker is an error."""
        symbols = list(dict.fromkeys(str(t).strip().upper() for t in tickers))
        if not symbols or "" in symbols:
            raise SourceError(str(self.path), f"expected non-empty ticker symbols, got {list(tickers)!r}")
        if self.path.is_dir():  # each file's frame is sorted by date; the files come in the order asked, so sort
            frame = pd.concat([self._from_folder(s) for s in symbols], ignore_index=True).sort_values(["ticker", "date"])
        elif self.path.is_file():
            frame = self._from_long_file(symbols)
        else:
            raise SourceError(str(self.path), "no such file or folder")
        rows = _between(frame, start, end)
        present = set(rows["ticker"])
        for symbol in symbols:
            if symbol not in present:
                raise SourceError(str(self.path), f"no rows between {start} and {end}", ticker=symbol)
        rows.index = pd.RangeIndex(len(rows))  # a frame of our own: no copy for a new index
        return rows

    def _file_for(self, symbol: str) -> Path:
        matches = sorted(p for p in self.path.iterdir() if p.suffix.lower() in SUFFIXES and p.stem.upper() == symbol)
        if not matches:
            raise SourceError(str(self.path), f"no {symbol}.csv or {symbol}.parquet in folder {self.path}", ticker=symbol)
        if len(matches) > 1:
            names = [p.name for p in matches]
            raise SourceError(str(self.path), f"ambiguous: several files for {symbol}: {names}", ticker=symbol)
        return matches[0]

    def _from_folder(self, symbol: str) -> pd.DataFrame:
        table = _read_table(self._file_for(symbol))
        return _canonical(table, pd.Series([symbol] * len(table.rows), dtype=object))

    def _from_long_file(self, symbols: list[str]) -> pd.DataFrame:
        """The file's rows for ``symbols``, sorted by ticker and date like every validated frame."""
        table = _read_table(self.path)
        if "ticker" not in table.columns:
            raise DataValidationError(str(self.path), "a single price file needs a 'ticker' (or 'symbol') column", field="ticker")
        frame = _canonical(table, per_distinct(table.columns["ticker"], _symbols))
        known = set(frame["ticker"])
        absent = [s for s in symbols if s not in known]
        if absent:
            raise SourceError(str(self.path), f"no rows for {absent} in the file", ticker=absent[0])
        asked = frame["ticker"].isin(symbols)
        return frame if asked.all() else frame[asked]
