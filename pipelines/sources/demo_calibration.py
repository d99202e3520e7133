"""Fit the demo market's figures (factor loadings, volume, bar shape, anchors, event returns) from real prices.

The simulated demo market ships only these FIGURES (``data/demo/calibration.json``), never the
reference files. Run ``python -m pipelines.sources.demo_calibration`` to refit and rewrite the JSON.

Model (daily log returns ``r``): market ``m`` = SPY, semiconductor factor ``s`` = SMH's residual on
SPY (with intercept), and for every other ticker ``r = alpha + beta_market*m + beta_semi*s + e``
with ``e`` Student-t scaled to ``idio_vol``. Degrees of freedom come from the excess kurtosis
(``df = 4 + 6/kurtosis``, clipped to (4, 30]). Fits use the demo window's sessions except the
imposed event days, whose real returns are stored as figures and replayed by the generator.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from models.calendar import is_session, previous_session, sessions
from pipelines.errors import DataValidationError, SourceError
from pipelines.sources.demo_market import (
    CALIBRATION_PATH,
    DEMO_END,
    DEMO_START,
    DEMO_TICKERS,
    DEMO_UNIVERSE,
    MARKET_TICKER,
    SEMI_TICKER,
)

ORIGIN = "demo-calibration"
ANCHOR_DATE = date(2025, 1, 24)
"""Each ticker's demo close on this session is its real close (the last close before DeepSeek)."""
EVENT_WINDOW = (date(2025, 1, 21), date(2025, 2, 4))
"""Every session of this window replays the real returns (DeepSeek-R1 published 2025-01-20)."""
NVDA_EARNINGS_SESSIONS = (date(2024, 2, 22), date(2024, 5, 23), date(2024, 8, 29), date(2024, 11, 21), date(2025, 2, 27))
"""The sessions after Nvidia's earnings releases (after the close the day before): real returns replayed."""
DEFAULT_PRICES_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "prices"
MAX_DF = 30.0
BAR_FOLDERS: tuple[tuple[str, str, dict[str, str]], ...] = (
    ("ibkr_daily", "date", {}),
    ("yahoo_adjusted", "Date", {"Open": "open", "High": "high", "Low": "low", "Close": "close", "Volume": "volume"}),
    ("yahoo_etf", "Date", {"Open": "open", "High": "high", "Low": "low", "Close": "close", "Volume": "volume"}),
)
"""Where daily bars (OHLC + volume) come from, first match wins. ibkr closes and yahoo_etf
``Close`` are official unadjusted closes; yahoo_adjusted OHLC are adjusted (ratios still hold)."""
RAW_CLOSE_FOLDERS = ("ibkr_daily", "yahoo_etf")
BAR_FIGURES = ("volume_log_mean", "volume_abs_z_slope", "volume_log_sd", "gap_beta", "gap_sd", "wick_up", "wick_down")


def _figure(value: float) -> float:
    """A float rounded to 10 significant digits: stable across platforms, small in the JSON."""
    return float(f"{float(value):.10g}")


def _read_csv(path: Path, date_column: str, ticker: str) -> pd.DataFrame:
    """A reference CSV indexed by date, or an error naming the file and ticker."""
    if not path.is_file():
        raise SourceError(ORIGIN, f"reference file {path} not found", ticker=ticker)
    frame = pd.read_csv(path)
    if date_column not in frame.columns:
        raise DataValidationError(str(path), f"no '{date_column}' column; got {list(frame.columns)}", ticker=ticker, field=date_column)
    dates = pd.to_datetime(frame[date_column].astype(str).str[:10], errors="coerce")
    if dates.isna().any():
        row = int(np.flatnonzero(dates.isna().to_numpy())[0]) + 1
        raise DataValidationError(str(path), "unparsable date", ticker=ticker, row=row, field=date_column)
    return frame.drop(columns=[date_column]).set_index(pd.DatetimeIndex(dates, name="date"))


def _require_sessions(series: pd.Series, wanted: pd.DatetimeIndex, path: Path, ticker: str, field: str) -> pd.Series:
    """``series`` on exactly the ``wanted`` sessions, positive and finite, or an error naming the gap."""
    missing = wanted.difference(series.index)
    if len(missing):
        raise DataValidationError(
            str(path), f"{len(missing)} session(s) missing in {wanted[0].date()}..{wanted[-1].date()}",
            ticker=ticker, date=missing[0], field=field,
        )
    values = pd.to_numeric(series.loc[wanted], errors="coerce").astype("float64")
    bad = ~np.isfinite(values.to_numpy()) | (values.to_numpy() <= 0)
    if bad.any():
        day = values.index[int(np.flatnonzero(bad)[0])]
        raise DataValidationError(str(path), f"{field} must be a finite number > 0", ticker=ticker, date=day, field=field)
    return values


