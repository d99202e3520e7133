"""EventStudy: validate inputs, fit the normal-return model for every firm-event, run every test."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from models.event_study import significance as sig
from models.event_study._inputs import (
    RANK_SPAN_END,
    RETURNS_KINDS,
    SE_CONVENTIONS,
    Layout,
    Windows,
    build_layout,
    check_windows,
)
from models.event_study.estimation import Abnormal, Estimates, Span, abnormal, estimate, gather_span
from models.event_study.frames import (
    aar_frame,
    abnormal_frame,
    aggregate_frame,
    missing_reasons,
    tests_frame,
    windows_frame,
)
from models.event_study.residuals import ResidualStats, residual_stats
from models.event_study.results import EventStudyResults, window_label

DEFAULT_WINDOWS = ((0, 0), (-1, 1), (0, 1), (-5, 5))
DEFAULT_ESTIMATION = (-250, -11)
"""The estimation window in trading days around day 0: a trading year, ending two weeks before the event."""
DEFAULT_MIN_ESTIMATION_OBS = 120
"""Valid estimation returns a firm-event needs to be used (about half a trading year)."""
_ZERO_VARIANCE = 1e-10


class EventStudy:
    """Event study over a wide frame of session returns (statsmodels style: configure, then ``fit()``).

    Parameters
    ----------
    returns : DataFrame indexed by session dates, one column per ticker (benchmarks included), holding
        simple returns (``returns_kind='log'`` for log returns). Tau counts rows of this index.
    events : DataFrame with columns event_id, ticker, day0 and optionally benchmark (per-row override).
    model : "market" (OLS on the benchmark), "market-adjusted" (AR = R - R_m), "constant-mean", or
        "factors" (OLS on the columns of ``factors``, e.g. SPY + SMH or Fama-French).
    benchmark : a column of ``returns`` or a Series of benchmark returns indexed by date.
    estimation_window, event_windows : (start, end) in trading days relative to day0, inclusive.
    min_estimation_obs : firm-events with fewer valid estimation returns are reported, not used.
    se_convention : "exact" (s^2 = SSR/(n-k), forecast-error corrected CAR variance, t(n-k)) or
        "naive" (s^2 = SSR/n, Var(CAR) = L s^2, t(n-1): the convention of the ``eventstudy`` package).
        It affects the firm-level CAR t-tests in ``windows``; the aggregate tests follow their papers.
    n_permutations, permutation_max_n, seed : the sign-flip test's Monte Carlo draws, the N above
        which it uses the normal limit, and the fixed seed.
    rank_span_end : the Corrado test ranks each firm-event's residuals from the estimation window's start
        to this tau (or to a window's own end, if later), whatever windows are requested, so a window's
        rank statistic is the same alone or among others; sessions past the data are not ranked.
    """

    def __init__(
        self,
        returns: pd.DataFrame,
        events: pd.DataFrame,
        *,
        model: str = "market",
        benchmark: str | pd.Series = "SPY",
        factors: pd.DataFrame | None = None,
        estimation_window: tuple[int, int] = DEFAULT_ESTIMATION,
        min_estimation_obs: int = DEFAULT_MIN_ESTIMATION_OBS,
        event_windows: Sequence[tuple[int, int]] = DEFAULT_WINDOWS,
        returns_kind: str = "simple",
        se_convention: str = "exact",
        n_permutations: int = 999,
        permutation_max_n: int = 2000,
        seed: int = 0,
        rank_span_end: int = RANK_SPAN_END,
    ) -> None:
        self.windows = check_windows(estimation_window, event_windows, rank_span_end)
        if returns_kind not in RETURNS_KINDS:
            raise ValueError(f"returns_kind must be one of {RETURNS_KINDS}, got {returns_kind!r}")
        if se_convention not in SE_CONVENTIONS:
            raise ValueError(f"se_convention must be one of {SE_CONVENTIONS}, got {se_convention!r}")
        if n_permutations < 99:
            raise ValueError(f"n_permutations must be at least 99, got {n_permutations}")
        self.layout = build_layout(returns, events, model, benchmark, factors, self.windows)
        k = 0 if model == "market-adjusted" else 1 + self.layout.x.shape[1]
        needed = max(k, 1) + 3
        if not needed <= min_estimation_obs <= self.windows.est_len:
            raise ValueError(
                f"min_estimation_obs must lie in [{needed}, {self.windows.est_len}] "
                f"(the estimation window length), got {min_estimation_obs}"
            )
        self.model = model
        self.benchmark = benchmark if isinstance(benchmark, str) else str(benchmark.name or "benchmark")
        self.min_estimation_obs = int(min_estimation_obs)
        self.returns_kind = returns_kind
        self.se_convention = se_convention
        self.n_permutations = int(n_permutations)
        self.permutation_max_n = int(permutation_max_n)
        self.seed = int(seed)

    def fit(self) -> EventStudyResults:
        """Estimate every firm-event, compute ARs/CARs and run the full test battery."""
        lay, win = self.layout, self.windows
        est = estimate(lay, win, self.model)
        status, reason, candidates = _screen(lay, win, est, self.min_estimation_obs)
        span = gather_span(lay, win, candidates)
        complete = np.isfinite(span.ret).all(axis=1) & np.isfinite(span.x).all(axis=(1, 2))
        missing_reasons(lay, win, candidates[~complete], span, ~complete, status, reason)
        ok = candidates[complete]
        status[ok] = "ok"
        ab = abnormal(est, ok, Span(span.ret[complete], span.x[complete]), win, self.returns_kind, self.se_convention)
        resid = residual_stats(lay, win, est, ok) if ok.size else None
        tests = self._tests(ab, est.df[ok], resid)
        return EventStudyResults(
            estimates=self._estimates_frame(est, status, reason),
            abnormal=abnormal_frame(lay, win, ok, ab),
            windows=windows_frame(lay, win, ok, ab),
            aar=aar_frame(win, ab),
            aggregate=aggregate_frame(win, ab, resid),
            tests=tests_frame(win, tests, ab.car.shape[1], resid),
            model=self.model,
            benchmark=self.benchmark,
            event_windows=win,
            min_estimation_obs=self.min_estimation_obs,
            se_convention=self.se_convention,
        )

    def _tests(self, ab: Abnormal, df: np.ndarray, resid: ResidualStats | None) -> list[sig.TestResult]:
        """Every test of ``significance.REGISTRY``, in its order."""
        if ab.car.shape[1] == 0 or resid is None:
            return sig.no_data(len(self.windows.events))
        inputs = sig.TestInputs(
            car=ab.car,
            scar=ab.scar,
            df=df,
            windows=tuple(self.windows.events),
            span_start=self.windows.span[0],
            resid=resid,
            n_permutations=self.n_permutations,
            seed=self.seed,
            permutation_max_n=self.permutation_max_n,
        )
        return sig.run_tests(inputs)

    def _estimates_frame(self, est: Estimates, status: np.ndarray, reason: np.ndarray) -> pd.DataFrame:
        lay = self.layout
        fitted = (status == "ok") | (status == "missing_event_returns")
        frame = lay.events.copy()
        frame["status"] = status
        frame["reason"] = reason
        frame["n_est"] = pd.Series(est.n, dtype="Int64").where(lay.pos >= 0, pd.NA)
        frame["df"] = np.where(fitted, est.df, np.nan)
        theta = np.where(fitted[:, None], est.theta, np.nan)
        frame["alpha"] = theta[:, 0]
        names = ["beta"] if lay.regressors == ("benchmark",) else [f"beta_{r}" for r in lay.regressors]
        for j, name in enumerate(names):
            frame[name] = theta[:, 1 + j]
        frame["sigma_e"] = np.sqrt(np.where(fitted, est.s2, np.nan))
        frame["r2"] = np.where(fitted, est.r2, np.nan)
        if self.model in ("constant-mean", "factors"):
            frame["benchmark"] = None
        return frame


def _screen(lay: Layout, win: Windows, est: Estimates, min_obs: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Status and reason per firm-event before the event-window check; rows that pass it."""
    rows = len(lay.pos)
    status = np.full(rows, "", dtype=object)
    reason = np.full(rows, "", dtype=object)
    day0 = lay.events["day0"]
    last = lay.y.shape[1] - 1
    live = lay.pos >= 0
    inside = live & (lay.pos + win.span[0] >= 0) & (lay.pos + win.span[1] <= last)
    enough = est.n >= min_obs
    zero = ~(est.ssr > _ZERO_VARIANCE * est.tss)
    span_txt = window_label(*win.span)
    checks = [
        (~live, "day0_not_in_data", lambda i: f"day0 {day0[i].date()} is not a session of the returns index"),
        (
            ~inside,
            "event_window_outside_data",
            lambda i: f"event span {span_txt} around {day0[i].date()} is not inside the returns data",
        ),
        (
            ~enough,
            "insufficient_history",
            lambda i: (
                f"{est.n[i]} valid returns in estimation window [{win.estimation[0]},{win.estimation[1]}] "
                f"< min_estimation_obs {min_obs}"
            ),
        ),
        (est.singular, "singular_design", lambda i: "regressors are constant (collinear) over the estimation window"),
        (
            zero,
            "zero_residual_variance",
            lambda i: "the model fits the estimation window exactly (ticker = benchmark?)",
        ),
    ]
    open_ = np.ones(rows, dtype=bool)
    for failed, code, text in checks:
        hit = np.flatnonzero(open_ & failed)
        status[hit] = code
        reason[hit] = [text(i) for i in hit]
        open_[hit] = False
    return status, reason, np.flatnonzero(open_)
