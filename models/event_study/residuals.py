"""Statistics over each firm-event's estimation residuals and event ARs, computed in cache-sized chunks.

They feed the tests that need more than the event window: the generalized sign test's expected share
of positive residuals (Cowan 1992), the crude-dependence AAR series (Brown-Warner 1980), the average
residual cross-correlation within same-day0 clusters (Kolari-Pynnoenen 2010) and the Corrado (1989)
ranks. Chunks run on a thread pool (numpy releases the GIL), so the 3-D residual block never exists
in full.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from models.event_study._inputs import Layout, Windows
from models.event_study.estimation import Estimates

_CHUNK_BYTES = 2 << 20


@dataclass(frozen=True)
class ResidualStats:
    """Sample-level summaries of the residual block (see module docstring)."""

    positive_share: float
    est_aar: np.ndarray
    rbar: float
    rank_dev: np.ndarray
    rank_offset: int
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
    ssr: np.ndarray
    cluster: np.ndarray
    windows: Windows
    missing: bool
    demean: bool


def _chunk(plan: _Plan, rows: slice) -> tuple:
    w = plan.windows
    est_len = w.est_len
    gap = w.span[0] - w.estimation[1] - 1
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
    seg_ids, seg_sums, est_sum = _cluster_sums(plan, rows, filled, valid, n)
    resid[:, est_len : est_len + gap] = np.nan
    rank_sums = _rank_sums(resid, (n + w.span_len).astype(np.int64))
    return positive, est_sum, est_cnt, seg_ids, seg_sums, rank_sums


def _cluster_sums(
    plan: _Plan, rows: slice, filled: np.ndarray, valid: np.ndarray | None, n: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-day residual sums, and sums of unit-norm demeaned residuals per same-day0 cluster (2+ rows).

    No BLAS here: these run on worker threads, and a threaded BLAS inside them oversubscribes the cores.
    """
    total = filled.sum(axis=0)
    ids = plan.cluster[rows]
    keep = np.flatnonzero(ids >= 0)
    if keep.size == 0:
        return np.empty(0, np.intp), np.empty((0, filled.shape[1])), total
    block = filled[keep]
    if plan.demean:
        block -= (block.sum(axis=1) / n[keep])[:, None]
        if valid is not None:
            block *= valid[keep]
        block /= np.sqrt(np.einsum("ij,ij->i", block, block))[:, None]
    else:
        block /= np.sqrt(plan.ssr[rows][keep])[:, None]
    starts = np.concatenate([[0], np.flatnonzero(np.diff(ids[keep])) + 1])
    return ids[keep][starts], np.add.reduceat(block, starts, axis=0), total


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


def residual_stats(layout: Layout, windows: Windows, est: Estimates, rows: np.ndarray, model: str) -> ResidualStats:
    """Run the chunked residual pass over the estimated firm-events ``rows`` (all with a full span)."""
    order = rows[np.argsort(layout.pos[rows], kind="stable")]
    pos = layout.pos[order]
    first = pos + windows.estimation[0]
    pad = max(0, -int(first.min()))
    y = np.concatenate([np.full((layout.y.shape[0], pad), np.nan), layout.y], axis=1)
    x = np.concatenate([np.full(layout.x.shape[:2] + (pad,), np.nan), layout.x], axis=2)
    width = windows.block_len
    _, counts = np.unique(pos, return_counts=True)
    multi_id = np.where(counts >= 2, np.cumsum(counts >= 2) - 1, -1)
    cluster = np.repeat(multi_id, counts)
    n = est.n[order]
    plan = _Plan(
        ysw=sliding_window_view(y, width, axis=1),
        xsw=[sliding_window_view(np.ascontiguousarray(x[:, j, :]), width, axis=1) for j in range(x.shape[1])],
        series=layout.series[order],
        group=layout.group[order],
        start=first + pad,
        theta=est.theta[order],
        n=n,
        ssr=est.ssr[order],
        cluster=cluster,
        windows=windows,
        missing=bool((n < windows.est_len).any()),
        demean=model == "market-adjusted",
    )
    step = max(64, _CHUNK_BYTES // (8 * width))
    chunks = [slice(i, i + step) for i in range(0, len(order), step)]
    with ThreadPoolExecutor(max_workers=min(len(chunks), os.cpu_count() or 1)) as pool:
        parts = list(pool.map(lambda sl: _chunk(plan, sl), chunks))
    total = len(order)
    positive = sum(p[0] for p in parts) / total
    est_sum = np.sum([p[1] for p in parts], axis=0)
    est_cnt = np.sum([p[2] for p in parts], axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        est_aar = np.where(est_cnt > 0, est_sum / est_cnt, np.nan)
    rbar = _rbar(parts, counts, total, windows.est_len)
    rank_sum = np.sum([p[5] for p in parts], axis=0)
    gap = windows.span[0] - windows.estimation[1] - 1
    keep = np.r_[0 : windows.est_len, windows.est_len + gap : width]
    cnt = np.concatenate([est_cnt, np.full(windows.span_len, total)])
    with np.errstate(invalid="ignore", divide="ignore"):
        dev = np.where(cnt > 0, rank_sum[keep] / cnt - 0.5, np.nan)
    return ResidualStats(positive, est_aar, rbar, dev, windows.est_len, bool((counts >= 2).any()))


def _rbar(parts: list[tuple], counts: np.ndarray, total: int, est_len: int) -> float:
    """Average pairwise residual correlation, pairs on different day0s counted as uncorrelated."""
    multi = counts[counts >= 2]
    if multi.size == 0 or total < 2:
        return 0.0
    acc = np.zeros((multi.size, est_len))
    for p in parts:
        np.add.at(acc, p[3], p[4])
    return float(((acc * acc).sum() - multi.sum()) / (total * (total - 1.0)))
