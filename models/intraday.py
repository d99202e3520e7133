"""The reaction to news in event time, from intraday bars: pure functions, no I/O.

For an event's session (day0) each ticker's move is measured from the last close before the news to
the pre-market low, the open, the first 30 and 60 minutes and the close; news that came out during
regular hours is measured from the price at the announcement instead. The abnormal move subtracts
the benchmark's move over the same minutes, scaled by the market model's beta where the daily study
estimated one (else beta 1: market-adjusted). :func:`timing` says when the news came out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from models.calendar import EXCHANGE_TZ, is_session, next_session, previous_session, session_close

MEASURES: tuple[str, ...] = ("premarket_low", "open", "first_30m", "first_60m", "close")
"""What is measured, in event-time order (``position`` in the mart)."""
REACTION_COLUMNS: tuple[str, ...] = (
    "ticker",
    "measure",
    "position",
    "day0",
    "announced_at",
    "timing",
    "note",
    "ref_at",
    "ref_price",
    "at",
    "price",
    "ret",
    "benchmark",
    "bench_ret",
    "beta",
    "beta_source",
    "abnormal",
)
MARKET_MODEL, MARKET_ADJUSTED = "market model (daily)", "market-adjusted (beta 1)"


def regular_hours(day: date | pd.Timestamp) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Open and close of a session's regular hours in UTC (the close is 13:00 New York on early-close days)."""
    local = pd.Timestamp(day).normalize().tz_localize(EXCHANGE_TZ)
    return (local + pd.Timedelta(hours=9, minutes=30)).tz_convert("UTC"), session_close(day).tz_convert("UTC")


def timing(announced_at: pd.Timestamp | None, day0: date) -> tuple[str, str]:
    """When the news came out relative to day0's trading hours: a label and a sentence saying it.

    Labels: ``regular hours`` (during day0's session: measured from the announcement), ``pre-market``
    (day0 before the open), ``after hours`` (after the previous session's close), ``market closed``
    (a weekend, holiday or night), ``unknown`` (no announcement time, e.g. a detected event).
    """
    event_day = pd.Timestamp(day0).normalize()
    if announced_at is None or pd.isna(announced_at):
        return "unknown", "no announcement time: measured from the previous close"
    stamp = pd.Timestamp(announced_at)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    local = stamp.tz_convert(EXCHANGE_TZ)
    opens, closes = regular_hours(event_day)
    said = f"announced {local:%Y-%m-%d %H:%M} New York time"
    if opens <= stamp < closes:
        return "regular hours", f"{said}, during the session: measured from the price at the announcement"
    if stamp >= closes:
        return "after the event session", f"{said}, after day0 {event_day.date()}'s close: nothing of day0 reflects it"
    day = local.tz_localize(None).normalize()
    hour = local.hour + local.minute / 60
    if day == event_day and hour >= 4:
        label, where = "pre-market", "before the open, in the pre-market"
    elif is_session(day) and stamp >= session_close(day) and hour < 20:
        label, where = "after hours", f"after {day.date()}'s close, in the post-market"
    else:
        label, where = "market closed", "while the market was closed (night, weekend or holiday)"
    first = next_session(day) if (not is_session(day) or stamp >= session_close(day)) else day
    if first != event_day:
        return label, (
            f"{said}, {where}; the reaction is measured on day0 {event_day.date()} from the close before it, "
            f"not on the first session after the news ({first.date()})"
        )
    return label, f"{said}, {where}: measured from the last close before the news"


@dataclass(frozen=True)
class _Bars:
    """One ticker's bars of day0 as arrays sorted by start (ts: nanoseconds since the epoch, UTC)."""

    ts: np.ndarray
    session: np.ndarray
    open: np.ndarray
    low: np.ndarray
    close: np.ndarray

    def where(self, mask: np.ndarray) -> _Bars:
        return _Bars(self.ts[mask], self.session[mask], self.open[mask], self.low[mask], self.close[mask])


