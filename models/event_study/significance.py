"""Cross-sectional significance tests of event-window CARs, all windows at once (rows = windows), and
their registry.

Each function returns a ``TestResult`` with one statistic and two-sided p-value per window. Formulas:
cross-sectional t; Patell (1976) on CARs standardized with their exact forecast-error variance;
Boehmer-Musumeci-Poulsen (1991); Kolari-Pynnoenen (2010) adjustments of both for the average residual
cross-correlation; Brown-Warner (1980) crude dependence adjustment; Corrado (1989) rank test in the
Corrado-Zivney (1992) standardized-rank form, multi-day per Campbell-Wasley (1993); Cowan (1992)
generalized sign test; Wilcoxon signed-rank; a sign-flip permutation test of the mean SCAR.

``REGISTRY`` (bottom of the module) is the one list of tests: name, labels, the function behind a
uniform call ``function(TestInputs) -> TestResult`` and whether the test stays valid when firm-events
share day0. The engine (``EventStudy.fit``) runs the registered tests in registration order, and
``EventStudyResults.summary()``, the CLI and the dashboards read names, order, labels and flags from it.
Adding a test is its function plus one ``register`` call (or the ``significance_test`` decorator).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from scipy import special, stats

from models.event_study.residuals import ResidualStats

EXACT_PERMUTATION_MAX_N = 14


@dataclass(frozen=True)
class TestResult:
    """One test over every window: statistic, p-value, degrees of freedom (NaN if normal), method.

    ``method`` is one text for every window or one per window. A window where the test is undefined
    (degenerate input) has NaN statistic, p and df and a method ``"NaN: <reason>"``.
    """

    __test__ = False  # not a pytest class

    name: str
    statistic: np.ndarray
    p_value: np.ndarray
    df: np.ndarray
    method: str | tuple[str, ...]
    adjusts_cross_correlation: bool = False

    def methods(self) -> tuple[str, ...]:
        """The method text of each window."""
        n = len(np.atleast_1d(self.statistic))
        return (self.method,) * n if isinstance(self.method, str) else tuple(self.method)


UNDEFINED = "NaN: "
"""Prefix of the method text of a window where a test is undefined; the reason follows."""


def _result(
    name: str,
    statistic: np.ndarray | float,
    p_value: np.ndarray | float,
    df: np.ndarray | float,
    method: str | Sequence[str],
    reasons: Sequence[str],
    adjusts: bool = False,
) -> TestResult:
    """A TestResult in which every window with a reason ("" for none) is NaN and says why in its method."""
    shape = (len(reasons),)
    arrays = [np.array(np.broadcast_to(v, shape), dtype=np.float64) for v in (statistic, p_value, df)]
    bad = np.array([bool(r) for r in reasons], dtype=bool)
    for values in arrays:
        values[bad] = np.nan
    stat, p, dof = arrays
    if isinstance(method, str) and not bad.any():
        return TestResult(name, stat, p, dof, method, adjusts)
    texts = (method,) * len(reasons) if isinstance(method, str) else tuple(method)
    methods = tuple(f"{UNDEFINED}{r}" if r else m for r, m in zip(reasons, texts, strict=True))
    return TestResult(name, stat, p, dof, methods, adjusts)


def no_data(n_windows: int) -> list[TestResult]:
    """Every registered test as NaN, for a sample where no firm-event could be used."""
    nan = np.full(n_windows, np.nan)
    method = f"{UNDEFINED}no usable firm-events"
    return [TestResult(t.name, nan, nan, nan, method, t.robust_to_clustering) for t in REGISTRY.values()]


def _normal_p(z: np.ndarray) -> np.ndarray:
    return 2.0 * special.ndtr(-np.abs(z))


def _t_p(t: np.ndarray, df: np.ndarray | float) -> np.ndarray:
    return 2.0 * special.stdtr(df, -np.abs(t))


_FLAT = 1e-12
"""A spread at most this fraction of the values' magnitude counts as none (rounding, not variation)."""


def _sample_reasons(x: np.ndarray, what: str, minimum: int = 1) -> list[str]:
    """Per row of ``x`` (windows x N): why a test of its values is undefined ("" if it is not)."""
    n = x.shape[1]
    if n == 0:
        return ["no firm-events"] * x.shape[0]
    if n < minimum:
        return [f"fewer than {minimum} firm-events (N = {n})"] * x.shape[0]
    return ["" if ok else f"a {what} is not finite" for ok in np.isfinite(x).all(axis=1)]


