"""Validate event-study inputs and lay them out as position-indexed arrays (series x sessions)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

MODELS = ("market", "market-adjusted", "constant-mean", "factors")
RANK_SPAN_END = 10
"""Last tau of the Corrado rank span by default: ranks cover the estimation window's start to here."""
RETURNS_KINDS = ("simple", "log")
SE_CONVENTIONS = ("exact", "naive")


@dataclass(frozen=True)
class Windows:
    """Estimation window, event windows (trading days relative to day0) and the Corrado rank span's end."""

    estimation: tuple[int, int]
    events: tuple[tuple[int, int], ...]
    rank_end: int = RANK_SPAN_END

    @property
    def span(self) -> tuple[int, int]:
        """First and last tau covered by any event window (the abnormal-return span)."""
        return min(s for s, _ in self.events), max(e for _, e in self.events)

    @property
    def est_len(self) -> int:
        return self.estimation[1] - self.estimation[0] + 1

    @property
    def span_len(self) -> int:
        return self.span[1] - self.span[0] + 1

    def rank_last(self, end: int) -> int:
        """Last tau ranked for a window ending at ``end``: the fixed rank end, or the window's end if later.

        It depends on the window alone, so a window's Corrado statistic is the same whatever other windows
        are requested."""
        return max(self.rank_end, end)

    @property
    def rank_ends(self) -> tuple[int, ...]:
        """The distinct rank-span ends the event windows need, ascending."""
        return tuple(sorted({self.rank_last(e) for _, e in self.events}))

    @property
    def block_len(self) -> int:
        """Sessions from the estimation start to the last ranked tau (what the residual tests read)."""
        return self.rank_ends[-1] - self.estimation[0] + 1


def _int_pair(value: object, field: str) -> tuple[int, int]:
    if not isinstance(value, Sequence) or isinstance(value, str) or len(value) != 2:
        raise ValueError(f"{field} must be a (start, end) pair of integers, got {value!r}")
    start, end = value
    if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in (start, end)):
        raise ValueError(f"{field} must hold integers (trading days relative to day0), got {value!r}")
    if start > end:
        raise ValueError(f"{field} starts after it ends: {value!r}")
    return int(start), int(end)


def check_windows(estimation_window: object, event_windows: object, rank_span_end: object = RANK_SPAN_END) -> Windows:
    """Validate the windows: integer pairs, non-empty, estimation strictly before every event window, and
    the rank span's end an integer after the estimation window."""
    estimation = _int_pair(estimation_window, "estimation_window")
    if isinstance(event_windows, (str, bytes)) or not isinstance(event_windows, Sequence) or not event_windows:
        raise ValueError(f"event_windows must be a non-empty list of (start, end) pairs, got {event_windows!r}")
    events = tuple(_int_pair(w, f"event_windows[{i}]") for i, w in enumerate(event_windows))
    if len(set(events)) != len(events):
        raise ValueError(f"event_windows has duplicates: {list(events)}")
    first = min(s for s, _ in events)
    if estimation[1] >= first:
        raise ValueError(
            f"estimation_window {estimation} must end before the earliest event window starts (tau={first})"
        )
    if not isinstance(rank_span_end, (int, np.integer)) or isinstance(rank_span_end, bool):
        raise ValueError(f"rank_span_end must be an integer (a tau), got {rank_span_end!r}")
    if rank_span_end <= estimation[1]:
        raise ValueError(f"rank_span_end {rank_span_end} must lie after the estimation window {estimation}")
    return Windows(estimation, events, int(rank_span_end))


@dataclass(frozen=True)
class Layout:
    """Firm-event rows mapped onto a (series x session) panel of returns and regressors.

    A series is one (ticker, regressor group) pair; a group is one benchmark (market models), the
    factor set ("factors") or nothing ("constant-mean"). ``x`` is (groups, regressors, sessions).
    """

    dates: np.ndarray
    y: np.ndarray
    x: np.ndarray
    regressors: tuple[str, ...]
    series_group: np.ndarray
    series: np.ndarray
    group: np.ndarray
    pos: np.ndarray
    events: pd.DataFrame


def _sessions(index: pd.Index, field: str) -> pd.DatetimeIndex:
    try:
        idx = pd.DatetimeIndex(index)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{field} must be indexed by session dates: {exc}") from exc
    if idx.tz is not None:
        idx = idx.tz_convert("America/New_York").tz_localize(None)
    idx = idx.normalize()
    if idx.hasnans:
        raise ValueError(f"{field} index has missing dates")
    if not idx.is_unique:
        raise ValueError(f"{field} index has duplicate dates, e.g. {idx[idx.duplicated()][0].date()}")
    if not idx.is_monotonic_increasing:
        raise ValueError(f"{field} index must be sorted by date")
    return idx


def _numeric(frame: pd.DataFrame, field: str) -> np.ndarray:
    bad = [c for c, dtype in frame.dtypes.items() if not pd.api.types.is_numeric_dtype(dtype)]
    if bad:
        raise ValueError(f"{field} column {bad[0]!r} is not numeric")
    values = frame.to_numpy(dtype=np.float64, na_value=np.nan)
    if np.isinf(values).any():
        col = frame.columns[np.isinf(values).any(axis=0)][0]
        raise ValueError(f"{field} column {col!r} holds an infinite value")
    return values