def _split(bars: pd.DataFrame) -> dict[str, _Bars]:
    """The bars per ticker as arrays (one conversion for the whole frame, not one per ticker and measure)."""
    ts = bars["ts"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[ns]").astype(np.int64)
    tickers = bars["ticker"].to_numpy(dtype=object)
    order = np.lexsort((ts, tickers))
    columns = [ts[order], bars["session"].to_numpy(dtype=object)[order]] + [
        bars[c].to_numpy(dtype=float)[order] for c in ("open", "low", "close")
    ]
    names = tickers[order]
    starts = np.flatnonzero(np.r_[True, names[1:] != names[:-1]]) if len(names) else np.array([], dtype=int)
    ends = np.r_[starts[1:], len(names)]
    return {names[a]: _Bars(*(c[a:b] for c in columns)) for a, b in zip(starts, ends, strict=True)}


def _stamp(ns: int) -> pd.Timestamp:
    return pd.Timestamp(int(ns), tz="UTC")


def _price_at(bars: _Bars, at: int, step: int) -> tuple[pd.Timestamp, float] | None:
    """The last traded price at ``at`` (ns): the close of the last bar that ended by then (None if none did)."""
    i = int(np.searchsorted(bars.ts + step, at, side="right")) - 1
    return None if i < 0 else (_stamp(bars.ts[i] + step), float(bars.close[i]))


def _points(
    bars: _Bars, opens: int, closes: int, after: int | None, step: int, intraday_news: bool
) -> dict[str, tuple[pd.Timestamp, float] | None]:
    """(time, price) of each measure for one ticker's bars of day0 (times in ns)."""
    regular = bars.where(bars.session == "regular")
    pre = bars.where((bars.session == "pre") & (bars.ts + step > (after if after is not None else 0)))
    start = after if intraday_news and after is not None else opens
    points: dict[str, tuple[pd.Timestamp, float] | None] = dict.fromkeys(MEASURES)
    if not intraday_news:
        if len(pre.ts):
            i = int(np.argmin(pre.low))
            points["premarket_low"] = (_stamp(pre.ts[i]), float(pre.low[i]))
        if len(regular.ts) and regular.ts[0] == opens:
            points["open"] = (_stamp(opens), float(regular.open[0]))
    for measure, minutes in (("first_30m", 30), ("first_60m", 60)):
        at = start + minutes * 60 * 10**9
        if at <= closes:
            points[measure] = _price_at(regular, at, step)
    if len(regular.ts) and regular.ts[-1] + step >= closes:
        points["close"] = (_stamp(closes), float(regular.close[-1]))
    return points


def reaction(
    bars: pd.DataFrame,
    previous_close: Mapping[str, float],
    *,
    day0: date,
    announced_at: pd.Timestamp | None,
    tickers: Sequence[str],
    benchmark: str,
    betas: Mapping[str, float],
    interval_minutes: int,
) -> pd.DataFrame:
    """One row per (ticker, measure) in :data:`REACTION_COLUMNS`: the move and the abnormal move of ``tickers``.

    ``bars``: day0's intraday bars (ticker, ts in UTC, open, high, low, close, session) of the tickers and the
    benchmark; ``previous_close``: each one's close of the session before day0; ``betas``: the market model's
    beta per ticker where the daily study has one. A measure the bars cannot give (no pre-market, a partial day)
    is a row with NULL price and move.
    """
    label, note = timing(announced_at, day0)
    opens, closes = (t.value for t in regular_hours(day0))
    step = interval_minutes * 60 * 10**9
    stamp = None if announced_at is None or pd.isna(announced_at) else pd.Timestamp(announced_at).tz_convert("UTC")
    intraday_news = label == "regular hours"
    after = stamp.value if stamp is not None and stamp.value > opens - (5 * 60 + 30) * 60 * 10**9 else None
    ref_at_close = regular_hours(previous_session(day0))[1]
    by_ticker = _split(bars)
    nothing = _Bars(*(np.array([]) for _ in range(5)))

    def reference(ticker: str) -> tuple[pd.Timestamp, float] | None:
        if intraday_news and stamp is not None:
            frame = by_ticker.get(ticker, nothing)
            return _price_at(frame.where(frame.session == "regular"), stamp.value, step)
        close = previous_close.get(ticker)
        return None if close is None or not np.isfinite(close) else (ref_at_close, float(close))

    def measured(ticker: str) -> tuple[tuple | None, dict]:
        frame = by_ticker.get(ticker)
        empty = dict.fromkeys(MEASURES)
        return reference(ticker), (
            empty if frame is None else _points(frame, opens, closes, after, step, intraday_news)
        )

    bench_ref, bench_points = measured(benchmark)
    rows = []
    for ticker in tickers:
        ref, points = measured(ticker)
        beta = betas.get(ticker)
        has_beta = beta is not None and np.isfinite(beta)
        for position, measure in enumerate(MEASURES):
            point, bench = points[measure], bench_points[measure]
            ret = point[1] / ref[1] - 1 if point and ref else np.nan
            if measure == "premarket_low":  # the benchmark over the same minutes: up to the ticker's low
                bench = _price_at(by_ticker.get(benchmark, nothing), point[0].value + step, step) if point else None
            bench_ret = bench[1] / bench_ref[1] - 1 if bench and bench_ref else np.nan
            b = float(beta) if beta is not None and has_beta else 1.0
            rows.append(
                {
                    "ticker": ticker,
                    "measure": measure,
                    "position": position,
                    "day0": pd.Timestamp(day0).date(),
                    "announced_at": stamp,
                    "timing": label,
                    "note": note,
                    "ref_at": ref[0] if ref else pd.NaT,
                    "ref_price": ref[1] if ref else np.nan,
                    "at": point[0] if point else pd.NaT,
                    "price": point[1] if point else np.nan,
                    "ret": ret,
                    "benchmark": benchmark,
                    "bench_ret": bench_ret,
                    "beta": b,
                    "beta_source": MARKET_MODEL if has_beta else MARKET_ADJUSTED,
                    "abnormal": ret - b * bench_ret,
                }
            )
    frame = pd.DataFrame(rows, columns=list(REACTION_COLUMNS))
    for column in ("announced_at", "ref_at", "at"):  # typed even when all missing: frames of many events concatenate
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame.astype({c: float for c in ("ref_price", "price", "ret", "bench_ret", "beta", "abnormal")})
