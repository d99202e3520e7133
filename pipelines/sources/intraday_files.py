"""Intraday bars from vendor minute/hour CSV files.

A file (or every ``*.csv`` in a folder) has, in any case and order, the columns:

- ``timestamp`` (or ``datetime``/``time``): the bar's START, ISO 8601 WITH an offset
  (``2025-01-27T09:30:00-05:00``, ``2025-01-27 14:30:00Z``), or without one plus a ``tz`` column naming its
  IANA zone (``Europe/London``, ``UTC``); any zone is converted to UTC, across daylight-saving changes;
- ``open``, ``high``, ``low``, ``close``, ``volume``;
- ``ticker`` (or ``symbol``), or none when the file is named after its ticker (``NVDA.csv``).

Duplicated minutes (overlapping exports) are kept here and dropped, counted, by the warehouse write.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.errors import DataValidationError, SourceError
from pipelines.sources.intraday import check_interval, validate_bars

ALIASES = {"datetime": "timestamp", "time": "timestamp", "symbol": "ticker", "timezone": "tz"}


def _parse(distinct: pd.DataFrame, rows: np.ndarray, path: Path) -> pd.Series:
    """Distinct (``timestamp``[, ``tz``]) values as UTC; ``rows`` holds each one's first file row, for errors."""
    text = distinct["timestamp"].astype(str).str.strip()
    has_offset = text.str.contains(r"(?:[+-]\d\d:?\d\d|Z)$", regex=True)
    out = pd.Series(pd.NaT, index=distinct.index, dtype="datetime64[us, UTC]")
    if has_offset.any():
        out[has_offset] = pd.to_datetime(text[has_offset], utc=True, errors="coerce", format="ISO8601")
    naive = ~has_offset
    if naive.any():
        if "tz" not in distinct.columns:
            at = int(naive.to_numpy().nonzero()[0][0])
            raise DataValidationError(
                str(path),
                f"timestamp {text.iloc[at]!r} has no offset and the file no 'tz' "
                "column: write 2025-01-27T09:30:00-05:00 or add a tz column (America/New_York)",
                row=int(rows[at]),
                field="timestamp",
            )
        local = pd.to_datetime(text[naive], errors="coerce", format="ISO8601")
        for zone, members in distinct.loc[naive].groupby("tz").groups.items():
            try:
                out[members] = (
                    local[members]
                    .dt.tz_localize(str(zone), ambiguous="raise", nonexistent="raise")
                    .dt.tz_convert("UTC")
                )
            except Exception as error:  # unknown zone, or a wall time a DST change skips or repeats
                at = int(distinct.index.get_loc(members[0]))
                raise DataValidationError(
                    str(path),
                    f"cannot place {text.iloc[at]!r} in zone {zone!r}: {error}",
                    row=int(rows[at]),
                    field="tz",
                ) from None
    bad = out.isna().to_numpy()
    if bad.any():
        at = int(bad.nonzero()[0][0])
        raise DataValidationError(
            str(path), f"unparsable timestamp {text.iloc[at]!r}", row=int(rows[at]), field="timestamp"
        )
    return out


def _timestamps(frame: pd.DataFrame, path: Path) -> pd.Series:
    """The ``timestamp`` column as UTC, from offsets or from the ``tz`` column; an error names the file and row.

    Parsed once per distinct value (a day of 500 tickers' minutes holds 960 of them), then spread to the rows.
    """
    columns = ["timestamp", "tz"] if "tz" in frame.columns else ["timestamp"]
    keys = frame[columns].astype(str)
    codes, _ = pd.factorize(pd.MultiIndex.from_frame(keys) if len(columns) == 2 else keys["timestamp"])
    first = pd.Series(np.arange(len(codes))).groupby(codes).min().to_numpy()  # each value's first row
    distinct = keys.iloc[first].reset_index(drop=True)
    parsed = _parse(distinct, first + 2, path)  # file rows: 1-based, after the header
    return pd.Series(parsed.array.take(codes), index=frame.index)


def read_bars_csv(path: Path) -> pd.DataFrame:
    """One vendor CSV as raw bars (ticker, ts in UTC, OHLCV), or a DataValidationError naming the file."""
    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError) as error:
        raise SourceError(str(path), f"cannot read the file: {error}") from None
    frame = frame.rename(columns=lambda c: ALIASES.get(str(c).strip().lower(), str(c).strip().lower()))
    if "timestamp" not in frame.columns:
        raise DataValidationError(str(path), f"no timestamp column; got {list(frame.columns)}", field="timestamp")
    if "ticker" not in frame.columns:
        frame["ticker"] = path.stem.upper()
    frame["ts"] = _timestamps(frame, path)
    codes, names = pd.factorize(frame["ticker"].astype(str))
    frame["ticker"] = pd.Index(names).str.strip().str.upper().to_numpy()[codes]
    return frame.drop(columns=["timestamp", "tz"], errors="ignore")


class FileIntradaySource:
    """Bars from a CSV file or a folder of them (see the module docstring for the columns)."""

    name = "files"

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def fetch_bars(self, tickers: list[str], start: date, end: date, interval: str = "1m") -> pd.DataFrame:
        """Canonical bars of ``tickers`` on New York dates ``start``..``end``; a missing ticker is a SourceError."""
        check_interval(interval, self.name)
        if self.path.is_dir():
            files = sorted(self.path.glob("*.csv"))
        elif self.path.is_file():
            files = [self.path]
        else:
            raise SourceError(self.name, f"{self.path} is neither a CSV file nor a folder")
        if not files:
            raise SourceError(self.name, f"no *.csv file in {self.path}")
        frames = []
        for file in files:
            bars = validate_bars(read_bars_csv(file).assign(source=self.name), str(file), interval)
            frames.append(
                bars[bars["ticker"].isin(tickers) & bars["date"].between(pd.Timestamp(start), pd.Timestamp(end))]
            )
        bars = pd.concat(frames, ignore_index=True)
        missing = sorted(set(tickers) - set(bars["ticker"]))
        if missing:
            raise SourceError(self.name, f"no bars in {start}..{end} in {self.path}", ticker=",".join(missing))
        return bars