def _adjusted_closes(prices_dir: Path, ticker: str, window: pd.DatetimeIndex) -> pd.Series:
    """Adjusted closes from ``adjclose_only/`` on the window plus the session before it."""
    path = prices_dir / "adjclose_only" / f"{ticker}.csv"
    frame = _read_csv(path, "Date", ticker)
    if "Close" not in frame.columns:
        raise DataValidationError(str(path), "no 'Close' column", ticker=ticker, field="Close")
    wanted = window.insert(0, previous_session(window[0]))
    return _require_sessions(frame["Close"], wanted, path, ticker, "Close")


def _bars(prices_dir: Path, ticker: str, window: pd.DatetimeIndex) -> tuple[str, pd.DataFrame] | None:
    """(folder, OHLCV bars) from the first folder that has the ticker; bars cover a gap-free run of the window."""
    for folder, date_column, rename in BAR_FOLDERS:
        path = prices_dir / folder / f"{ticker}.csv"
        if not path.is_file():
            continue
        frame = _read_csv(path, date_column, ticker).rename(columns=rename)
        inside = frame.index[(frame.index >= window[0]) & (frame.index <= window[-1])]
        if inside.empty:
            raise DataValidationError(str(path), f"no rows in {window[0].date()}..{window[-1].date()}", ticker=ticker)
        run = window[(window >= inside.min()) & (window <= inside.max())]
        columns = {}
        for field in ("open", "high", "low", "close", "volume"):
            if field not in frame.columns:
                raise DataValidationError(str(path), f"no '{field}' column", ticker=ticker, field=field)
            columns[field] = _require_sessions(frame[field], run, path, ticker, field)
        bars = pd.DataFrame(columns)
        body_top = np.maximum(bars["open"], bars["close"])
        body_bottom = np.minimum(bars["open"], bars["close"])
        for field, broken in (("high", bars["high"] < body_top), ("low", bars["low"] > body_bottom)):
            if broken.any():
                day = bars.index[int(np.flatnonzero(broken.to_numpy())[0])]
                raise DataValidationError(str(path), f"{field} outside the open/close range", ticker=ticker, date=day, field=field)
        return folder, bars
    return None


def _excess_kurtosis_df(residuals: np.ndarray) -> float:
    """Student-t degrees of freedom matching the sample excess kurtosis, in (4, MAX_DF]."""
    centred = residuals - residuals.mean()
    excess = float(np.mean(centred**4) / np.mean(centred**2) ** 2 - 3.0)
    if excess <= 6.0 / (MAX_DF - 4.0):
        return MAX_DF
    return 4.0 + 6.0 / excess


