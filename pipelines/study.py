"""Glue between the warehouse and models.event_study: returns in, tidy result tables out.

Used by the Dagster assets (which write the mart tables) and by `impact study` (which prints, re-fitting
only what the marts do not hold: ``refit_reason``).
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import duckdb
import numpy as np
import pandas as pd

from models.event_study import EventStudy, EventStudyResults, significance
from models.event_study.results import window_label
from pipelines.errors import InputError
from pipelines.universe import BENCHMARKS, MARKET
from pipelines.warehouse import read

if TYPE_CHECKING:
    from pipelines.warehouse.read import StoredStudy

DEFAULT_WINDOWS: tuple[tuple[int, int], ...] = ((0, 0), (-1, 1), (0, 1), (-5, 5))
DETECTION_THRESHOLD = 4.0
"""|SAR| on a session above which a stock's move is recorded as a detected event."""
FACTORS = ("SPY", "SMH")
"""Factor columns for ``model="factors"``: the market and the semiconductor ETF."""


def load_returns(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Simple daily returns from adjusted closes, one column per ticker, indexed by session (``read.returns``)."""
    wide = read.returns(con)
    if wide.empty:
        raise ValueError("core.prices is empty: ingest prices first (impact demo / impact ingest)")
    return wide


def stocks_of(returns: pd.DataFrame) -> list[str]:
    """The tickers of ``returns`` that are stocks, not benchmarks."""
    return [t for t in returns.columns if t not in BENCHMARKS]


SAMPLES = ("event", "spillover")
"""The samples of a stored study: the event's own tickers, and the other stocks (reported apart)."""


def study_pairs(events: pd.DataFrame, stocks: Sequence[str]) -> pd.DataFrame:
    """Firm-events to study, each in its sample: an event's own tickers are its 'event' sample; for curated events
    every other stock is a 'spillover' (studied apart, never mixed into the event's group tests)."""
    rows: list[tuple[str, str, str, pd.Timestamp]] = []
    for event in events.itertuples():
        own = [t for t in event.tickers if t in stocks]
        others = [t for t in stocks if t not in own] if event.origin == "curated" else []
        day0 = pd.Timestamp(event.day0)
        rows.extend((event.event_id, ticker, "event", day0) for ticker in own)
        rows.extend((event.event_id, ticker, "spillover", day0) for ticker in others)
    return pd.DataFrame(rows, columns=["event_id", "ticker", "sample", "day0"])


@dataclass
class StudyTables:
    """The mart tables of one set of event studies, each with an event_id column."""

    estimates: pd.DataFrame
    abnormal: pd.DataFrame
    windows: pd.DataFrame
    aggregates: pd.DataFrame
    tests: pd.DataFrame


def _model_options(model: str, benchmark: str, returns: pd.DataFrame) -> dict[str, Any]:
    if model == "factors":
        missing = [f for f in FACTORS if f not in returns.columns]
        if missing:
            raise ValueError(f"the factor model needs {', '.join(missing)} in core.prices")
        return {"model": "factors", "factors": returns[list(FACTORS)]}
    return {"model": model, "benchmark": benchmark}


def fit_event(
    returns: pd.DataFrame,
    pairs: pd.DataFrame,
    *,
    model: str = "market",
    benchmark: str = MARKET,
    windows: Sequence[tuple[int, int]] = DEFAULT_WINDOWS,
) -> EventStudyResults:
    """One event study over ``pairs`` (its firms share the event, so the group tests are per event)."""
    return EventStudy(returns, pairs, event_windows=list(windows), **_model_options(model, benchmark, returns)).fit()


def run_event_studies(
    returns: pd.DataFrame,
    pairs: pd.DataFrame,
    *,
    model: str = "market",
    benchmark: str = MARKET,
    windows: Sequence[tuple[int, int]] = DEFAULT_WINDOWS,
) -> StudyTables:
    """One study per event and sample (``pairs`` without a ``sample`` column: one 'event' sample), stacked into
    tidy tables that carry the sample."""
    parts: dict[str, list[pd.DataFrame]] = {k: [] for k in ("estimates", "abnormal", "windows", "aggregates", "tests")}
    if "sample" not in pairs:
        pairs = pairs.assign(sample="event")
    for (event_id, sample), group in pairs.groupby(["event_id", "sample"], sort=True):
        result = fit_event(returns, group.drop(columns="sample"), model=model, benchmark=benchmark, windows=windows)
        parts["estimates"].append(result.estimates.assign(model=model, sample=sample))
        parts["abnormal"].append(result.abnormal)
        parts["windows"].append(result.windows)
        parts["aggregates"].append(result.aggregate.assign(event_id=event_id, sample=sample))
        parts["tests"].append(result.tests.assign(event_id=event_id, sample=sample))
    return StudyTables(**{k: pd.concat(v, ignore_index=True) if v else pd.DataFrame() for k, v in parts.items()})


def refit_reason(
    stored: StoredStudy | None,
    model: str,
    benchmark: str,
    windows: Sequence[tuple[int, int]],
    prices_at: pd.Timestamp | None,
) -> str | None:
    """Why a study of an event must be re-fitted from prices rather than read from the marts (None: the stored
    study answers it): no stored study, another model or benchmark, windows it lacks, or prices newer than it."""
    if stored is None or stored.model is None:
        return "the warehouse holds no stored study of this event (`impact analyze` stores one)"
    if model != stored.model:
        return f"model {model} differs from the stored study's {stored.model}"
    if model in ("market", "market-adjusted") and stored.benchmark is not None and benchmark != stored.benchmark:
        return f"benchmark {benchmark} differs from the stored study's {stored.benchmark}"
    missing = [window_label(*w) for w in windows if tuple(w) not in stored.bounds]
    if missing:
        held = ", ".join(window_label(*w) for w in stored.bounds)
        return f"windows differ from the stored study ({', '.join(missing)} not among {held})"
    if prices_at is not None and stored.computed_at is not None and prices_at > stored.computed_at:
        return "prices were ingested after the stored study (`impact analyze` updates it)"
    return None


def daily_abnormal_returns(returns: pd.DataFrame, benchmark: str = MARKET) -> pd.DataFrame:
    """Market-model AR and SAR of every stock on every session with a full estimation window."""
    stocks = stocks_of(returns)
    days = returns.index
    day0 = np.tile(days, len(stocks))
    pairs = pd.DataFrame(
        {"event_id": pd.DatetimeIndex(day0).strftime("%Y-%m-%d"), "ticker": np.repeat(stocks, len(days)), "day0": day0}
    )
    result = EventStudy(returns, pairs, benchmark=benchmark, event_windows=[(0, 0)], n_permutations=99).fit()
    abnormal = result.abnormal[result.abnormal["tau"] == 0]
    estimates = result.estimates[result.estimates["status"] == "ok"]
    frame = abnormal.merge(
        estimates[["ticker", "day0", "alpha", "beta", "sigma_e", "n_est"]],
        left_on=["ticker", "date"],
        right_on=["ticker", "day0"],
    )
    frame["benchmark"] = benchmark
    return frame[["ticker", "date", "benchmark", "ret", "expected", "ar", "sar", "alpha", "beta", "sigma_e", "n_est"]]


def detect_events(daily: pd.DataFrame, headlines: pd.DataFrame, threshold: float = DETECTION_THRESHOLD) -> pd.DataFrame:
    """Sessions where a stock's |SAR| exceeds ``threshold``, each linked to that session's headlines on it.

    ``headlines`` has one row per (headline_id, ticker, session_date). The result has the columns of
    core.events (without computed_at).
    """
    hits = daily.loc[daily["sar"].abs() >= threshold].sort_values(["date", "ticker"])
    linked = headlines.groupby(["ticker", "session_date"])["headline_id"].agg(list)
    rows = []
    for hit in hits.itertuples():
        day = pd.Timestamp(hit.date)
        ids = linked.get((hit.ticker, day), [])
        direction = "jump" if hit.ar > 0 else "drop"
        rows.append(
            {
                "event_id": f"detected-{hit.ticker.lower()}-{day:%Y-%m-%d}",
                "name": f"{hit.ticker} abnormal {direction} of {100 * hit.ar:+.1f}% (SAR {hit.sar:+.1f})",
                "kind": "detected",
                "origin": "detected",
                "announced_at": pd.NaT,
                "day0": day,
                "day0_rule": "detected",
                "tickers": [hit.ticker],
                "description": f"{len(ids)} headline(s) about {hit.ticker} that session"
                if ids
                else "no headline that session",
                "trigger_sar": float(hit.sar),
                "headline_ids": sorted(ids),
            }
        )
    columns = [
        "event_id",
        "name",
        "kind",
        "origin",
        "announced_at",
        "day0",
        "day0_rule",
        "tickers",
        "description",
        "trigger_sar",
        "headline_ids",
    ]
    return pd.DataFrame(rows, columns=columns)


def ticker_table(abnormal: pd.DataFrame, windows: pd.DataFrame) -> pd.DataFrame:
    """Per ticker: AR on day0 and, per window, CAR (%) with its t and p; most negative day0 first."""
    day0 = abnormal.loc[abnormal["tau"] == 0].set_index("ticker")["ar"]
    table = pd.DataFrame({"AR(0) %": 100 * day0})
    for label, rows in windows.groupby("window", sort=False):
        rows = rows.set_index("ticker")
        if label != "[0,0]":  # CAR[0,0] is AR(0): show only its t and p
            table[f"CAR{label} %"] = 100 * rows["car"]
        table[f"t{label}"] = rows["car_t"]
        table[f"p{label}"] = rows["car_p"]
    return table.sort_values("AR(0) %").rename_axis("ticker").reset_index()


def tests_table(tests: pd.DataFrame) -> pd.DataFrame:
    """The group tests in reading order (windows as they come, tests in the order of the significance
    registry), marking those robust to same-day cross-correlation."""
    window_rank = {w: i for i, w in enumerate(dict.fromkeys(tests["window"]))}
    ranked = tests.assign(_window=tests["window"].map(window_rank), _test=tests["test"].map(significance.order))
    table = ranked.sort_values(["_window", "_test"], kind="stable")
    table = table[["window", "test", "statistic", "p_value", "n", "adjusts_cross_correlation"]]
    return table.rename(columns={"adjusts_cross_correlation": "robust_to_clustering"}).reset_index(drop=True)


# --------------------------------------------------------------------------------------------- validation


def estimation_window() -> tuple[int, int]:
    """The estimation window `impact study` fits on: EventStudy's default."""
    return inspect.signature(EventStudy).parameters["estimation_window"].default


def check_windows(windows: Sequence[tuple[int, int]]) -> None:
    """Refuse an event window that reaches into the estimation window, naming the ``--window`` at fault."""
    lo, hi = estimation_window()
    for start, end in windows:
        if start <= hi:
            raise InputError(
                f"--window {start},{end} starts at {start}, inside the estimation window "
                f"{window_label(lo, hi)}: event windows start at {hi + 1} or later"
            )


def check_studied(
    event: str,
    tickers: pd.DataFrame,
    excluded: pd.DataFrame,
    windows: Sequence[tuple[int, int]],
    prices: tuple[object, object],
) -> None:
    """Refuse a study in which no firm could be studied (windows beyond the data, too little history)."""
    if len(tickers):
        return
    reasons = "; ".join(
        f"{', '.join(sorted(rows['ticker']))}: {rows['reason'].iloc[0]}"
        for _, rows in excluded.groupby("status", sort=True)
    )
    shown = ", ".join(window_label(*w) for w in windows)
    raise InputError(
        f"no firm of {event} could be studied with windows {shown} ({reasons or 'no stock has prices'}).\n"
        f"The warehouse holds prices {prices[0]}..{prices[1]}: ingest the sessions the windows need, "
        "or choose other --window values."
    )