def _is_flat(x: np.ndarray) -> np.ndarray:
    """Rows of ``x`` whose sample sd is zero up to rounding."""
    if x.size == 0:
        return np.zeros(x.shape[0], dtype=bool)
    return ~(x.std(axis=1, ddof=1) > _FLAT * np.abs(x).max(axis=1))


def _usable(reasons: list[str]) -> np.ndarray:
    return np.array([not r for r in reasons], dtype=bool)


def _mean_t(x: np.ndarray, what: str) -> tuple[np.ndarray, float, list[str]]:
    """t = mean / (sd / sqrt(N)) per row, its df N - 1 and per-row reasons it is undefined."""
    n = x.shape[1]
    reasons = _sample_reasons(x, what, minimum=2)
    ok = _usable(reasons)
    for i in np.flatnonzero(ok)[_is_flat(x[ok])]:
        reasons[i] = f"the {what}s do not vary (sample sd 0)"
    ok = _usable(reasons)
    t = np.full(x.shape[0], np.nan)
    if ok.any():
        t[ok] = x[ok].mean(axis=1) / (x[ok].std(axis=1, ddof=1) / np.sqrt(n))
    return t, n - 1.0, reasons


def cross_sectional_t(car: np.ndarray) -> TestResult:
    """t = mean(CAR) / (sd(CAR) / sqrt(N)), Student t with N - 1 df."""
    t, df, reasons = _mean_t(car, "CAR")
    return _result("t_cross_section", t, _t_p(t, df), df, "t(N-1)", reasons)


def patell(scar: np.ndarray, df: np.ndarray) -> TestResult:
    """Z = sum SCAR_i / sqrt(sum df_i / (df_i - 2)); each SCAR_i is t(df_i) under the null."""
    reasons = _sample_reasons(scar, "SCAR")
    if df.size and not (df > 2).all():
        reasons = [r or "a firm-event has df <= 2 (its SCAR has no variance)" for r in reasons]
    ok = _usable(reasons)
    z = np.full(scar.shape[0], np.nan)
    if ok.any():
        z[ok] = scar[ok].sum(axis=1) / np.sqrt((df / (df - 2.0)).sum())
    return _result("patell_z", z, _normal_p(z), np.nan, "normal", reasons)


def bmp(scar: np.ndarray) -> TestResult:
    """Boehmer-Musumeci-Poulsen: cross-sectional t of the SCARs (robust to event-induced variance)."""
    t, df, reasons = _mean_t(scar, "SCAR")
    return _result("bmp_t", t, _t_p(t, df), df, "t(N-1)", reasons)


def _prior_reasons(prior: TestResult, label: str) -> list[str]:
    """Per window: the reason ``prior`` (a test this one reads) is undefined there, or ""."""
    return [f"{label} is undefined ({m[len(UNDEFINED) :]})" if m.startswith(UNDEFINED) else "" for m in prior.methods()]


def kp_patell(patell_result: TestResult, n: int, rbar: float) -> TestResult:
    """Kolari-Pynnoenen adjusted Patell: Z * sqrt(1 / (1 + (N - 1) rbar))."""
    reasons = _prior_reasons(patell_result, "Patell Z")
    denominator = 1.0 + (n - 1.0) * rbar
    if not denominator > 0:
        why = f"1 + (N-1) rbar = {denominator:.3g} <= 0 (rbar {rbar:.3g}, N {n})"
        return _result("kp_patell_z", np.nan, np.nan, np.nan, "normal", [r or why for r in reasons], True)
    z = patell_result.statistic * np.sqrt(1.0 / denominator)
    return _result("kp_patell_z", z, _normal_p(z), patell_result.df, "normal", reasons, True)


