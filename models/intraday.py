"""The reaction to news in event time, from intraday bars: pure functions, no I/O.

For an event's session (day0) each ticker's move is measured from the last close before the news to
the pre-market low, the open, the first 30 and 60 minutes and the close; news that came out during
regular hours is measured from the price at the announcement instead. The abnormal move subtracts
the benchmark's move over the same minutes, scaled by the market model's beta where the daily study
estimated one (else beta 1: market-adjusted). :func:`timing` says when the news came out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

import numpy as np
import pandas as pd

from models.calendar import EXCHANGE_TZ, is_session, next_session, previous_session, session_close

MEASURES: tuple[str, ...] = ("premarket_low", "open", "first_30m", "first_60m", "close")
"""What is measured, in event-time order (``position`` in the mart)."""
REACTION_COLUMNS: tuple[str, ...] = (
    "ticker", "measure", "position", "day0", "announced_at", "timing", "note", "ref_at", "ref_price", "at", "price",
    "ret", "benchmark", "bench_ret", "beta", "beta_source", "abnormal",
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
    day0 = pd.Timestamp(day0).normalize()
    if announced_at is None or pd.isna(announced_at):
        return "unknown", "no announcement time: measured from the previous close"
    stamp = pd.Timestamp(announced_at)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    local = stamp.tz_convert(EXCHANGE_TZ)
    opens, closes = regular_hours(day0)
    said = f"announced {local:%Y-%m-%d %H:%M} New York time"
    if opens <= stamp < closes:
        return "regular hours", f"{said}, during the session: measured from the price at the announcement"
    if stamp >= closes:
        return "after the event session", f"{said}, after day0 {day0.date()}'s close: nothing of day0 reflects it"
    day = local.tz_localize(None).normalize()
    hour = local.hour + local.minute / 60
    if day == day0 and hour >= 4:
        label, where = "pre-market", "before the open, in the pre-market"
    elif is_session(day) and stamp >= session_close(day) and hour < 20:
        label, where = "after hours", f"after {day.date()}'s close, in the post-market"
    else:
        label, where = "market closed", "while the market was closed (night, weekend or holiday)"
    note = f"{said}, {where}: measured from the last close before the news"
    first = next_session(day) if (not is_session(day) or stamp >= session_close(day)) else day
    if first != day0:
        note += f"; the reaction is measured on day0 {day0.date()}, not the first session after the news ({first.date()})"
    return label, note


def _price_at(bars: pd.DataFrame, at: pd.Timestamp, step: pd.Timedelta) -> tuple[pd.Timestamp, float] | None:
    """The last traded price at ``at``: the close of the last bar that ended by then (None if none did)."""
    done = bars[bars["ts"] + step <= at]
    if done.empty:
        return None
    last = done.iloc[-1]
    return last["ts"] + step, float(last["close"])


def _points(bars: pd.DataFrame, opens: pd.Timestamp, closes: pd.Timestamp, after: pd.Timestamp | None,
            step: pd.Timedelta, intraday_news: bool) -> dict[str, tuple[pd.Timestamp, float] | None]:
    """(time, price) of each measure for one ticker's bars of day0 (sorted by ts)."""
    regular = bars[bars["session"] == "regular"]
    pre = bars[bars["session"] == "pre"]
    if after is not None:
        pre = pre[pre["ts"] + step > after]
    start = after if intraday_news else opens
    points: dict[str, tuple[pd.Timestamp, float] | None] = dict.fromkeys(MEASURES)
    if not intraday_news:
        if len(pre):
            low = pre.loc[pre["low"].idxmin()]
            points["premarket_low"] = (low["ts"], float(low["low"]))
        if len(regular) and regular["ts"].iloc[0] == opens:
            points["open"] = (opens, float(regular["open"].iloc[0]))
    for measure, minutes in (("first_30m", 30), ("first_60m", 60)):
        at = start + pd.Timedelta(minutes=minutes)
        if at <= closes:
            points[measure] = _price_at(regular, at, step)
    if len(regular) and regular["ts"].iloc[-1] + step >= closes:
        points["close"] = (closes, float(regular["close"].iloc[-1]))
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
    opens, closes = regular_hours(day0)
    step = pd.Timedelta(minutes=interval_minutes)
    stamp = None if announced_at is None or pd.isna(announced_at) else pd.Timestamp(announced_at).tz_convert("UTC")
    intraday_news = label == "regular hours"
    after = stamp if stamp is not None and stamp > opens - pd.Timedelta(hours=5, minutes=30) else None
    ref_default = previous_session(day0)
    ref_at_close = regular_hours(ref_default)[1]
    by_ticker = {t: frame.sort_values("ts") for t, frame in bars.groupby("ticker", sort=False)}

    def reference(ticker: str) -> tuple[pd.Timestamp, float] | None:
        frame = by_ticker.get(ticker)
        if intraday_news:
            return None if frame is None else _price_at(frame[frame["session"] == "regular"], stamp, step)
        close = previous_close.get(ticker)
        return None if close is None or not np.isfinite(close) else (ref_at_close, float(close))

    def measured(ticker: str) -> tuple[tuple | None, dict]:
        frame = by_ticker.get(ticker)
        empty = dict.fromkeys(MEASURES)
        return reference(ticker), (empty if frame is None else _points(frame, opens, closes, after, step, intraday_news))

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
                bench = _price_at(by_ticker.get(benchmark, bars.iloc[:0]), point[0] + step, step) if point else None
            bench_ret = bench[1] / bench_ref[1] - 1 if bench and bench_ref else np.nan
            b = float(beta) if has_beta else 1.0
            rows.append({
                "ticker": ticker, "measure": measure, "position": position, "day0": pd.Timestamp(day0).date(),
                "announced_at": stamp, "timing": label, "note": note,
                "ref_at": ref[0] if ref else pd.NaT, "ref_price": ref[1] if ref else np.nan,
                "at": point[0] if point else pd.NaT, "price": point[1] if point else np.nan, "ret": ret,
                "benchmark": benchmark, "bench_ret": bench_ret, "beta": b,
                "beta_source": MARKET_MODEL if has_beta else MARKET_ADJUSTED, "abnormal": ret - b * bench_ret,
            })
    return pd.DataFrame(rows, columns=list(REACTION_COLUMNS))
