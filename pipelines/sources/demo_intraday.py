"""SIMULATED minute bars for the demo market's DeepSeek weeks, consistent with its daily bars.

For each ticker and session of :data:`WINDOW` the regular-hours path starts at the demo's daily open,
ends at its close and touches exactly its high and low (Brownian bridges through those four points,
held inside [low, high]); the pre-market runs from the previous close to the open through a
pre-market low, the post-market wanders from the close. On 2025-01-27 the pre-market lows are the
falls reported before the open (:data:`REPORTED_PREMARKET_LOWS`). Seeded: the same bars every time.
"""

from __future__ import annotations

import zlib
from datetime import date

import numpy as np
import pandas as pd

from models.calendar import sessions
from models.intraday import regular_hours
from pipelines.errors import SourceError
from pipelines.sources.demo_market import DEMO_UNIVERSE, DemoPriceSource
from pipelines.sources.intraday import INTERVAL_MINUTES, classify, validate_bars

ORIGIN = "demo"
WINDOW = (date(2025, 1, 21), date(2025, 2, 4))
"""The sessions the demo has intraday bars for (the week before and after the DeepSeek sell-off)."""
SELL_OFF = date(2025, 1, 27)
REPORTED_PREMARKET_LOWS: dict[str, float] = {"NVDA": -0.13, "MSFT": -0.07, "META": -0.05, "QQQ": -0.035}
"""The deepest pre-market moves from the 2025-01-24 close reported for 2025-01-27 (Nvidia down as much as
13-14%, Microsoft 7%, Meta 5%, Nasdaq-100 futures 3.5%); other tickers fall 1.5 times their opening gap."""
PRE_MINUTES, POST_MINUTES = 330, 240
MINUTE_VOL = 0.0006
"""Standard deviation of a simulated minute's log return around the bridge."""


def _bridge(rng: np.random.Generator, points: list[tuple[int, float]], vol: float) -> np.ndarray:
    """A log-price path through ``points`` ((step, level), steps increasing): Brownian bridges between them."""
    path = np.empty(points[-1][0] + 1)
    for (t0, x0), (t1, x1) in zip(points, points[1:], strict=False):
        n = t1 - t0
        walk = np.concatenate([[0.0], np.cumsum(rng.normal(0.0, vol, n))])
        steps = np.arange(n + 1) / n
        path[t0 : t1 + 1] = x0 + (x1 - x0) * steps + walk - steps * walk[-1]
    return path


def _bars(path: np.ndarray, rng: np.random.Generator, floor: float, cap: float) -> tuple[np.ndarray, ...]:
    """Open, high, low, close of bars whose opens and closes follow ``path`` (log prices), inside [floor, cap]."""
    prices = np.clip(np.exp(path), floor, cap)
    opens, closes = prices[:-1], prices[1:]
    wick = np.abs(rng.normal(0.0, MINUTE_VOL / 2, (2, len(opens))))
    high = np.minimum(np.maximum(opens, closes) * (1 + wick[0]), cap)
    low = np.maximum(np.minimum(opens, closes) * (1 - wick[1]), floor)
    return opens, high, low, closes