def kp_bmp(bmp_result: TestResult, n: int, rbar: float) -> TestResult:
    """Kolari-Pynnoenen adjusted BMP: t * sqrt((1 - rbar) / (1 + (N - 1) rbar))."""
    reasons = _prior_reasons(bmp_result, "BMP t")
    denominator = 1.0 + (n - 1.0) * rbar
    if not (denominator > 0 and rbar < 1.0):
        why = f"rbar {rbar:.3g} leaves no independent variation: (1 - rbar) / (1 + (N-1) rbar) <= 0 (N {n})"
        return _result("kp_bmp_t", np.nan, np.nan, np.nan, "t(N-1)", [r or why for r in reasons], True)
    t = bmp_result.statistic * np.sqrt((1.0 - rbar) / denominator)
    return _result("kp_bmp_t", t, _t_p(t, bmp_result.df), bmp_result.df, "t(N-1)", reasons, True)


def crude_dependence(car: np.ndarray, lengths: np.ndarray, est_aar: np.ndarray) -> TestResult:
    """Brown-Warner: CAAR / (sqrt(L) * sd of the estimation-period AAR series), t with T - 1 df."""
    series = est_aar[np.isfinite(est_aar)]
    if series.size < 2:
        why = "fewer than 2 estimation days with residuals"
    elif _is_flat(series[None, :])[0]:
        why = "the estimation-period AAR series does not vary (sd 0)"
    else:
        why = ""
    reasons = [r or why for r in _sample_reasons(car, "CAR")]
    ok = _usable(reasons)
    t = np.full(car.shape[0], np.nan)
    if ok.any():
        t[ok] = car[ok].mean(axis=1) / (np.sqrt(lengths[ok]) * series.std(ddof=1))
    df = series.size - 1.0
    return _result("crude_dependence_t", t, _t_p(t, df), df, "t(T-1)", reasons, True)


def corrado(
    rank_dev: Mapping[int, np.ndarray], rank_start: int, rank_end: int, windows: list[tuple[int, int]]
) -> TestResult:
    """Corrado rank test: sum of mean rank deviations over the window / (sqrt(L) * S(U)).

    The ranks cover every session from ``rank_start`` (the estimation window's start) to
    ``max(rank_end, window end)``: a span fixed by the model options and the window itself, so a
    window's statistic is the same whatever other windows are requested. S(U) is the time-series sd of
    the cross-sectional mean rank over that span, so it absorbs cross-correlation.
    """
    z = np.full(len(windows), np.nan)
    reasons = []
    for w, (s, e) in enumerate(windows):
        dev = rank_dev[max(rank_end, e)]
        window = dev[s - rank_start : e - rank_start + 1]
        s_u = np.sqrt(np.nanmean(dev**2)) if np.isfinite(dev).any() else np.nan
        if not np.isfinite(window).all():
            reasons.append("no ranked return on a session of the window")
        elif not s_u > 0:
            reasons.append("the ranks do not vary (S(U) = 0)")
        else:
            reasons.append("")
            z[w] = window.sum() / np.sqrt(e - s + 1) / s_u
    return _result("corrado_rank", z, _normal_p(z), np.nan, "normal", reasons, True)


def generalized_sign(car: np.ndarray, positive_share: float) -> TestResult:
    """Cowan: (w - N p) / sqrt(N p (1 - p)), w = #CAR > 0, p = share of positive estimation residuals."""
    n = car.shape[1]
    reasons = _sample_reasons(car, "CAR")
    if not 0.0 < positive_share < 1.0:
        why = f"the share of positive estimation residuals is {positive_share:.3g} (the test needs 0 < p < 1)"
        reasons = [r or why for r in reasons]
    if not _usable(reasons).any():
        return _result("generalized_sign_z", np.nan, np.nan, np.nan, "normal", reasons)
    z = ((car > 0).sum(axis=1) - n * positive_share) / np.sqrt(n * positive_share * (1.0 - positive_share))
    return _result("generalized_sign_z", z, _normal_p(z), np.nan, "normal", reasons)


def _signed_rank_plus(d: np.ndarray) -> tuple[float, float]:
    """W+ (sum of ranks of |d| over the positive d) and the tie term sum(t^3 - t)."""
    mag = np.abs(d)
    order = np.argsort(mag, kind="stable")
    ordered = mag[order]
    if np.any(ordered[1:] == ordered[:-1]):
        ranks = stats.rankdata(mag)
        _, ties = np.unique(mag, return_counts=True)
        return float(ranks[d > 0].sum()), float((ties.astype(np.float64) ** 3 - ties).sum())
    ranks = np.empty(d.size)
    ranks[order] = np.arange(1, d.size + 1)
    return float(ranks[d > 0].sum()), 0.0


