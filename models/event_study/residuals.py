"""Statistics over each firm-event's estimation residuals and event ARs, computed in cache-sized chunks.

They feed the tests that need more than the event window: the generalized sign test's expected share
of positive residuals (Cowan 1992), the crude-dependence AAR series (Brown-Warner 1980), the average
residual cross-correlation within same-day0 clusters (Kolari-Pynnoenen 2010; pairwise-complete when a
firm misses days) and the Corrado (1989) ranks over a span fixed by the model options. Chunks run on a
thread pool (numpy releases the GIL) and never split a same-day0 cluster, so the 3-D residual block never
exists in full.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from models.event_study._inputs import Layout, Windows
from models.event_study.estimation import Estimates

_CHUNK_BYTES = 2 << 20
_MIN_COMMON_DAYS = 3
"""A same-day pair of firm-events sharing fewer estimation days than this counts as uncorrelated."""


@dataclass(frozen=True)
class ResidualStats:
    """Sample-level summaries of the residual block (see module docstring).

    ``rank_dev`` maps the last ranked tau of a rank span (``Windows.rank_last``) to the cross-sectional
    mean of the standardized rank deviations U - 1/2 on every session from ``rank_start`` (the estimation
    window's start) to that tau, NaN where no firm-event has a return; ``rank_end`` is the fixed end.
    """

    positive_share: float
    est_aar: np.ndarray
    rbar: float
    rank_start: int
    rank_end: int
    rank_dev: Mapping[int, np.ndarray]
    clustered: bool


@dataclass(frozen=True)
class _Plan:
    ysw: np.ndarray
    xsw: list[np.ndarray]
    series: np.ndarray
    group: np.ndarray
    start: np.ndarray
    theta: np.ndarray
    n: np.ndarray
    cluster: np.ndarray
    windows: Windows
    missing: bool


def _chunk(plan: _Plan, rows: slice) -> tuple:
    w = plan.windows
    est_len = w.est_len
    g, start, theta = plan.group[rows], plan.start[rows], plan.theta[rows]
    resid = plan.ysw[plan.series[rows], start]
    if plan.xsw:
        expected = plan.xsw[0][g, start]
        expected *= theta[:, 1:2]
        expected += theta[:, :1]
        for j in range(1, len(plan.xsw)):
            expected += theta[:, 1 + j : 2 + j] * plan.xsw[j][g, start]
        resid -= expected
    else:
        resid -= theta[:, :1]
    n = plan.n[rows].astype(np.float64)
    est = resid[:, :est_len]
    positive = float((np.count_nonzero(est > 0, axis=1) / n).sum())
    valid = ~np.isnan(est) if plan.missing else None
    filled = est if valid is None else np.where(valid, est, 0.0)
    est_cnt = np.full(est_len, len(n)) if valid is None else valid.sum(axis=0)
    est_sum = filled.sum(axis=0)
    pair_sum = _cluster_pairs(plan.cluster[rows], filled, valid, n)
    ranked = ~np.isnan(resid)
    rank_sums = {}
    for end in w.rank_ends:  # the last (widest) span sorts resid in place, so it goes last
        cols = end - w.estimation[0] + 1
        block = resid if cols == resid.shape[1] else np.ascontiguousarray(resid[:, :cols])
        rank_sums[end] = _rank_sums(block, ranked[:, :cols].sum(axis=1))
    return positive, est_sum, est_cnt, pair_sum, rank_sums, ranked.sum(axis=0)


def _cluster_pairs(ids: np.ndarray, filled: np.ndarray, valid: np.ndarray | None, n: np.ndarray) -> float:
    """Sum over ordered pairs of firm-events in the same same-day0 cluster of their residual correlation.

    Pearson correlation over the estimation days both firm-events have (pairwise-complete). Between
    firm-events with the same days it is the dot product of their centred unit-norm residual vectors,
    summed per cluster (or per set of firm-events with the same days) in one pass; only pairs whose days
    differ take the pairwise route. No BLAS here (einsum, not matmul): these run on worker threads, and a
    threaded BLAS inside them oversubscribes the cores.
    """
    keep = np.flatnonzero(ids >= 0)
    if keep.size == 0:
        return 0.0
    block = filled[keep]
    block -= (block.sum(axis=1) / n[keep])[:, None]
    kid = ids[keep]
    starts = np.concatenate([[0], np.flatnonzero(np.diff(kid)) + 1])
    sizes = np.diff(np.append(starts, kid.size))
    if valid is None:
        uniform = np.ones(starts.size, dtype=bool)
    else:
        days = valid[keep]
        block *= days
        uniform = np.logical_and.reduceat((days == days[np.repeat(starts, sizes)]).all(axis=1), starts)
    norms = np.sqrt(np.einsum("ij,ij->i", block, block))
    unit = block / np.where(norms > 0, norms, np.inf)[:, None]
    total = _same_days_sum(unit[np.repeat(uniform, sizes)], np.repeat(np.arange(uniform.sum()), sizes[uniform]))
    for c in np.flatnonzero(~uniform):
        rows = slice(starts[c], starts[c] + sizes[c])
        total += _mixed_days_sum(block[rows], unit[rows], days[rows])
    return total


def _same_days_sum(unit: np.ndarray, group: np.ndarray) -> float:
    """Sum of the off-diagonal dot products of unit vectors within each group (``group`` sorted)."""
    if group.size == 0:
        return 0.0
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    sums = np.add.reduceat(unit, starts, axis=0)
    return float(np.einsum("ij,ij->", sums, sums) - np.einsum("ij,ij->", unit, unit))


def _mixed_days_sum(resid: np.ndarray, unit: np.ndarray, days: np.ndarray) -> float:
    """Off-diagonal sum of pairwise-complete correlations in a cluster whose firm-events miss different days.

    Firm-events with the same days are grouped (dot products, as in a uniform cluster); pairs across groups
    are correlated over the days both have, computed for the firm-events outside the largest group only.
    """
    packed = np.ascontiguousarray(np.packbits(days, axis=1))  # one opaque key per set of days: a fast unique
    _, group = np.unique(packed.view(np.dtype((np.void, packed.shape[1]))).ravel(), return_inverse=True)
    order = np.argsort(group, kind="stable")
    total = _same_days_sum(unit[order], group[order])
    largest = np.bincount(group).argmax()
    other = np.flatnonzero(group != largest)
    r = _pairwise_correlations(resid[other], days[other], resid, days)
    across = group[other][:, None] != group[None, :]
    with_largest = (group == largest)[None, :]
    # a pair with the largest group appears once in r, so twice as ordered pairs; pairs among the others twice
    return total + 2.0 * float(r[across & with_largest].sum()) + float(r[across & ~with_largest].sum())


def _pairwise_correlations(ra: np.ndarray, da: np.ndarray, rb: np.ndarray, db: np.ndarray) -> np.ndarray:
    """Pearson correlation of each row of ``ra`` with each row of ``rb`` (0 on days a row lacks, ``da``/``db``
    its days), over the days both have; 0 where they share too few days or one does not vary there."""
    have_a, have_b = da.astype(np.float64), db.astype(np.float64)
    common = np.einsum("it,jt->ij", have_a, have_b)
    sum_a = np.einsum("it,jt->ij", ra, have_b)  # [i, j]: sum of a_i over the days b_j also has
    sum_b = np.einsum("it,jt->ij", have_a, rb)
    square_a = np.einsum("it,jt->ij", ra * ra, have_b)
    square_b = np.einsum("it,jt->ij", have_a, rb * rb)
    cross = np.einsum("it,jt->ij", ra, rb)
    safe = np.where(common >= _MIN_COMMON_DAYS, common, np.inf)
    var_a = square_a - sum_a * sum_a / safe
    var_b = square_b - sum_b * sum_b / safe
    usable = (common >= _MIN_COMMON_DAYS) & (var_a > 0) & (var_b > 0)
    out = np.zeros(common.shape)
    out[usable] = (cross - sum_a * sum_b / safe)[usable] / np.sqrt(var_a[usable] * var_b[usable])
    return out


def _rank_sums(resid: np.ndarray, valid_count: np.ndarray) -> np.ndarray:
    """Column sums of standardized ranks K/(M+1) within each row (NaN excluded, ranks 1..M).

    The column index is packed into the low mantissa bits so one SIMD float sort tells where each
    value came from; this only reorders values equal to about 1e-13 relative (ties). Rows are grouped
    by their count M of valid values so the sums come from one unweighted bincount of (M, rank, column).
    """
    rows, width = resid.shape
    bits = max(1, (width - 1).bit_length())
    mask = np.int64((1 << bits) - 1)
    packed = resid.view(np.int64)
    packed &= ~mask
    packed |= np.arange(width, dtype=np.int64)
    resid.sort(axis=1)
    packed &= mask
    counts_m, group = np.unique(valid_count, return_inverse=True)
    packed += (group[:, None] * width + np.arange(width)[None, :]) * width
    hist = np.bincount(packed.ravel(), minlength=counts_m.size * width * width).reshape(counts_m.size, width, width)
    rank = np.arange(1, width + 1, dtype=np.float64)
    weights = np.where(rank[None, :] <= counts_m[:, None], rank[None, :] / (counts_m[:, None] + 1.0), 0.0)
    return np.einsum("mk,mkt->t", weights, hist)


def residual_stats(layout: Layout, windows: Windows, est: Estimates, rows: np.ndarray) -> ResidualStats:
    """Run the chunked residual pass over the estimated firm-events ``rows`` (all with a full span)."""
    order = rows[np.argsort(layout.pos[rows], kind="stable")]
    pos = layout.pos[order]
    first = pos + windows.estimation[0]
    width = windows.block_len
    pad = max(0, -int(first.min()))
    pad_end = max(0, int(first.max()) + width - layout.y.shape[1])  # rank spans may run past the data
    y = np.pad(layout.y, ((0, 0), (pad, pad_end)), constant_values=np.nan)
    x = np.pad(layout.x, ((0, 0), (0, 0), (pad, pad_end)), constant_values=np.nan)
    _, counts = np.unique(pos, return_counts=True)
    multi_id = np.where(counts >= 2, np.cumsum(counts >= 2) - 1, -1)
    n = est.n[order]
    plan = _Plan(
        ysw=sliding_window_view(y, width, axis=1),
        xsw=[sliding_window_view(np.ascontiguousarray(x[:, j, :]), width, axis=1) for j in range(x.shape[1])],
        series=layout.series[order],
        group=layout.group[order],
        start=first + pad,
        theta=est.theta[order],
        n=n,
        cluster=np.repeat(multi_id, counts),
        windows=windows,
        missing=bool((n < windows.est_len).any()),
    )
    chunks = _chunks(pos, max(64, _CHUNK_BYTES // (8 * width)))
    with ThreadPoolExecutor(max_workers=min(len(chunks), os.cpu_count() or 1)) as pool:
        parts = list(pool.map(lambda sl: _chunk(plan, sl), chunks))
    total = len(order)
    positive = sum(p[0] for p in parts) / total
    est_sum = np.sum([p[1] for p in parts], axis=0)
    est_cnt = np.sum([p[2] for p in parts], axis=0)
    rank_cnt = np.sum([p[5] for p in parts], axis=0)
    dev = {}
    with np.errstate(invalid="ignore", divide="ignore"):
        est_aar = np.where(est_cnt > 0, est_sum / est_cnt, np.nan)
        for end in windows.rank_ends:
            cnt = rank_cnt[: end - windows.estimation[0] + 1]
            dev[end] = np.where(cnt > 0, np.sum([p[4][end] for p in parts], axis=0) / cnt - 0.5, np.nan)
    # pairs on different day0s count as uncorrelated
    rbar = float(sum(p[3] for p in parts) / (total * (total - 1.0))) if total >= 2 else 0.0
    clustered = bool((counts >= 2).any())
    return ResidualStats(positive, est_aar, rbar, windows.estimation[0], windows.rank_end, dev, clustered)


def _chunks(pos: np.ndarray, step: int) -> list[slice]:
    """Row ranges of about ``step`` rows (``pos`` sorted) that never split a same-day0 cluster."""
    starts = np.flatnonzero(np.r_[True, pos[1:] != pos[:-1]])
    bounds = [0]
    while bounds[-1] < pos.size:
        i = int(np.searchsorted(starts, bounds[-1] + step))
        bounds.append(int(starts[i]) if i < starts.size else pos.size)
    return [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