def _day(rng: np.random.Generator, ticker: str, day: pd.Timestamp, prev_close: float, bar: pd.Series) -> pd.DataFrame:
    """One ticker's 1-minute bars on one session: pre, regular and post."""
    o, h, lo, c = (float(bar[k]) for k in ("open", "high", "low", "close"))
    opens_at, closes_at = regular_hours(day)
    n_regular = int((closes_at - opens_at) / pd.Timedelta(minutes=1))
    # Regular hours: open -> first extreme -> second extreme -> close, then held inside the day's range.
    t_a, t_b = sorted(rng.choice(np.arange(5, n_regular - 5), 2, replace=False))
    first, second = (h, lo) if rng.random() < 0.5 else (lo, h)
    regular = _bridge(
        rng, [(0, np.log(o)), (t_a, np.log(first)), (t_b, np.log(second)), (n_regular, np.log(c))], MINUTE_VOL
    )
    # Pre-market: previous close -> pre-market low -> the open.
    if day.date() == SELL_OFF:
        target = REPORTED_PREMARKET_LOWS.get(ticker, 1.5 * min(o / prev_close - 1, 0.0))
        pre_low = prev_close * (1 + target)
    else:
        pre_low = min(prev_close, o) * (1 - abs(rng.normal(0.0, 0.004)))
    t_low = int(rng.integers(90, PRE_MINUTES - 30))
    pre = _bridge(rng, [(0, np.log(prev_close)), (t_low, np.log(pre_low)), (PRE_MINUTES, np.log(o))], MINUTE_VOL / 2)
    post = _bridge(rng, [(0, np.log(c)), (POST_MINUTES, np.log(c) + rng.normal(0.0, 0.004))], MINUTE_VOL / 2)
    parts = [
        (_bars(pre, rng, pre_low, max(prev_close, o) * 1.01), opens_at - pd.Timedelta(minutes=PRE_MINUTES), 0.04),
        (_bars(regular, rng, lo, h), opens_at, 0.92),
        (_bars(post, rng, c * 0.97, c * 1.03), closes_at, 0.04),
    ]
    frames = []
    for (opens, high, low, closes), start, share in parts:
        n = len(opens)
        u_shape = 1.0 + 3.0 * (np.linspace(-1, 1, n) ** 2)
        weights = u_shape * rng.gamma(4.0, 0.25, n)
        frames.append(
            pd.DataFrame(
                {
                    "ticker": ticker,
                    "ts": start + pd.to_timedelta(np.arange(n), unit="min"),
                    "open": opens,
                    "high": high,
                    "low": low,
                    "close": closes,
                    "volume": np.round(float(bar["volume"]) * share * weights / weights.sum()),
                }
            )
        )
    out = pd.concat(frames, ignore_index=True)
    prices = ["open", "high", "low", "close"]
    out[prices] = out[prices].round(2)  # the daily bars' precision: their open, high, low and close stay exact
    return out


def _resample(bars: pd.DataFrame, minutes: int) -> pd.DataFrame:
    """Bars of ``minutes`` from 1-minute bars, per ticker."""
    if minutes == 1:
        return bars
    day, session = classify(bars["ts"])  # buckets start where each session starts, like Yahoo's (09:30, 10:30, ...)
    anchor = bars.groupby([bars["ticker"], day, session])["ts"].transform("min")
    step = pd.Timedelta(minutes=minutes)
    bucket = anchor + ((bars["ts"] - anchor) // step) * step
    grouped = bars.assign(ts=bucket).groupby(["ticker", "ts"], sort=True)
    return grouped.agg(
        open=("open", "first"),
        high=("high", "max"),
        low=("low", "min"),
        close=("close", "last"),
        volume=("volume", "sum"),
    ).reset_index()


class DemoIntradaySource:
    """1-minute (or coarser) bars of the SIMULATED demo market, 2025-01-21..2025-02-04, pre- and post-market."""

    name = "demo"

    def __init__(self, seed: int = 20250127) -> None:
        self.seed = seed
        self.daily = DemoPriceSource(seed)

    def fetch_bars(self, tickers: list[str], start: date, end: date, interval: str = "1m") -> pd.DataFrame:
        """Canonical bars for ``tickers`` on the demo sessions in ``start``..``end`` (inside :data:`WINDOW`)."""
        minutes = INTERVAL_MINUTES.get(interval)
        if minutes is None:
            raise SourceError(
                ORIGIN, f"unknown interval {interval!r}; choose one of {', '.join(INTERVAL_MINUTES)}", field="interval"
            )
        unknown = [t for t in tickers if t not in DEMO_UNIVERSE]
        if unknown:
            raise SourceError(
                ORIGIN,
                f"unknown ticker {unknown[0]!r}; the demo market has {', '.join(DEMO_UNIVERSE)}",
                ticker=unknown[0],
            )
        days = sessions(max(start, WINDOW[0]), min(end, WINDOW[1]))
        if len(days) == 0:
            raise SourceError(
                ORIGIN,
                f"no demo intraday session in {start}..{end}: the demo has minute bars for "
                f"{WINDOW[0]}..{WINDOW[1]} only",
                date=start,
            )
        daily = self.daily.fetch_prices(tickers, (days[0] - pd.Timedelta(days=7)).date(), days[-1].date())
        frames = []
        for ticker, rows in daily.groupby("ticker", sort=True):
            rows = rows.set_index("date").sort_index()
            for day in days:
                at = rows.index.get_loc(day)
                seed = [self.seed, zlib.crc32(ticker.encode()), day.toordinal()]
                rng = np.random.default_rng(seed)
                frames.append(_day(rng, ticker, day, float(rows["close"].iloc[at - 1]), rows.iloc[at]))
        bars = _resample(pd.concat(frames, ignore_index=True), minutes).assign(source=ORIGIN)
        return validate_bars(bars, ORIGIN, interval)