def _check_events(events: pd.DataFrame, columns: pd.Index) -> pd.DataFrame:
    if not isinstance(events, pd.DataFrame):
        raise ValueError("events must be a DataFrame with columns event_id, ticker, day0 [, benchmark]")
    missing = [c for c in ("event_id", "ticker", "day0") if c not in events.columns]
    if missing:
        raise ValueError(f"events lacks column(s) {missing}")
    if events.empty:
        raise ValueError("events is empty")
    out = events.reset_index(drop=True)
    if out["event_id"].isna().any() or out["ticker"].isna().any():
        raise ValueError("events has a missing event_id or ticker")
    try:
        raw = out["day0"]
        day0 = pd.DatetimeIndex(raw if pd.api.types.is_datetime64_any_dtype(raw) else pd.to_datetime(raw))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"events.day0 is not a date: {exc}") from exc
    if day0.hasnans:
        raise ValueError(f"event {out.loc[day0.isna(), 'event_id'].iloc[0]!r} has no day0")
    if day0.tz is not None:
        day0 = day0.tz_convert("America/New_York").tz_localize(None)
    out["day0"] = day0.normalize()
    unknown = ~out["ticker"].isin(columns)
    if unknown.any():
        row = out[unknown].iloc[0]
        raise ValueError(f"unknown ticker {row['ticker']!r} (event {row['event_id']!r}): not a column of returns")
    dup = out.duplicated(["event_id", "ticker"])
    if dup.any():
        row = out[dup].iloc[0]
        raise ValueError(f"duplicate firm-event: event {row['event_id']!r}, ticker {row['ticker']!r}")
    return out


def _regressor_groups(
    model: str,
    events: pd.DataFrame,
    returns: pd.DataFrame,
    idx: pd.DatetimeIndex,
    benchmark: str | pd.Series,
    factors: pd.DataFrame | None,
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...], np.ndarray]:
    """Per-row benchmark label, group index per row, regressor names and x (groups, J, sessions)."""
    n_rows, n_days = len(events), len(idx)
    if model == "constant-mean":
        return np.full(n_rows, None, dtype=object), np.zeros(n_rows, np.intp), (), np.empty((1, 0, n_days))
    if model == "factors":
        if not isinstance(factors, pd.DataFrame) or factors.shape[1] == 0:
            raise ValueError("model='factors' needs factors: a DataFrame of factor returns indexed by date")
        fidx = _sessions(factors.index, "factors")
        if not fidx.isin(idx).any():
            raise ValueError("factors share no date with returns")
        values = _numeric(factors, "factors")
        aligned = pd.DataFrame(values, index=fidx, columns=[str(c) for c in factors.columns]).reindex(idx)
        x = aligned.to_numpy().T[None, :, :]
        return np.full(n_rows, None, dtype=object), np.zeros(n_rows, np.intp), tuple(aligned.columns), x
    if isinstance(benchmark, pd.Series):
        default = str(benchmark.name) if benchmark.name is not None else "benchmark"
        bidx = _sessions(benchmark.index, "benchmark")
        series = {default: pd.Series(_numeric(benchmark.to_frame(), "benchmark")[:, 0], index=bidx).reindex(idx)}
    elif isinstance(benchmark, str):
        default, series = benchmark, {}
    else:
        raise ValueError(f"benchmark must be a returns column name or a Series, got {type(benchmark).__name__}")
    labels = events["benchmark"] if "benchmark" in events.columns else pd.Series(None, index=events.index)
    labels = labels.where(labels.notna(), default).astype(str)
    for label in pd.unique(labels):
        if label in series:
            continue
        if label not in returns.columns:
            event = events.loc[labels == label, "event_id"].iloc[0]
            raise ValueError(f"benchmark {label!r} (event {event!r}) is not a column of returns")
        series[label] = returns[label]
    codes, uniques = pd.factorize(labels)
    x = np.stack([_numeric(series[u].to_frame(), "benchmark")[:, 0] for u in uniques])[:, None, :]
    return labels.to_numpy(dtype=object), codes.astype(np.intp), ("benchmark",), x


def build_layout(
    returns: pd.DataFrame,
    events: pd.DataFrame,
    model: str,
    benchmark: str | pd.Series,
    factors: pd.DataFrame | None,
    windows: Windows,
) -> Layout:
    """Validate returns/events and map every firm-event to its series and day0 position."""
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; use one of {MODELS}")
    if not isinstance(returns, pd.DataFrame) or returns.empty:
        raise ValueError("returns must be a non-empty DataFrame (index: sessions, columns: tickers)")
    if not returns.columns.is_unique:
        raise ValueError(f"returns has duplicate columns, e.g. {returns.columns[returns.columns.duplicated()][0]!r}")
    idx = _sessions(returns.index, "returns")
    ev = _check_events(events, returns.columns)
    labels, group, regressors, x = _regressor_groups(model, ev, returns, idx, benchmark, factors)
    ev["benchmark"] = labels
    pos = idx.get_indexer(pd.DatetimeIndex(ev["day0"]))
    column = returns.columns.get_indexer(ev["ticker"])
    pairs, series = np.unique(column * x.shape[0] + group, return_inverse=True)
    series_ticker = returns.columns[pairs // x.shape[0]]
    series_group = (pairs % x.shape[0]).astype(np.intp)
    live = pos >= 0
    lo = max(0, int((pos[live] + windows.estimation[0]).min())) if live.any() else 0
    hi = min(len(idx) - 1, int((pos[live] + windows.rank_ends[-1]).max())) if live.any() else len(idx) - 1
    lo = min(lo, hi)
    sub = returns.iloc[lo : hi + 1]
    y = np.ascontiguousarray(_numeric(sub[list(series_ticker)], "returns").T)
    pos = np.where(live, pos - lo, -1)
    return Layout(
        dates=idx.to_numpy()[lo : hi + 1],
        y=y,
        x=np.ascontiguousarray(x[:, :, lo : hi + 1]),
        regressors=regressors,
        series_group=series_group,
        series=series.astype(np.intp),
        group=group,
        pos=pos.astype(np.intp),
        events=ev[["event_id", "ticker", "day0", "benchmark"]],
    )
