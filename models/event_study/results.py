"""EventStudyResults: tidy frames of a fitted event study, a text summary and CAR regressions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm

from models.event_study import significance as sig
from models.event_study._inputs import Windows


def window_label(start: int, end: int) -> str:
    """'[-1,+1]' style label of an event window."""
    fmt = lambda v: "0" if v == 0 else f"{v:+d}"  # noqa: E731
    return f"[{fmt(start)},{fmt(end)}]"


def _stars(p: float) -> str:
    if not np.isfinite(p):
        return ""
    return "***" if p < 0.01 else "**" if p < 0.05 else "*" if p < 0.1 else ""


@dataclass(frozen=True)
class EventStudyResults:
    """Fitted event study. Frames: ``estimates`` (per firm-event, with status and reason for every row),
    ``abnormal`` (per firm-event per tau), ``windows`` (per firm-event per window), ``aar`` (per tau),
    ``aggregate`` (per window) and ``tests`` (per window per test)."""

    estimates: pd.DataFrame
    abnormal: pd.DataFrame
    windows: pd.DataFrame
    aar: pd.DataFrame
    aggregate: pd.DataFrame
    tests: pd.DataFrame
    model: str
    benchmark: str
    event_windows: Windows
    min_estimation_obs: int
    se_convention: str

    def _window_rows(self, window: tuple[int, int] | str) -> pd.DataFrame:
        label = window if isinstance(window, str) else window_label(*window)
        rows = self.windows[self.windows["window"] == label]
        if rows.empty:
            known = ", ".join(self.aggregate["window"])
            raise ValueError(f"unknown window {window!r}; fitted windows: {known}")
        return rows

    def cross_section(
        self,
        window: tuple[int, int] | str,
        characteristics: pd.DataFrame,
        cov_type: str = "HC1",
        y: str = "car",
    ):
        """OLS of the window's CAR (or ``y``='scar'/'bhar') on firm characteristics with robust SEs.

        ``characteristics`` is keyed by columns event_id and ticker, by ticker alone, or by an index of
        tickers; its other columns are the regressors (a constant is added). Returns statsmodels'
        results (``.params``, ``.bse``, ``.summary()``).
        """
        if cov_type not in ("HC0", "HC1", "HC2", "HC3"):
            raise ValueError(f"cov_type must be one of HC0..HC3, got {cov_type!r}")
        if y not in ("car", "scar", "bhar"):
            raise ValueError(f"y must be 'car', 'scar' or 'bhar', got {y!r}")
        rows = self._window_rows(window)
        chars = characteristics
        if "ticker" not in chars.columns:
            chars = chars.rename_axis("ticker").reset_index()
        keys = ["event_id", "ticker"] if "event_id" in chars.columns else ["ticker"]
        if chars.duplicated(keys).any():
            raise ValueError(f"characteristics has duplicate keys {keys}")
        regressors = [c for c in chars.columns if c not in keys]
        if not regressors:
            raise ValueError("characteristics has no regressor column")
        for col in regressors:
            if not pd.api.types.is_numeric_dtype(chars[col]):
                raise ValueError(f"characteristic {col!r} is not numeric")
        data = rows[["event_id", "ticker", y]].merge(chars, on=keys, how="left", indicator=True)
        lost = data[(data["_merge"] != "both") | data[regressors].isna().any(axis=1)]
        if not lost.empty:
            first = lost.iloc[0]
            raise ValueError(
                f"no characteristics for {len(lost)} firm-event(s), e.g. event {first['event_id']!r} ticker {first['ticker']!r}"
            )
        design = sm.add_constant(data[regressors].astype(np.float64), has_constant="add")
        if len(data) <= design.shape[1]:
            raise ValueError(f"{len(data)} firm-events cannot identify {design.shape[1]} coefficients")
        return sm.OLS(data[y].to_numpy(), design).fit(cov_type=cov_type)

    def summary(self) -> str:
        """A readable text report: sample, model, per-window CAAR and every test with stars."""
        est = self.estimates
        ok = est["status"] == "ok"
        clustered = bool(self.tests["clustered"].any()) if not self.tests.empty else False
        w = self.event_windows
        lines = [
            f"Event study — {self.model} model"
            + (f", benchmark {self.benchmark}" if self.model in ("market", "market-adjusted") else ""),
            f"estimation window [{w.estimation[0]},{w.estimation[1]}] (min {self.min_estimation_obs} returns), "
            f"firm CAR t-stats: {self.se_convention} variance",
            f"firm-events: {int(ok.sum())} used, {int((~ok).sum())} excluded; "
            f"{est.loc[ok, 'day0'].nunique()} distinct day0",
        ]
        if clustered:
            rbar = self.aggregate["rbar"].iloc[0]
            lines.append(
                f"CLUSTERED: events share day0 (avg residual cross-correlation {rbar:.3f}); tests without"
                " a cross-correlation adjustment (marked -) over-reject"
            )
        for _, agg in self.aggregate.iterrows():
            lines.append("")
            lines.append(
                f"window {agg['window']}  N={agg['n']}  CAAR={agg['caar']:+.4%}  median CAR={agg['median_car']:+.4%}"
                f"  mean BHAR={agg['abhar']:+.4%}  positive={agg['share_positive']:.0%}"
            )
            tests = self.tests[self.tests["window"] == agg["window"]]
            for _, t in tests.iterrows():
                flag = "+" if t["adjusts_cross_correlation"] else ("-" if clustered else " ")
                lines.append(
                    f"  {flag} {sig.label(t['test']):<31} {t['statistic']:>10.3f}  p={t['p_value']:.4f} "
                    f"{_stars(t['p_value']):<3} {t['method']}"
                )
        excluded = est[~ok]
        if not excluded.empty:
            lines.append("")
            lines.append(f"excluded firm-events ({len(excluded)}):")
            for _, row in excluded.head(10).iterrows():
                lines.append(f"  {row['event_id']} {row['ticker']}: {row['status']} — {row['reason']}")
            if len(excluded) > 10:
                lines.append(f"  ... and {len(excluded) - 10} more (see .estimates)")
        lines.append("")
        lines.append("*** p<0.01, ** p<0.05, * p<0.1 (two-sided)")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()