WILCOXON_EXACT_MAX_N = 50
"""Up to this many nonzero CARs without ties, the Wilcoxon p is exact (scipy's own rule)."""
WILCOXON_PERMUTATION_MAX_N = 13
"""Up to this many nonzero CARs with ties, the p enumerates all 2^n sign patterns (scipy's rule)."""


def wilcoxon(car: np.ndarray) -> TestResult:
    """Wilcoxon signed-rank of the CARs (zeros dropped): statistic W+, the sum of the ranks of |CAR| over
    the positive CARs, with E[W+] = n(n+1)/4 under the null. p exact for n <= 50 without ties, by full
    sign enumeration for n <= 13 with ties, else the tie-corrected normal approximation (scipy's choices)."""
    stat, p = np.full(car.shape[0], np.nan), np.full(car.shape[0], np.nan)
    reasons, methods = _sample_reasons(car, "CAR"), []
    for w, row in enumerate(car):
        d = row[row != 0] if not reasons[w] else row[:0]
        n = d.size
        if not reasons[w] and n == 0:
            reasons[w] = "every CAR is zero"
        if reasons[w]:
            methods.append("")
            continue
        stat[w], tie = _signed_rank_plus(d)
        if tie == 0.0 and n <= WILCOXON_EXACT_MAX_N:
            p[w], how = stats.wilcoxon(d, method="exact").pvalue, "exact p"
        elif n <= WILCOXON_PERMUTATION_MAX_N:
            p[w], how = stats.wilcoxon(d, method=stats.PermutationMethod()).pvalue, "exact p by permutation (ties)"
        else:
            sd = np.sqrt(n * (n + 1.0) * (2.0 * n + 1.0) / 24.0 - tie / 48.0)
            p[w], how = _normal_p((stat[w] - n * (n + 1.0) / 4.0) / sd), "normal approximation p (tie-corrected)"
        methods.append(f"W+ (sum of positive ranks), E[W+] = n(n+1)/4 = {n * (n + 1) / 4:g} with n = {n}; {how}")
    return _result("wilcoxon_signed_rank", stat, p, np.nan, methods, reasons)


def sign_flip(scar: np.ndarray, n_permutations: int, seed: int, max_n: int) -> TestResult:
    """Sign-flip randomization test of sum(SCAR): z = sum / sqrt(sum of squares) per window.

    Exact over all 2^N sign patterns for N <= 14, Monte Carlo with a fixed seed up to ``max_n``,
    beyond that the normal limit of the randomization distribution (its mean and variance are exact).
    """
    n = scar.shape[1]
    reasons = _sample_reasons(scar, "SCAR")
    reasons = [r or ("" if np.any(row) else "every SCAR is zero") for r, row in zip(reasons, scar, strict=True)]
    ok = _usable(reasons)
    if not ok.any():
        return _result("sign_flip_permutation", np.nan, np.nan, np.nan, "normal limit", reasons)
    scar = np.where(ok[:, None], scar, 1.0)  # undefined windows get placeholders, blanked by _result
    z = scar.sum(axis=1) / np.sqrt((scar * scar).sum(axis=1))
    if n > max_n:
        return _result("sign_flip_permutation", z, _normal_p(z), np.nan, "normal limit", reasons)
    if n <= EXACT_PERMUTATION_MAX_N:
        codes = np.arange(2**n)[:, None] >> np.arange(n)[None, :]
        signs = 1.0 - 2.0 * (codes & 1)
        method = "exact"
    else:
        rng = np.random.default_rng(seed)
        signs = 1.0 - 2.0 * rng.integers(0, 2, size=(n_permutations, n), dtype=np.int8)
        method = f"monte carlo ({n_permutations})"
    draws = np.abs(signs @ scar.T)
    observed = np.abs(scar.sum(axis=1))
    hits = (draws >= observed * (1.0 - 1e-12)).sum(axis=0)
    p = hits / len(signs) if method == "exact" else (hits + 1.0) / (len(signs) + 1.0)
    return _result("sign_flip_permutation", z, p, np.nan, method, reasons)