def _ols(y: np.ndarray, columns: Iterable[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """OLS of ``y`` on an intercept plus ``columns``: (coefficients, residuals)."""
    design = np.column_stack([np.ones_like(y), *columns])
    coefficients, *_ = np.linalg.lstsq(design, y, rcond=None)
    return coefficients, y - design @ coefficients


def _bar_figures(bars: pd.DataFrame, log_returns: pd.Series, ret_sd: float) -> dict[str, float]:
    """Volume level and its response to |standardised return|, overnight gap share, mean wicks."""
    log_volume = np.log(bars["volume"].to_numpy())
    abs_z = np.abs(log_returns.loc[bars.index].to_numpy()) / ret_sd
    (level, slope), volume_resid = _ols(log_volume, [abs_z])
    bar_returns = np.log(bars["close"] / bars["close"].shift(1)).to_numpy()[1:]
    gaps = np.log(bars["open"].to_numpy()[1:] / bars["close"].to_numpy()[:-1])
    gap_beta = float(np.sum(gaps * bar_returns) / np.sum(bar_returns**2))
    gap_resid = gaps - gap_beta * bar_returns
    body_top = np.maximum(bars["open"], bars["close"])
    body_bottom = np.minimum(bars["open"], bars["close"])
    return {
        "volume_log_mean": level,
        "volume_abs_z_slope": slope,
        "volume_log_sd": float(np.std(volume_resid, ddof=2)),
        "gap_beta": gap_beta,
        "gap_sd": float(np.std(gap_resid, ddof=1)),
        "wick_up": float(np.mean(np.log(bars["high"] / body_top))),
        "wick_down": float(np.mean(np.log(body_bottom / bars["low"]))),
    }


def _raw_anchor(prices_dir: Path, ticker: str, adjusted: pd.Series) -> tuple[float, str]:
    """The official unadjusted close on ANCHOR_DATE where a file has it, else the adjusted close in cents."""
    day = pd.Timestamp(ANCHOR_DATE)
    for folder in RAW_CLOSE_FOLDERS:
        path = prices_dir / folder / f"{ticker}.csv"
        if path.is_file():
            frame = _read_csv(path, "date" if folder == "ibkr_daily" else "Date", ticker)
            column = "close" if "close" in frame.columns else "Close"
            close = _require_sessions(frame[column], pd.DatetimeIndex([day]), path, ticker, column)
            return round(float(close.iloc[0]), 2), f"{folder} close (official, unadjusted)"
    return round(float(adjusted.loc[day]), 2), "adjclose_only close (no unadjusted close in the reference data)"


def imposed_dates() -> pd.DatetimeIndex:
    """Sessions whose real returns the demo replays: the DeepSeek window and the sessions after NVDA earnings."""
    for day in NVDA_EARNINGS_SESSIONS:
        if not (is_session(day) and DEMO_START <= day <= DEMO_END):
            raise DataValidationError(ORIGIN, "an imposed earnings date is not a demo session", date=day)
    return sessions(*EVENT_WINDOW).union(pd.DatetimeIndex([pd.Timestamp(d) for d in NVDA_EARNINGS_SESSIONS]))


def calibrate(shared_prices_dir: Path) -> dict:
    """Fit every figure of the demo market from the reference prices in ``shared_prices_dir``."""
    prices_dir = Path(shared_prices_dir)
    window = sessions(DEMO_START, DEMO_END)
    events = imposed_dates()
    fit_days = window.difference(events)

    adjusted = {t: _adjusted_closes(prices_dir, t, window) for t in DEMO_UNIVERSE}
    log_returns = {t: np.log(s / s.shift(1)).loc[window] for t, s in adjusted.items()}
    market = log_returns[MARKET_TICKER].loc[fit_days].to_numpy()
    (smh_alpha, smh_beta), semi = _ols(log_returns[SEMI_TICKER].loc[fit_days].to_numpy(), [market])

    tickers: dict[str, dict] = {}
    for ticker in DEMO_UNIVERSE:
        returns = log_returns[ticker]
        ret_sd = float(np.std(returns.loc[fit_days], ddof=1))
        entry: dict = {"ret_sd": ret_sd}
        if ticker not in (MARKET_TICKER, SEMI_TICKER):
            (alpha, beta_market, beta_semi), resid = _ols(returns.loc[fit_days].to_numpy(), [market, semi])
            entry["factor_model"] = {
                "alpha": alpha, "beta_market": beta_market, "beta_semi": beta_semi,
                "idio_vol": float(np.std(resid, ddof=3)), "idio_df": _excess_kurtosis_df(resid),
            }
        found = _bars(prices_dir, ticker, window)
        if found is None:
            entry["bars"] = None
        else:
            folder, bars = found
            entry["bars"] = {"source": folder, "start": str(bars.index[0].date()), "end": str(bars.index[-1].date()),
                             **_bar_figures(bars, returns, ret_sd)}
        entry["anchor_close"], entry["anchor_source"] = _raw_anchor(prices_dir, ticker, adjusted[ticker])
        simple = adjusted[ticker] / adjusted[ticker].shift(1) - 1.0
        entry["imposed_returns"] = {str(d.date()): float(simple.loc[d]) for d in events}
        tickers[ticker] = entry

    stocks_with_bars = [tickers[t]["bars"] for t in DEMO_TICKERS if tickers[t]["bars"] is not None]
    for entry in tickers.values():
        if entry["bars"] is None:
            entry["bars"] = {"source": "imputed: median of the stocks with bars",
                             **{k: float(np.median([b[k] for b in stocks_with_bars])) for k in BAR_FIGURES}}

    return _rounded({
        "description": "Fitted figures of the SIMULATED demo market (daily log returns); not market data.",
        "window": {"start": str(window[0].date()), "end": str(window[-1].date())},
        "fit": {"sessions": len(fit_days), "excluded": "imposed event days", "returns": "log, adjclose_only"},
        "anchor_date": str(pd.Timestamp(ANCHOR_DATE).date()),
        "imposed_dates": [str(d.date()) for d in events],
        "market": {"ticker": MARKET_TICKER, "mean": float(market.mean()), "vol": float(np.std(market, ddof=1)),
                   "df": _excess_kurtosis_df(market)},
        "semi": {"ticker": SEMI_TICKER, "alpha": smh_alpha, "beta_market": smh_beta,
                 "vol": float(np.std(semi, ddof=2)), "df": _excess_kurtosis_df(semi)},
        "tickers": tickers,
    })


def _rounded(value: Any) -> Any:
    """Every float of a nested dict/list rounded with :func:`_figure`."""
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return _figure(float(value))
    return value


def main(argv: list[str] | None = None) -> None:
    """Refit the figures and write them to the calibration JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prices", type=Path, default=DEFAULT_PRICES_DIR, help="reference prices folder")
    parser.add_argument("--out", type=Path, default=CALIBRATION_PATH, help="where to write the JSON")
    args = parser.parse_args(argv)
    figures = calibrate(args.prices)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out} ({len(figures['tickers'])} tickers, {figures['fit']['sessions']} fit sessions)")


if __name__ == "__main__":
    main()
