"""Build the tidy result frames from the fitted arrays without Python loops over firm-events."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.event_study._inputs import Layout, Windows
from models.event_study.estimation import Abnormal, Span
from models.event_study.residuals import ResidualStats
from models.event_study.results import window_label
from models.event_study.significance import TestResult


def missing_reasons(
    lay: Layout, win: Windows, rows: np.ndarray, span: Span, missing: np.ndarray, status: np.ndarray, reason: np.ndarray
) -> None:
    """Mark firm-events with a gap in the event span, naming the first missing date and series."""
    if rows.size == 0:
        return
    ret, x = span.ret[missing], span.x[missing]
    bad_ret = ~np.isfinite(ret)
    first = np.argmax(bad_ret | ~np.isfinite(x).all(axis=2), axis=1)
    tickers = lay.events["ticker"].to_numpy()[rows]
    bench = lay.events["benchmark"].to_numpy()[rows]
    for i, row in enumerate(rows):
        tau = win.span[0] + int(first[i])
        date = pd.Timestamp(lay.dates[lay.pos[row] + tau]).date()
        who = tickers[i] if bad_ret[i, first[i]] else (bench[i] or "a factor")
        status[row] = "missing_event_returns"
        reason[row] = f"no return for {who} on {date} (tau {tau:+d}) in the event span"


def _keys(lay: Layout, rows: np.ndarray, repeat: int) -> dict[str, np.ndarray]:
    ev = lay.events
    return {
        "event_id": np.repeat(ev["event_id"].to_numpy()[rows], repeat),
        "ticker": np.repeat(ev["ticker"].to_numpy()[rows], repeat),
    }


def abnormal_frame(lay: Layout, win: Windows, rows: np.ndarray, ab: Abnormal) -> pd.DataFrame:
    """One row per firm-event per tau of the span: ret, expected, ar, car (from the span start), sar."""
    taus = np.arange(win.span[0], win.span[1] + 1)
    width = taus.size
    data = _keys(lay, rows, width)
    data["tau"] = np.tile(taus, rows.size)
    data["date"] = lay.dates[(lay.pos[rows][:, None] + taus[None, :]).ravel()]
    data["ret"] = ab.ret.ravel()
    data["expected"] = ab.expected.ravel()
    data["ar"] = ab.ar.ravel()
    data["car"] = np.cumsum(ab.ar, axis=1).ravel()
    data["sar"] = ab.sar.ravel()
    return pd.DataFrame(data, copy=False)


def windows_frame(lay: Layout, win: Windows, rows: np.ndarray, ab: Abnormal) -> pd.DataFrame:
    """One row per firm-event per window: car, bhar, scar and the firm-level CAR t-test."""
    n_w = len(win.events)
    data = _keys(lay, rows, n_w)
    labels = np.array([window_label(s, e) for s, e in win.events], dtype=object)
    data["window"] = np.tile(labels, rows.size)
    data["start"] = np.tile([s for s, _ in win.events], rows.size)
    data["end"] = np.tile([e for _, e in win.events], rows.size)
    for name in ("car", "bhar", "scar", "car_sd", "car_t", "car_p"):
        data[name] = getattr(ab, name).T.ravel()
    data["df"] = ab.car_df.T.ravel()
    return pd.DataFrame(data, copy=False)


def aar_frame(win: Windows, ab: Abnormal) -> pd.DataFrame:
    """Average abnormal return per tau across firm-events, its cumulation from the span start."""
    n = ab.ar.shape[0]
    aar = ab.ar.mean(axis=0) if n else np.full(win.span_len, np.nan)
    return pd.DataFrame(
        {
            "tau": np.arange(win.span[0], win.span[1] + 1),
            "n": n,
            "aar": aar,
            "caar": np.cumsum(aar),
            "sd_ar": ab.ar.std(axis=0, ddof=1) if n > 1 else np.nan,
            "asar": ab.sar.mean(axis=0) if n else np.nan,
        }
    )


def aggregate_frame(win: Windows, ab: Abnormal, resid: ResidualStats | None) -> pd.DataFrame:
    """One row per window: CAAR, median CAR, mean BHAR, mean SCAR, share positive, clustering."""
    n = ab.car.shape[1]
    empty = np.full(len(win.events), np.nan)
    return pd.DataFrame(
        {
            "window": [window_label(s, e) for s, e in win.events],
            "start": [s for s, _ in win.events],
            "end": [e for _, e in win.events],
            "n": n,
            "caar": ab.car.mean(axis=1) if n else empty,
            "median_car": np.median(ab.car, axis=1) if n else empty,
            "sd_car": ab.car.std(axis=1, ddof=1) if n > 1 else empty,
            "abhar": ab.bhar.mean(axis=1) if n else empty,
            "ascar": ab.scar.mean(axis=1) if n else empty,
            "share_positive": (ab.car > 0).mean(axis=1) if n else empty,
            "rbar": resid.rbar if resid else np.nan,
            "clustered": resid.clustered if resid else False,
        }
    )


def tests_frame(win: Windows, tests: list[TestResult], n: int, resid: ResidualStats | None) -> pd.DataFrame:
    """One row per window per test: statistic, p-value, df, N, method and the clustering flags."""
    n_w = len(win.events)
    labels = [window_label(s, e) for s, e in win.events]
    frame = pd.DataFrame(
        {
            "window": np.tile(labels, len(tests)),
            "start": np.tile([s for s, _ in win.events], len(tests)),
            "end": np.tile([e for _, e in win.events], len(tests)),
            "test": np.repeat([t.name for t in tests], n_w),
            "statistic": np.concatenate([t.statistic for t in tests]) if tests else [],
            "p_value": np.concatenate([t.p_value for t in tests]) if tests else [],
            "df": np.concatenate([t.df for t in tests]) if tests else [],
            "n": n,
            "method": [m for t in tests for m in t.methods()],
            "clustered": resid.clustered if resid else False,
            "adjusts_cross_correlation": np.repeat([t.adjusts_cross_correlation for t in tests], n_w),
        }
    )
    order = {label: i for i, label in enumerate(labels)}
    return frame.sort_values("window", key=lambda s: s.map(order), kind="stable").reset_index(drop=True)
