"""The source contract: canonical price and headline frames, and the validation every source shares.

A source returns valid rows or raises an error naming the ticker/date/row/field; it never
returns a silently empty or half-parsed frame. ``end`` dates are inclusive everywhere.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Protocol

import numpy as np
import pandas as pd

from pipelines.errors import DataValidationError

PRICE_COLUMNS: tuple[str, ...] = (
    "ticker",
    "date",
    "open",
    "high",
    "low",
    "close",
    "adj_close",
    "volume",
    "split_ratio",
    "dividend",
    "source",
)
"""Canonical price frame. ``close`` is the price as traded that day (not adjusted for later splits
where the source allows it), ``adj_close`` is split- and dividend-adjusted, ``split_ratio`` is the
split that took effect that session (10.0 for a 10:1 split, 1.0 otherwise)."""

PRICE_FIELDS = ("open", "high", "low", "close", "adj_close")

MAX_PRICE = 1e7
"""No listed share trades at $10 million (BRK.A is under $1M): a higher price is a vendor or unit error."""

MAX_VOLUME = 1e13
"""Ten trillion shares in one session is ~1,000x any real day, and far inside int64 (9.2e18)."""

PRICE_LIMITS: dict[str, tuple[float, float, bool]] = {
    **{field: (0.0, MAX_PRICE, False) for field in PRICE_FIELDS},
    "volume": (0.0, MAX_VOLUME, True),
    "split_ratio": (1e-4, 1e4, True),
    "dividend": (0.0, MAX_PRICE, True),
}
"""Per numeric field: (low, high, low inclusive); values must be finite, above low and below high."""

TICKER_SYMBOL = re.compile(r"[A-Z0-9.^=\-]{1,15}")
"""What a ticker symbol may look like in a price or a headline row: NVDA, BRK.B, ^GSPC, EURUSD=X, BTC-USD."""

HEADLINE_COLUMNS: tuple[str, ...] = (
    "headline_id",
    "published_at",
    "title",
    "summary",
    "url",
    "publisher",
    "tickers",
    "source",
)
"""Canonical headline frame. ``published_at`` is a tz-aware UTC timestamp, ``tickers`` a list of
upper-case symbols, ``headline_id`` a stable hash (see :func:`headline_id`)."""


class PriceSource(Protocol):
    """Daily bars for tickers over an inclusive date range."""

    name: str

    def fetch_prices(self, tickers: Sequence[str], start: date, end: date) -> pd.DataFrame:
        """Return a canonical price frame (see :data:`PRICE_COLUMNS`) or raise a SourceError."""
        ...


class NewsSource(Protocol):
    """Headlines about tickers published on New York calendar dates ``start``..``end``."""

    name: str

    def fetch_headlines(self, tickers: Sequence[str], start: date, end: date) -> pd.DataFrame:
        """Return a canonical headline frame (see :data:`HEADLINE_COLUMNS`) or raise a SourceError."""
        ...


_SPACES = re.compile(r"\s+")


def normalize_title(title: str) -> str:
    """Lower-case, whitespace-collapsed title used for deduplication across sources."""
    return _SPACES.sub(" ", title).strip().lower()


def headline_id(title: str, published_at: pd.Timestamp) -> str:
    """Stable id of a headline: the same story on the same UTC day gets the same id from any source."""
    day = pd.Timestamp(published_at).tz_convert("UTC").strftime("%Y-%m-%d")
    digest = hashlib.sha1(f"{normalize_title(title)}|{day}".encode()).hexdigest()
    return digest[:20]


def per_distinct(values: pd.Series, read: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """``read(values)``, computed once per distinct value when all are ``str`` (or all plain dates), else row by row.

    A long price file repeats each ticker ~2,500 times and each date ~500 times: reading the distinct
    values and spreading the answers back gives the same result as ``read`` on every row. Only those
    kinds: equal values of others may read differently (``1 == 1.0``, aware datetimes in two zones).
    """
    kind = pd.api.types.infer_dtype(values, skipna=False)
    if kind not in ("string", "date"):
        return read(values)
    codes, uniques = pd.factorize(values)
    if kind == "date" and any(type(u) is not date for u in uniques):
        return read(values)  # a datetime among the dates: aware ones in two zones compare equal
    answers = read(pd.Series(np.asarray(uniques, dtype=object), dtype=object))
    return pd.Series(answers.to_numpy()[codes], index=values.index, name=values.name)


def _row_label(frame: pd.DataFrame, position: int) -> int:
    """1-based row number of ``position`` for messages (row 1 is the first data row)."""
    return position + 1


def validate_prices(frame: pd.DataFrame, origin: str) -> pd.DataFrame:
    """Coerce a price frame to the canonical columns and types, or raise naming the row/ticker/field.

    Checks: required columns present, dates parse, every numeric field finite and inside
    :data:`PRICE_LIMITS` (before any cast: 1e20 shares would wrap at the int64 cast), no duplicate
    (ticker, date). OHLC consistency and outsized moves are data-quality asset checks on the
    warehouse, not ingestion errors.
    """
    frame = frame.reset_index(drop=True)  # a deep copy already (pandas 2 without copy-on-write)
    required = ("ticker", "date", "open", "high", "low", "close", "volume")
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise DataValidationError(origin, f"missing column(s) {missing}; got {list(frame.columns)}", field=missing[0])
    if frame.empty:
        raise DataValidationError(origin, "no price rows")
    if "adj_close" not in frame.columns:
        frame["adj_close"] = frame["close"]
    if "split_ratio" not in frame.columns:
        frame["split_ratio"] = 1.0
    if "dividend" not in frame.columns:
        frame["dividend"] = 0.0
    if "source" not in frame.columns:
        raise DataValidationError(origin, "missing column 'source'", field="source")

    tickers = frame["ticker"]
    bad_ticker = tickers.isna() | ~per_distinct(tickers, lambda t: t.astype(str).str.fullmatch(TICKER_SYMBOL.pattern))
    if bad_ticker.any():
        i = int(np.flatnonzero(bad_ticker.to_numpy())[0])
        raise DataValidationError(origin, f"invalid ticker {tickers.iloc[i]!r}", row=_row_label(frame, i), field="ticker")

    dates = pd.to_datetime(frame["date"], errors="coerce")
    if getattr(dates.dt, "tz", None) is not None:
        dates = dates.dt.tz_localize(None)
    if dates.isna().any():
        i = int(np.flatnonzero(dates.isna().to_numpy())[0])
        raise DataValidationError(
            origin, f"unparsable date {frame['date'].iloc[i]!r}", row=_row_label(frame, i),
            ticker=str(tickers.iloc[i]), field="date",
        )
    frame["date"] = dates.dt.normalize()

    for field, (low, high, low_inclusive) in PRICE_LIMITS.items():
        values = pd.to_numeric(frame[field], errors="coerce").astype("float64")
        above_low = values >= low if low_inclusive else values > low
        bad = ~(np.isfinite(values) & above_low & (values < high))
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raw = frame[field].iloc[i]
            shown = repr(raw) if isinstance(raw, str) else str(raw)
            limits = f"{'>=' if low_inclusive else '>'} {low:g} and < {high:g}"
            raise DataValidationError(
                origin, f"{field} must be a finite number {limits}, got {shown}",
                row=_row_label(frame, i), ticker=str(tickers.iloc[i]), date=frame["date"].iloc[i], field=field,
            )
        frame[field] = values
    frame["volume"] = frame["volume"].round().astype("int64")

    dup = frame.duplicated(["ticker", "date"], keep="first")
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise DataValidationError(
            origin, "duplicate date for ticker", row=_row_label(frame, i),
            ticker=str(tickers.iloc[i]), date=frame["date"].iloc[i], field="date",
        )
    frame["source"] = frame["source"].astype(str)
    frame["ticker"] = frame["ticker"].astype(str)
    return _by_ticker_and_date(frame.loc[:, list(PRICE_COLUMNS)])


def _by_ticker_and_date(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (str tickers, unique (ticker, date)) sorted by ticker then date, as ``sort_values`` would.

    A lexsort of integer codes, and no reordering at all for a frame already in order (long files often are):
    ``sort_values`` on 1.26M object tickers takes ~0.5 s.
    """
    codes, _ = pd.factorize(frame["ticker"], sort=True)
    order = np.lexsort((frame["date"].to_numpy().view("i8"), codes))
    if not (order == np.arange(len(order))).all():
        frame = frame.take(order)
    frame.index = pd.RangeIndex(len(frame))  # a frame of our own (``.loc``/``take``): no copy needed
    return frame