# --- the registry ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TestInputs:
    """Everything a registered test may read; arrays have one row per event window.

    ``car`` and ``scar`` are (windows, N) over the N usable firm-events, ``df`` the residual degrees of
    freedom per firm-event, ``resid`` the estimation-window statistics (average cross-correlation
    ``rbar``, the AAR series, Corrado ranks, share of positive residuals). ``prior`` holds the results
    of the tests named in the test's ``needs``, already run.
    """

    __test__ = False  # not a pytest class

    car: np.ndarray
    scar: np.ndarray
    df: np.ndarray
    windows: tuple[tuple[int, int], ...]
    span_start: int
    resid: ResidualStats
    n_permutations: int = 999
    seed: int = 0
    permutation_max_n: int = 2000
    prior: Mapping[str, TestResult] = field(default_factory=dict)

    @property
    def n(self) -> int:
        """Number of usable firm-events."""
        return int(self.car.shape[1])

    @property
    def lengths(self) -> np.ndarray:
        """Length of each event window in sessions."""
        return np.array([e - s + 1 for s, e in self.windows], dtype=np.float64)


@dataclass(frozen=True)
class SignificanceTest:
    """A registered test.

    name: the value of the ``test`` column (stored in mart.event_tests; never rename one).
    label: short label in ``EventStudyResults.summary()``; display_label: the dashboards' label
    (defaults to ``label``). function: ``TestInputs -> TestResult``. robust_to_clustering: the test
    stays valid when firm-events share day0 (it adjusts for cross-correlation); it fills the
    ``adjusts_cross_correlation`` column. needs: names of earlier tests whose results it reads
    from ``TestInputs.prior``.
    """

    name: str
    label: str
    function: Callable[[TestInputs], TestResult]
    robust_to_clustering: bool = False
    display_label: str = ""
    needs: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.display_label:
            object.__setattr__(self, "display_label", self.label)
        object.__setattr__(self, "needs", tuple(self.needs))


REGISTRY: dict[str, SignificanceTest] = {}
"""name -> test, in the order the engine runs them and every table lists them."""


def register(test: SignificanceTest) -> SignificanceTest:
    """Add ``test`` at the end of the registry; its ``needs`` must already be registered."""
    if not test.name or not test.name.isidentifier():
        raise ValueError(f"a significance test's name must be an identifier, got {test.name!r}")
    if test.name in REGISTRY:
        raise ValueError(f"significance test {test.name!r} is already registered")
    missing = [n for n in test.needs if n not in REGISTRY]
    if missing:
        raise ValueError(f"significance test {test.name!r} needs {missing}, which are not registered before it")
    REGISTRY[test.name] = test
    return test


def unregister(name: str) -> SignificanceTest:
    """Remove a test (one that no other registered test needs) and return it."""
    users = [t.name for t in REGISTRY.values() if name in t.needs]
    if users:
        raise ValueError(f"significance test {name!r} is needed by {users}")
    return REGISTRY.pop(name)


def significance_test(
    name: str,
    label: str,
    *,
    robust_to_clustering: bool = False,
    display_label: str = "",
    needs: tuple[str, ...] = (),
) -> Callable[[Callable[[TestInputs], TestResult]], Callable[[TestInputs], TestResult]]:
    """Decorator: register ``function(TestInputs) -> TestResult`` as a test, at the end of the registry."""

    def decorate(function: Callable[[TestInputs], TestResult]) -> Callable[[TestInputs], TestResult]:
        register(SignificanceTest(name, label, function, robust_to_clustering, display_label, needs))
        return function

    return decorate


def registered() -> tuple[SignificanceTest, ...]:
    """The registered tests in order."""
    return tuple(REGISTRY.values())


def names() -> tuple[str, ...]:
    """The registered test names in order."""
    return tuple(REGISTRY)


def get(name: str) -> SignificanceTest:
    """The registered test called ``name`` (KeyError naming the registered ones if there is none)."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"no significance test {name!r}; registered: {', '.join(REGISTRY)}") from None


def label(name: str) -> str:
    """Short label of a test for text output (the name itself if it is not registered)."""
    test = REGISTRY.get(name)
    return test.label if test else name


def display_label(name: str) -> str:
    """The dashboards' label of a test (the name itself if it is not registered)."""
    test = REGISTRY.get(name)
    return test.display_label if test else name


