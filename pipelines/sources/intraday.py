"""Intraday bars: the canonical frame every intraday source returns, the trading sessions and Yahoo's look-back limits.

A bar is stamped with its START in UTC (``ts``) and belongs to the New York trading day it falls on
(``date``) and to one part of it (``session``): ``pre`` 04:00-09:30, ``regular`` 09:30 to the
close (13:00 on early-close days), ``post`` the close to 20:00, New York time. Bars outside
04:00-20:00 or on days the NYSE is closed belong to no session and are refused.
"""

from __future__ import annotations

from datetime import date, time
from typing import Protocol

import numpy as np
import pandas as pd

from models.calendar import EXCHANGE_TZ, sessions
from models.intraday import regular_hours
from pipelines.errors import DataValidationError, SourceError
from pipelines.sources.base import TICKER_SYMBOL

INTRADAY_COLUMNS: tuple[str, ...] = (
    "ticker",
    "ts",
    "date",
    "interval",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "session",
    "source",
)
INTERVAL_MINUTES: dict[str, int] = {"1m": 1, "2m": 2, "5m": 5, "15m": 15, "30m": 30, "60m": 60, "1h": 60}
"""The bar lengths we store (Yahoo's intraday intervals)."""
PRE_OPEN, POST_CLOSE = time(4, 0), time(20, 0)
SESSIONS: tuple[str, ...] = ("pre", "regular", "post")


class IntradaySource(Protocol):
    """Anything that delivers intraday bars for tickers on New York trading days ``start``..``end``."""

    name: str

    def fetch_bars(self, tickers: list[str], start: date, end: date, interval: str) -> pd.DataFrame:
        """Canonical bars (:data:`INTRADAY_COLUMNS`), validated by :func:`validate_bars`."""
        ...


def check_interval(interval: str, origin: str) -> int:
    """The interval's length in minutes, or a SourceError listing the intervals we store."""
    if interval not in INTERVAL_MINUTES:
        raise SourceError(
            origin, f"unknown interval {interval!r}; choose one of {', '.join(INTERVAL_MINUTES)}", field="interval"
        )
    return INTERVAL_MINUTES[interval]


def classify(ts: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(New York trading date, session) of UTC bar starts; session is None outside 04:00-20:00 or on a closed day.

    Worked out once per distinct timestamp (500 tickers' minutes share 960 of them), then spread to the rows.
    """
    codes, stamps = pd.factorize(ts)
    local = pd.DatetimeIndex(stamps).tz_convert(EXCHANGE_TZ)
    day = local.tz_localize(None).normalize()
    open_days = sessions(day.min(), day.max())
    minutes = np.asarray(local.hour * 60 + local.minute)
    close_of = {d: regular_hours(d)[1].tz_convert(EXCHANGE_TZ) for d in open_days}
    close_minutes = np.array([close_of[d].hour * 60 + close_of[d].minute if d in close_of else -1 for d in day])
    which = np.select(
        [minutes < PRE_OPEN.hour * 60, minutes < 9 * 60 + 30, minutes < close_minutes, minutes < POST_CLOSE.hour * 60],
        [0, 1, 2, 3],
        default=0,
    )
    session = np.array([None, "pre", "regular", "post"], dtype=object)[which]
    session[close_minutes < 0] = None  # the NYSE was closed that day
    return (pd.Series(day[codes], index=ts.index), pd.Series(session[codes], index=ts.index, dtype=object))


def validate_bars(frame: pd.DataFrame, origin: str, interval: str) -> pd.DataFrame:
    """Coerce a bar frame to :data:`INTRADAY_COLUMNS`, or raise naming the row, ticker and field.

    ``ts`` must be tz-aware (any zone: converted to UTC); prices finite and positive, volume not negative.
    Rows come sorted by ticker and ts; duplicated (ticker, ts) rows are KEPT, in the order delivered: the
    warehouse write drops them (the last delivered wins) and counts them.
    """
    check_interval(interval, origin)
    missing = [c for c in ("ticker", "ts", "open", "high", "low", "close", "volume") if c not in frame.columns]
    if missing:
        raise DataValidationError(origin, f"missing column(s) {missing}; got {list(frame.columns)}", field=missing[0])
    if frame.empty:
        raise DataValidationError(origin, "no intraday bars")
    tickers = frame["ticker"].astype(str).to_numpy()
    bad_names = [t for t in pd.unique(tickers) if not TICKER_SYMBOL.fullmatch(t)]
    if bad_names:
        i = int(np.flatnonzero(tickers == bad_names[0])[0])
        raise DataValidationError(origin, f"invalid ticker {bad_names[0]!r}", row=i + 1, field="ticker")
    ts = frame["ts"]
    if not isinstance(ts.dtype, pd.DatetimeTZDtype):
        raise DataValidationError(
            origin,
            f"timestamps without a time zone, e.g. {ts.iloc[0]!r}: give an offset or a tz",
            ticker=str(tickers[0]),
            field="ts",
        )
    out = pd.DataFrame({"ticker": tickers, "ts": ts.dt.tz_convert("UTC").astype("datetime64[us, UTC]").array})
    for field in ("open", "high", "low", "close", "volume"):
        values = pd.to_numeric(frame[field], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(values) | (values < 0 if field == "volume" else values <= 0)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataValidationError(
                origin,
                f"{field} must be finite and {'>= 0' if field == 'volume' else '> 0'}, got {frame[field].iloc[i]!r}",
                ticker=str(tickers[i]),
                date=out["ts"].iloc[i],
                row=i + 1,
                field=field,
            )
        out[field] = values
    out["volume"] = out["volume"].round().astype("int64")
    day, session = classify(out["ts"])
    outside = session.isna().to_numpy()
    if outside.any():
        i = int(np.flatnonzero(outside)[0])
        local = out["ts"].iloc[i].tz_convert(EXCHANGE_TZ)
        raise DataValidationError(
            origin,
            f"bar at {local:%Y-%m-%d %H:%M} New York time lies outside the trading day (04:00-20:00 on an NYSE "
            "session)",
            ticker=str(tickers[i]),
            row=i + 1,
            field="ts",
        )
    out["date"] = day.to_numpy()
    out["interval"] = interval
    out["session"] = session.to_numpy()
    out["source"] = frame["source"].astype(str).to_numpy() if "source" in frame.columns else origin
    out = out.loc[:, list(INTRADAY_COLUMNS)]
    stamps = out["ts"].to_numpy(dtype="datetime64[us]")  # UTC, as plain numbers: cheap to compare
    in_order = (tickers[1:] > tickers[:-1]) | ((tickers[1:] == tickers[:-1]) & (stamps[1:] >= stamps[:-1]))
    if in_order.all():  # vendors and the demo deliver sorted bars: skip the sort
        return out
    return out.sort_values(["ticker", "ts"], kind="stable", ignore_index=True)  # stable: duplicates keep their order