_EARLIEST_STAMP = pd.Timestamp("1970-01-01", tz="UTC")
_LATEST_STAMP = pd.Timestamp("2200-01-01", tz="UTC")
"""Headline timestamps outside these bounds are vendor garbage (and past 2262 not even representable)."""


def validate_headlines(frame: pd.DataFrame, origin: str) -> pd.DataFrame:
    """Coerce a headline frame to the canonical columns, compute ids and merge duplicates.

    A headline without a parsable timestamp, without a title, or with a ticker that is no symbol (the
    same rule as :func:`validate_prices`: :data:`TICKER_SYMBOL`) is an error naming the row.
    Duplicates (same normalised title on the same UTC day) collapse into one row whose tickers
    are the union and whose timestamp is the earliest.
    """
    frame = frame.reset_index(drop=True).copy()
    for column in ("published_at", "title"):
        if column not in frame.columns:
            raise DataValidationError(origin, f"missing column '{column}'; got {list(frame.columns)}", field=column)
    if frame.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in HEADLINE_COLUMNS}).assign(
            published_at=pd.Series(dtype="datetime64[us, UTC]")
        )
    for column in ("summary", "url", "publisher"):
        if column not in frame.columns:
            frame[column] = None
    if "tickers" not in frame.columns:
        frame["tickers"] = [[] for _ in range(len(frame))]
    if "source" not in frame.columns:
        raise DataValidationError(origin, "missing column 'source'", field="source")

    stamps = []
    for i, raw in enumerate(frame["published_at"]):
        try:
            # Only text and timestamps are timestamps: a list or a number here is a malformed record.
            stamp = pd.Timestamp(raw) if isinstance(raw, (str, datetime, np.datetime64)) else pd.NaT
        except (ValueError, OverflowError):
            stamp = pd.NaT
        if pd.isna(stamp):
            raise DataValidationError(origin, f"headline without a valid timestamp: {raw!r}", row=i + 1, field="published_at")
        if stamp.tzinfo is None:
            raise DataValidationError(
                origin, f"timestamp {raw!r} has no timezone; sources must say which zone they use",
                row=i + 1, field="published_at",
            )
        stamp = stamp.tz_convert("UTC")
        if not _EARLIEST_STAMP <= stamp <= _LATEST_STAMP:
            raise DataValidationError(
                origin, f"timestamp {raw!r} is outside {_EARLIEST_STAMP.date()}..{_LATEST_STAMP.date()}",
                row=i + 1, field="published_at",
            )
        stamps.append(stamp)
    frame["published_at"] = pd.DatetimeIndex(stamps).as_unit("us")

    titles = frame["title"]
    for i, title in enumerate(titles):
        if not isinstance(title, str) or not title.strip():
            raise DataValidationError(origin, f"headline without a title: {title!r}", row=i + 1, field="title")
    frame["title"] = titles.map(lambda t: _SPACES.sub(" ", t).strip())

    def tickers_of(value: object, row: int) -> list[str]:
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return []
        if isinstance(value, str):
            value = [v for v in re.split(r"[,;\s]+", value) if v]
        if not isinstance(value, (list, tuple, np.ndarray)):
            raise DataValidationError(origin, f"tickers must be a list or a comma-separated string, got {value!r}", row=row, field="tickers")
        symbols = sorted({str(v).strip().upper() for v in value if str(v).strip()})
        bad = [symbol for symbol in symbols if not TICKER_SYMBOL.fullmatch(symbol)]
        if bad:
            raise DataValidationError(origin, f"invalid ticker {bad[0]!r} in the headline's tickers", row=row, field="tickers")
        return symbols

    frame["tickers"] = [tickers_of(v, i + 1) for i, v in enumerate(frame["tickers"])]
    frame["headline_id"] = [headline_id(t, p) for t, p in zip(frame["title"], frame["published_at"])]

    def first_text(values: pd.Series) -> object:
        present = [v for v in values if isinstance(v, str) and v]
        return present[0] if present else None

    frame = frame.sort_values("published_at", kind="stable")
    merged = frame.groupby("headline_id", sort=False).agg(
        published_at=("published_at", "min"),
        title=("title", "first"),
        summary=("summary", first_text),
        url=("url", first_text),
        publisher=("publisher", first_text),
        tickers=("tickers", lambda s: sorted({t for ts in s for t in ts})),
        source=("source", lambda s: ",".join(sorted(set(map(str, s))))),
    )
    merged = merged.reset_index()
    return merged.loc[:, list(HEADLINE_COLUMNS)].sort_values(["published_at", "headline_id"]).reset_index(drop=True)