def order(name: str) -> int:
    """Position of a test in the registry (unregistered names sort after every registered one)."""
    try:
        return list(REGISTRY).index(name)
    except ValueError:
        return len(REGISTRY)


def _reason(method: str, statistic: float) -> str:
    """Why a window of a test's result is undefined: its own reason, or a non-finite statistic ("" if neither)."""
    if method.startswith(UNDEFINED):
        return method[len(UNDEFINED) :]
    return "" if np.isfinite(statistic) else "the statistic is not finite (degenerate input)"


def run_tests(inputs: TestInputs) -> list[TestResult]:
    """Run every registered test in order; each result carries its registry name and flag.

    A window whose statistic is not finite becomes NaN with a reason, so no test reports +-inf or a
    p-value for an undefined statistic."""
    n_windows = len(inputs.windows)
    done: dict[str, TestResult] = {}
    for test in REGISTRY.values():
        result = test.function(replace(inputs, prior={n: done[n] for n in test.needs}))
        arrays: dict[str, Any] = {}
        for attr in ("statistic", "p_value", "df"):
            value = np.asarray(getattr(result, attr), dtype=np.float64)
            if value.shape != (n_windows,):
                raise ValueError(
                    f"significance test {test.name!r} returned {attr} of shape {value.shape}, expected ({n_windows},)"
                )
            arrays[attr] = value
        methods = result.methods()
        if len(methods) != n_windows:
            raise ValueError(f"significance test {test.name!r} returned {len(methods)} methods for {n_windows} windows")
        reasons = [_reason(m, v) for m, v in zip(methods, arrays["statistic"], strict=True)]
        checked = _result(
            test.name, arrays["statistic"], arrays["p_value"], arrays["df"], methods, reasons, test.robust_to_clustering
        )
        done[test.name] = checked if any(reasons) else replace(checked, method=result.method)
    return list(done.values())


for _test in (
    SignificanceTest(
        "t_cross_section", "cross-sectional t", lambda x: cross_sectional_t(x.car), display_label="Cross-sectional t"
    ),
    SignificanceTest("patell_z", "Patell Z (1976)", lambda x: patell(x.scar, x.df), display_label="Patell Z"),
    SignificanceTest("bmp_t", "BMP t (1991)", lambda x: bmp(x.scar), display_label="BMP t (Boehmer-Musumeci-Poulsen)"),
    SignificanceTest(
        "kp_patell_z",
        "KP-adjusted Patell (2010)",
        lambda x: kp_patell(x.prior["patell_z"], x.n, x.resid.rbar),
        robust_to_clustering=True,
        display_label="Patell Z, Kolari-Pynnönen adjusted",
        needs=("patell_z",),
    ),
    SignificanceTest(
        "kp_bmp_t",
        "KP-adjusted BMP (2010)",
        lambda x: kp_bmp(x.prior["bmp_t"], x.n, x.resid.rbar),
        robust_to_clustering=True,
        display_label="BMP t, Kolari-Pynnönen adjusted",
        needs=("bmp_t",),
    ),
    SignificanceTest(
        "crude_dependence_t",
        "crude dependence t (BW 1980)",
        lambda x: crude_dependence(x.car, x.lengths, x.resid.est_aar),
        robust_to_clustering=True,
        display_label="Crude-dependence t",
    ),
    SignificanceTest(
        "corrado_rank",
        "Corrado rank (1989)",
        lambda x: corrado(x.resid.rank_dev, x.resid.rank_start, x.resid.rank_end, list(x.windows)),
        robust_to_clustering=True,
        display_label="Corrado rank",
    ),
    SignificanceTest(
        "generalized_sign_z",
        "generalized sign (Cowan 1992)",
        lambda x: generalized_sign(x.car, x.resid.positive_share),
        display_label="Generalized sign Z (Cowan)",
    ),
    SignificanceTest(
        "wilcoxon_signed_rank",
        "Wilcoxon signed-rank (W+)",
        lambda x: wilcoxon(x.car),
        display_label="Wilcoxon signed rank (W+)",
    ),
    SignificanceTest(
        "sign_flip_permutation",
        "sign-flip permutation",
        lambda x: sign_flip(x.scar, x.n_permutations, x.seed, x.permutation_max_n),
        display_label="Sign-flip permutation",
    ),
):
    register(_test)
del _test
