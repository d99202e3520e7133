"""The default, offline price source: a seeded SIMULATED market calibrated on real figures.

Daily log returns follow a two-factor model (market = SPY, semiconductor/AI = SMH orthogonalised
on SPY) with Student-t idiosyncratic noise; the real returns of the DeepSeek window and of the
sessions after Nvidia's earnings are replayed, and each ticker's 2025-01-24 close is its real close.
Every figure comes from ``data/demo/calibration.json`` (see ``demo_calibration``); the whole market
is generated once per seed and process, so any slice of it is byte-identical to the same rows of
any other request.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from models.calendar import sessions
from pipelines.errors import SourceError
from pipelines.locations import data_file
from pipelines.sources.base import PRICE_COLUMNS, validate_prices
from pipelines.universe import AI_STOCKS, BENCHMARKS

ORIGIN = "demo"
DEMO_TICKERS: tuple[str, ...] = AI_STOCKS
DEMO_BENCHMARKS: tuple[str, ...] = BENCHMARKS
DEMO_UNIVERSE: tuple[str, ...] = DEMO_TICKERS + DEMO_BENCHMARKS
DEMO_START = date(2023, 1, 3)
DEMO_END = date(2025, 3, 31)
DEMO_SPLITS: dict[str, tuple[date, float]] = {"NVDA": (date(2024, 6, 10), 10.0)}
"""Splits the demo reproduces: (first session on the new scale, ratio). Raw prices before it are
``ratio`` times the post-split scale and raw volume is divided by ``ratio``."""
MARKET_TICKER = "SPY"
SEMI_TICKER = "SMH"
CALIBRATION_PATH = data_file("demo", "calibration.json")


def demo_sessions() -> pd.DatetimeIndex:
    """The NYSE sessions the demo market covers, DEMO_START..DEMO_END inclusive."""
    return sessions(DEMO_START, DEMO_END)


@lru_cache(maxsize=1)
def load_calibration(path: Path = CALIBRATION_PATH) -> dict:
    """The fitted figures, checked to cover the demo window and the whole universe."""
    if not path.is_file():
        raise SourceError(ORIGIN, f"calibration file {path} not found; run python -m pipelines.sources.demo_calibration")
    figures = json.loads(path.read_text(encoding="utf-8"))
    window = figures.get("window")
    if window != {"start": str(DEMO_START), "end": str(DEMO_END)}:
        raise SourceError(ORIGIN, f"calibration file {path} covers {window}, not {DEMO_START}..{DEMO_END}", field="window")
    missing = [t for t in DEMO_UNIVERSE if t not in figures.get("tickers", {})]
    if missing:
        raise SourceError(ORIGIN, f"calibration file {path} has no figures for {missing}", ticker=missing[0], field="tickers")
    return figures


def _standard_t(rng: np.random.Generator, df: float, size: int) -> np.ndarray:
    """Student-t draws rescaled to unit variance (df > 2)."""
    return rng.standard_t(df, size) * np.sqrt((df - 2.0) / df)


def _log_returns(figures: dict, rng: np.random.Generator, n: int) -> np.ndarray:
    """Simulated daily log returns, one column per universe ticker (sessions x tickers)."""
    market_fig, semi_fig = figures["market"], figures["semi"]
    market = market_fig["mean"] + market_fig["vol"] * _standard_t(rng, market_fig["df"], n)
    semi = semi_fig["vol"] * _standard_t(rng, semi_fig["df"], n)
    columns = []
    for ticker in DEMO_UNIVERSE:
        if ticker == market_fig["ticker"]:
            columns.append(market)
        elif ticker == semi_fig["ticker"]:
            columns.append(semi_fig["alpha"] + semi_fig["beta_market"] * market + semi)
        else:
            f = figures["tickers"][ticker]["factor_model"]
            noise = f["idio_vol"] * _standard_t(rng, f["idio_df"], n)
            columns.append(f["alpha"] + f["beta_market"] * market + f["beta_semi"] * semi + noise)
    return np.column_stack(columns)


def _impose(returns: np.ndarray, figures: dict, days: pd.DatetimeIndex) -> None:
    """Overwrite the simulated log returns with the real returns stored for event days."""
    for j, ticker in enumerate(DEMO_UNIVERSE):
        for day, real in figures["tickers"][ticker]["imposed_returns"].items():
            position = days.get_indexer([pd.Timestamp(day)])[0]
            if position < 0:
                raise SourceError(ORIGIN, "imposed return on a day that is not a demo session", ticker=ticker, date=day)
            returns[position, j] = np.log1p(real)


def simulate_market(seed: int) -> pd.DataFrame:
    """Generate the whole demo market for ``seed``: canonical price columns, sorted by ticker and date."""
    figures = load_calibration()
    days = demo_sessions()
    n, k = len(days), len(DEMO_UNIVERSE)
    rng = np.random.default_rng(seed)
    try:
        returns = _log_returns(figures, rng, n)
        _impose(returns, figures, days)
        anchor_at = days.get_indexer([pd.Timestamp(figures["anchor_date"])])[0]
        anchors = np.array([figures["tickers"][t]["anchor_close"] for t in DEMO_UNIVERSE])
        bars = [figures["tickers"][t]["bars"] for t in DEMO_UNIVERSE]
        ret_sd = np.array([figures["tickers"][t]["ret_sd"] for t in DEMO_UNIVERSE])
    except KeyError as missing:
        raise SourceError(ORIGIN, f"calibration file lacks the figure {missing}", field=str(missing).strip("'")) from missing
    if anchor_at < 0:
        raise SourceError(ORIGIN, "calibration anchor date is not a demo session", date=figures["anchor_date"])

    level = np.cumsum(returns, axis=0)
    close = anchors * np.exp(level - level[anchor_at])
    previous_close = close * np.exp(-returns)

    def per_ticker(key: str) -> np.ndarray:
        return np.array([b[key] for b in bars])

    gap = per_ticker("gap_beta") * returns + per_ticker("gap_sd") * rng.standard_normal((n, k))
    open_ = previous_close * np.exp(gap)
    high = np.maximum(open_, close) * np.exp(per_ticker("wick_up") * rng.standard_exponential((n, k)))
    low = np.minimum(open_, close) * np.exp(-per_ticker("wick_down") * rng.standard_exponential((n, k)))
    log_volume = (per_ticker("volume_log_mean") + per_ticker("volume_abs_z_slope") * np.abs(returns) / ret_sd
                  + per_ticker("volume_log_sd") * rng.standard_normal((n, k)))

    scale = np.ones((n, k))
    split_ratio = np.ones((n, k))
    for ticker, (first_day, ratio) in DEMO_SPLITS.items():
        j = DEMO_UNIVERSE.index(ticker)
        scale[days < pd.Timestamp(first_day), j] = ratio
        split_ratio[days == pd.Timestamp(first_day), j] = ratio

    raw_close = np.round(close * scale, 2)
    columns = {
        "ticker": np.repeat(np.array(DEMO_UNIVERSE), n),
        "date": np.tile(days.to_numpy(), k),
        "open": np.round(open_ * scale, 2),
        "high": np.round(high * scale, 2),
        "low": np.round(low * scale, 2),
        "close": raw_close,
        "adj_close": raw_close / scale,
        "volume": np.round(np.exp(log_volume) / scale),
        "split_ratio": split_ratio,
        "dividend": np.zeros((n, k)),
    }
    frame = pd.DataFrame({name: (v.T.ravel() if v.ndim == 2 else v) for name, v in columns.items()})
    frame["volume"] = frame["volume"].astype("int64")
    frame["source"] = ORIGIN
    return frame.loc[:, list(PRICE_COLUMNS)].sort_values(["ticker", "date"]).reset_index(drop=True)


@lru_cache(maxsize=4)
def _market(seed: int) -> pd.DataFrame:
    """The whole market for ``seed``, generated once per process."""
    return simulate_market(seed)


class DemoPriceSource:
    """Daily bars of the SIMULATED demo market (offline, deterministic for a given seed)."""

    name = "demo"

    def __init__(self, seed: int = 20250127) -> None:
        self.seed = seed

    def fetch_prices(self, tickers: Sequence[str], start: date, end: date) -> pd.DataFrame:
        """Canonical bars for ``tickers`` on the demo sessions in ``start``..``end`` (inclusive)."""
        wanted = list(dict.fromkeys(tickers))
        if not wanted:
            raise SourceError(ORIGIN, f"no tickers requested; the demo market has {', '.join(DEMO_UNIVERSE)}")
        for ticker in wanted:
            if ticker not in DEMO_UNIVERSE:
                raise SourceError(ORIGIN, f"unknown ticker {ticker!r}; the demo market has {', '.join(DEMO_UNIVERSE)}",
                                  ticker=str(ticker))
        first, last = pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize()
        market = _market(self.seed)
        rows = market["ticker"].isin(wanted) & market["date"].between(first, last)
        if not rows.any():
            raise SourceError(
                ORIGIN,
                f"no demo session in {first.date()}..{last.date()}; the demo market covers the NYSE sessions "
                f"{DEMO_START}..{DEMO_END}",
                date=first,
            )
        return validate_prices(market.loc[rows], origin=ORIGIN)
