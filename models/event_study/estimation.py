"""Normal-return models for every firm-event at once: prefix-sum OLS, abnormal returns, window CARs.

One cumulative sum per series over the sessions turns each firm-event's estimation-window cross
products (Z'Z, Z'y, y'y) into two lookups, so the cost does not grow with the window length.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy import special

from models.event_study._inputs import Layout, Windows

_SINGULAR = 1e-12


@dataclass(frozen=True)
class Estimates:
    """Per firm-event model fit; rows follow the events frame. ``ainv`` is (Z'Z)^-1 (k x k)."""

    n: np.ndarray
    theta: np.ndarray
    ainv: np.ndarray
    ssr: np.ndarray
    df: np.ndarray
    r2: np.ndarray
    singular: np.ndarray
    tss: np.ndarray

    @property
    def s2(self) -> np.ndarray:
        """Residual variance SSR / df (df = n - k; n - 1 for the market-adjusted model)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.ssr / self.df


def _pairs(k: int) -> list[tuple[int, int]]:
    return [(a, b) for a in range(k) for b in range(a, k)]


def _prefix(layout: Layout, model: str) -> np.ndarray:
    """Cumulative sums over sessions of the cross products each series needs: (m, S, T + 1)."""
    xg = layout.x[layout.series_group]
    y = layout.y
    valid = np.isfinite(y) & np.isfinite(xg).all(axis=1)
    if model == "market-adjusted":
        e = np.where(valid, y - xg[:, 0, :], 0.0)
        feats = [valid.astype(np.float64), e, e * e]
    else:
        z = [valid.astype(np.float64)] + [np.where(valid, xg[:, j, :], 0.0) for j in range(xg.shape[1])]
        y0 = np.where(valid, y, 0.0)
        feats = [z[a] * z[b] for a, b in _pairs(len(z))] + [za * y0 for za in z] + [y0 * y0]
    out = np.zeros((len(feats), y.shape[0], y.shape[1] + 1))
    for col, feat in enumerate(feats):
        np.cumsum(feat, axis=1, out=out[col, :, 1:])
    return out


def _inverse(xtx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Batched (Z'Z)^-1 (closed form for k <= 2) and a flag for singular designs."""
    k = xtx.shape[-1]
    diag = np.einsum("nii->ni", xtx)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.sqrt(diag[:, :, None] * diag[:, None, :])
        scaled = np.where(scale > 0, xtx / scale, 0.0)
    if k == 1:
        singular = diag[:, 0] <= 0
        safe = np.where(singular, 1.0, xtx[:, 0, 0])
        return (1.0 / safe)[:, None, None], singular
    if k == 2:
        singular = (1.0 - scaled[:, 0, 1] ** 2 < _SINGULAR) | (diag <= 0).any(axis=1)
        a, b, d = xtx[:, 0, 0], xtx[:, 0, 1], xtx[:, 1, 1]
        det = np.where(singular, 1.0, a * d - b * b)
        inv = np.stack([np.stack([d, -b], -1), np.stack([-b, a], -1)], -2) / det[:, None, None]
        return inv, singular
    singular = (np.linalg.det(scaled) < _SINGULAR) | (diag <= 0).any(axis=1)
    safe = np.where(singular[:, None, None], np.eye(k), xtx)
    return np.linalg.inv(safe), singular


def estimate(layout: Layout, windows: Windows, model: str) -> Estimates:
    """Fit the normal-return model over each firm-event's estimation window (missing days skipped)."""
    prefix = _prefix(layout, model)
    n_days = layout.y.shape[1]
    live = layout.pos >= 0
    lo = np.where(live, np.clip(layout.pos + windows.estimation[0], 0, n_days), 0)
    hi = np.where(live, np.clip(layout.pos + windows.estimation[1] + 1, 0, n_days), 0)
    sums = (prefix[:, layout.series, hi] - prefix[:, layout.series, lo]).T
    n = np.rint(sums[:, 0]).astype(np.int64)
    rows = len(n)
    if model == "market-adjusted":
        with np.errstate(divide="ignore", invalid="ignore"):
            ssr = sums[:, 2] - np.where(n > 0, sums[:, 1] ** 2 / n, 0.0)
        theta = np.tile([0.0, 1.0], (rows, 1))
        return Estimates(n, theta, np.zeros((rows, 0, 0)), ssr, n - 1.0, np.full(rows, np.nan), n < 2, sums[:, 2])
    k = 1 + layout.x.shape[1]
    xtx = np.empty((rows, k, k))
    for col, (a, b) in enumerate(_pairs(k)):
        xtx[:, a, b] = xtx[:, b, a] = sums[:, col]
    m = len(_pairs(k))
    xty, yty = sums[:, m : m + k], sums[:, -1]
    ainv, singular = _inverse(xtx)
    theta = np.einsum("nij,nj->ni", ainv, xty)
    ssr = yty - np.einsum("ni,ni->n", xty, theta)
    with np.errstate(divide="ignore", invalid="ignore"):
        tss = yty - xty[:, 0] ** 2 / n
        r2 = 1.0 - ssr / tss if k > 1 else np.full(rows, np.nan)
    theta[singular] = np.nan
    return Estimates(n, theta, ainv, ssr, n - float(k), r2, singular, tss)


def _windows_view(values: np.ndarray, width: int) -> np.ndarray:
    return sliding_window_view(values, width, axis=-1)


@dataclass(frozen=True)
class Span:
    """Returns over the abnormal-return span for a set of firm-events: (rows, span_len[, J])."""

    ret: np.ndarray
    x: np.ndarray


def gather_span(layout: Layout, windows: Windows, rows: np.ndarray) -> Span:
    """Firm and regressor returns over the span [min window start, max window end] of each row."""
    width = windows.span_len
    if len(rows) == 0:  # nothing to gather; and a series shorter than the span has no window view at all
        return Span(np.empty((0, width)), np.empty((0, width, layout.x.shape[1])))
    start = layout.pos[rows] + windows.span[0]
    ret = _windows_view(layout.y, width)[layout.series[rows], start]
    x = np.empty((len(rows), width, layout.x.shape[1]))
    for j in range(layout.x.shape[1]):
        x[:, :, j] = _windows_view(layout.x[:, j, :], width)[layout.group[rows], start]
    return Span(ret, x)


@dataclass(frozen=True)
class Abnormal:
    """Per estimated firm-event: ret/expected/ar/sar are (rows, days of the span); car, bhar, car_sd,
    car_t, car_p, car_df and scar are (windows, rows)."""

    ret: np.ndarray
    expected: np.ndarray
    ar: np.ndarray
    sar: np.ndarray
    car: np.ndarray
    bhar: np.ndarray
    car_sd: np.ndarray
    car_t: np.ndarray
    car_p: np.ndarray
    car_df: np.ndarray
    scar: np.ndarray


def _quadratic(z: list[np.ndarray], ainv: np.ndarray) -> np.ndarray:
    """z' A z for design columns z[a] of shape (days, rows) and symmetric A (rows, k, k)."""
    out = np.zeros(z[0].shape) if z else np.zeros(0)
    for a in range(len(z)):
        out += ainv[:, a, a] * z[a] * z[a]
        for b in range(a + 1, len(z)):
            out += 2.0 * ainv[:, a, b] * z[a] * z[b]
    return out


def _compound(values: np.ndarray, returns_kind: str) -> np.ndarray:
    """Buy-and-hold return over the days (axis 0): prod(1 + r) - 1 (simple) or exp(sum r) - 1 (log)."""
    if returns_kind == "log":
        return np.expm1(values.sum(axis=0))
    return np.prod(1.0 + values, axis=0) - 1.0


def abnormal(
    est: Estimates, rows: np.ndarray, span: Span, windows: Windows, returns_kind: str, se_convention: str
) -> Abnormal:
    """AR, SAR (forecast-error corrected), window CAR/BHAR and the per-firm CAR t-test for ``rows``.

    Works day-major (days, rows) so every reduction runs across firm-events in one vectorized pass.
    """
    theta, ainv = est.theta[rows], est.ainv[rows]
    s2, df, n = est.s2[rows], est.df[rows], est.n[rows].astype(np.float64)
    ret = np.ascontiguousarray(span.ret.T)
    xs = [np.ascontiguousarray(span.x[:, :, j].T) for j in range(span.x.shape[2])]
    expected = np.repeat(theta[None, :, 0], ret.shape[0], axis=0)
    for j, x in enumerate(xs):
        expected += theta[:, 1 + j] * x
    ar = ret - expected
    k = ainv.shape[-1]
    z = ([np.ones_like(ret)] + xs)[:k]
    sar = ar / np.sqrt(s2 * (1.0 + _quadratic(z, ainv))) if k else ar / np.sqrt(s2)
    d0 = windows.span[0]
    shape = (len(windows.events), len(rows))
    car, bhar, var_exact = np.empty(shape), np.empty(shape), np.empty(shape)
    for w, (start, end) in enumerate(windows.events):
        days = slice(start - d0, end - d0 + 1)
        car[w] = ar[days].sum(axis=0)
        bhar[w] = _compound(ret[days], returns_kind) - _compound(expected[days], returns_kind)
        totals = ([np.full((1, len(rows)), float(end - start + 1))] + [x[days].sum(axis=0, keepdims=True) for x in xs])[:k]
        var_exact[w] = s2 * ((end - start + 1) + (_quadratic(totals, ainv)[0] if k else 0.0))
    scar = car / np.sqrt(var_exact)
    if se_convention == "naive":
        lengths = np.array([e - s + 1 for s, e in windows.events], dtype=np.float64)[:, None]
        car_sd = np.sqrt(lengths * est.ssr[rows] / n)
        car_df = np.broadcast_to(n - 1.0, shape)
    else:
        car_sd = np.sqrt(var_exact)
        car_df = np.broadcast_to(df, shape)
    car_t = car / car_sd
    car_p = 2.0 * special.stdtr(car_df, -np.abs(car_t))
    return Abnormal(ret.T, expected.T, ar.T, sar.T, car, bhar, car_sd, car_t, car_p, car_df, scar)
