"""Issue 12's statistics: Corrado ranks over a fixed span, Wilcoxon's W+ with its expectation, NaN with a reason
for degenerate inputs (every registered test), Kolari-Pynnönen's rbar from pairwise-complete residuals.

The references here are plain numpy/scipy loops over firm-events; they never call models.event_study.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from models.event_study import EventStudy, significance
from models.event_study.residuals import ResidualStats
from models.event_study.significance import TestInputs

EST = (-250, -11)
RANK_END = 10  # EventStudy's default rank_span_end


def make_returns(firms: int = 7, sessions: int = 340, seed: int = 12) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2021-01-04", periods=sessions)
    spy = rng.normal(0.0004, 0.01, sessions)
    common = rng.normal(0, 0.01, sessions)[:, None]  # a shared shock: residuals are cross-correlated
    values = 0.0002 + np.outer(spy, rng.uniform(0.5, 1.5, firms)) + common + rng.normal(0, 0.02, (sessions, firms))
    frame = pd.DataFrame(values, index=dates, columns=[f"T{i}" for i in range(firms)])
    frame["SPY"] = spy
    return frame


def events_at(returns: pd.DataFrame, positions: dict[str, int]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "event_id": [f"E{p}" for p in positions.values()],
            "ticker": list(positions),
            "day0": returns.index[list(positions.values())],
        }
    )


def stat(tests: pd.DataFrame, name: str, window: tuple[int, int]) -> float:
    row = tests[(tests["test"] == name) & (tests["start"] == window[0]) & (tests["end"] == window[1])]
    return float(row["statistic"].iloc[0])


# ----------------------------------------------------------------------------------------------
# Corrado over a fixed rank span
# ----------------------------------------------------------------------------------------------


def reference_corrado(
    returns: pd.DataFrame, events: pd.DataFrame, window: tuple[int, int], rank_end: int = RANK_END
) -> float:
    """Corrado-Zivney ranks of each firm's market-model residuals over [estimation start, max(rank_end, window end)]."""
    s, e = window
    last = max(rank_end, e)
    taus = np.arange(EST[0], last + 1)
    u = np.full((len(events), taus.size), np.nan)
    for i, ev in enumerate(events.itertuples(index=False)):
        p = returns.index.get_loc(ev.day0)
        rows = p + taus
        inside = (rows >= 0) & (rows < len(returns))
        y = np.full(taus.size, np.nan)
        x = np.full(taus.size, np.nan)
        y[inside] = returns[ev.ticker].to_numpy()[rows[inside]]
        x[inside] = returns["SPY"].to_numpy()[rows[inside]]
        fit = (taus <= EST[1]) & np.isfinite(y) & np.isfinite(x)
        b, a = np.polyfit(x[fit], y[fit], 1)
        resid = y - (a + b * x)
        valid = np.isfinite(resid)
        u[i, valid] = stats.rankdata(resid[valid]) / (valid.sum() + 1)
    ubar = np.array([np.nanmean(col - 0.5) if np.isfinite(col).any() else np.nan for col in u.T])
    s_u = np.sqrt(np.nanmean(ubar**2))
    return ubar[s - EST[0] : e - EST[0] + 1].sum() / np.sqrt(e - s + 1) / s_u


def test_corrado_statistic_of_a_window_does_not_depend_on_the_other_windows():
    """Issue 12: 0.5443 from the CLI, 0.5400 in the dashboard for one window (the rank span was the union)."""
    returns = make_returns()
    events = events_at(returns, {"T0": 300, "T1": 300, "T2": 300, "T3": 300, "T4": 305, "T5": 305})
    alone = {}
    for w in [(0, 0), (-1, 1), (0, 1), (-5, 5), (0, 20)]:
        alone[w] = stat(EventStudy(returns, events, event_windows=[w]).fit().tests, "corrado_rank", w)
    for combo in ([(0, 0), (-1, 1)], [(0, 0), (-1, 1), (0, 1), (-5, 5)], [(-5, 5), (0, 20), (0, 0)], [(0, 20), (0, 1)]):
        tests = EventStudy(returns, events, event_windows=combo).fit().tests
        for w in combo:
            assert stat(tests, "corrado_rank", w) == pytest.approx(alone[w], rel=0, abs=1e-13), (w, combo)
    for w, value in alone.items():
        assert value == pytest.approx(reference_corrado(returns, events, w), rel=0, abs=1e-10), w


def test_stored_study_and_a_refit_of_one_window_agree_on_corrado():
    """The analyze job stores the default windows; `impact study --window 0,0` re-fits that window alone."""
    from pipelines import study

    returns = make_returns()
    events = events_at(returns, {f"T{i}": 300 for i in range(6)}).assign(event_id="E")
    stored = study.run_event_studies(returns, events).tests
    for window in study.DEFAULT_WINDOWS:
        refit = study.fit_event(returns, events, windows=[window]).tests
        assert stat(refit, "corrado_rank", window) == pytest.approx(
            stat(stored, "corrado_rank", window), rel=0, abs=1e-13
        )


def test_corrado_ranks_skip_sessions_beyond_the_data():
    """An event 8 sessions before the data ends: its rank span to +10 lacks 3 sessions, which are not ranked."""
    returns = make_returns()
    events = events_at(returns, {"T0": 331, "T1": 331, "T2": 300, "T3": 310})
    windows = [(0, 0), (-1, 1), (-5, 5)]
    tests = EventStudy(returns, events, event_windows=windows).fit().tests
    for w in windows:
        assert stat(tests, "corrado_rank", w) == pytest.approx(reference_corrado(returns, events, w), rel=0, abs=1e-10)


def test_rank_span_end_is_a_checked_model_option():
    returns = make_returns()
    events = events_at(returns, {"T0": 300, "T1": 300, "T2": 305})
    default = stat(EventStudy(returns, events, event_windows=[(0, 0)]).fit().tests, "corrado_rank", (0, 0))
    wide = stat(
        EventStudy(returns, events, event_windows=[(0, 0)], rank_span_end=20).fit().tests, "corrado_rank", (0, 0)
    )
    assert wide == pytest.approx(reference_corrado(returns, events, (0, 0), rank_end=20), rel=0, abs=1e-10)
    assert wide != pytest.approx(default, rel=0, abs=1e-6)
    with pytest.raises(ValueError, match="rank_span_end"):
        EventStudy(returns, events, rank_span_end=-20)
    with pytest.raises(ValueError, match="rank_span_end"):
        EventStudy(returns, events, rank_span_end=2.5)


# ----------------------------------------------------------------------------------------------
# Wilcoxon: W+ and its expectation
# ----------------------------------------------------------------------------------------------


def test_wilcoxon_is_labelled_w_plus_with_its_expectation_and_method():
    car = np.array(
        [
            [0.011, -0.02, 0.031, 0.042, -0.005, 0.063],  # no ties: exact
            [0.01, -0.01, 0.02, 0.0, 0.03, 0.01],  # a zero (n = 5) and ties: exact by permutation
        ]
    )
    res = significance.wilcoxon(car)
    methods = res.methods()
    assert res.statistic[0] == 2 + 4 + 5 + 6 and res.statistic[1] == 2 + 2 + 4 + 5  # ranks of |CAR| over CAR > 0
    assert "W+" in methods[0] and "E[W+] = n(n+1)/4 = 10.5" in methods[0] and "n = 6" in methods[0]
    assert "exact" in methods[0] and "normal" not in methods[0]
    assert "E[W+] = n(n+1)/4 = 7.5" in methods[1] and "n = 5" in methods[1] and "permutation" in methods[1]
    big = np.round(np.random.default_rng(3).normal(0.002, 0.02, (1, 80)), 3)
    n = int((big != 0).sum())
    assert "normal approximation" in significance.wilcoxon(big).methods()[0]
    assert f"E[W+] = n(n+1)/4 = {n * (n + 1) / 4:g}" in significance.wilcoxon(big).methods()[0]
    assert significance.label("wilcoxon_signed_rank").endswith("(W+)")
    assert "W+" in significance.display_label("wilcoxon_signed_rank")


def test_the_stored_wilcoxon_row_says_w_plus_and_its_expectation():
    returns = make_returns()
    events = events_at(returns, {f"T{i}": 300 for i in range(6)})
    tests = EventStudy(returns, events, event_windows=[(0, 0), (-1, 1)]).fit().tests
    rows = tests[tests["test"] == "wilcoxon_signed_rank"]
    assert (
        rows["method"].str.contains(r"W\+").all()
        and rows["method"].str.contains("E[W+] = n(n+1)/4 = 10.5", regex=False).all()
    )


# ----------------------------------------------------------------------------------------------
# degenerate inputs: NaN with a reason, never +-inf, never p = 0
# ----------------------------------------------------------------------------------------------

WINDOWS = ((0, 0), (-1, 1))
RANK_START = -20


def _inputs(car: np.ndarray, scar: np.ndarray | None = None, df: float = 200.0, **resid) -> TestInputs:
    rng = np.random.default_rng(1)
    span = RANK_END - RANK_START + 1
    stats_ = {
        "positive_share": 0.5,
        "est_aar": rng.normal(0, 0.01, 30),
        "rbar": 0.1,
        "rank_start": RANK_START,
        "rank_end": RANK_END,
        "rank_dev": {RANK_END: rng.uniform(-0.1, 0.1, span)},
        "clustered": True,
    } | resid
    car = np.asarray(car, dtype=np.float64)
    return TestInputs(
        car=car,
        scar=car / 0.02 if scar is None else np.asarray(scar, dtype=np.float64),
        df=np.full(car.shape[1], df),
        windows=WINDOWS,
        span_start=-1,
        resid=ResidualStats(**stats_),
        n_permutations=99,
    )


_rng = np.random.default_rng(7)
_CAR5 = _rng.normal(0.0, 0.02, (2, 5))
SCENARIOS = {
    "no firm": lambda: _inputs(
        np.empty((2, 0)), rank_dev={RANK_END: np.full(RANK_END - RANK_START + 1, np.nan)}, est_aar=np.full(30, np.nan)
    ),
    "single firm": lambda: _inputs(np.array([[0.03], [-0.01]])),
    "zero variance": lambda: _inputs(np.full((2, 5), 0.1)),
    "all CARs zero": lambda: _inputs(np.zeros((2, 5))),
    "sigma 0": lambda: _inputs(_CAR5, scar=np.copysign(np.inf, _CAR5)),  # CAR / sigma with sigma 0
    "all-equal ranks": lambda: _inputs(
        _CAR5, rank_dev={RANK_END: np.zeros(RANK_END - RANK_START + 1)}, est_aar=np.full(30, 0.001), positive_share=0.0
    ),
    "df <= 2": lambda: _inputs(_CAR5, df=2.0),
    "rbar at -1/(N-1)": lambda: _inputs(_CAR5, rbar=-0.25),
    "rbar 1": lambda: _inputs(_CAR5, rbar=1.0),
    "a NaN CAR": lambda: _inputs(np.where(np.arange(5) == 2, np.nan, _CAR5)),
}

# tests that must be NaN in a scenario (others may be finite there: e.g. Patell Z of a single firm is its t)
MUST_BE_NAN = {
    "no firm": set(significance.names()),
    "single firm": {"t_cross_section", "bmp_t", "kp_bmp_t"},
    "zero variance": {"t_cross_section", "bmp_t", "kp_bmp_t"},
    "all CARs zero": {"t_cross_section", "bmp_t", "kp_bmp_t", "wilcoxon_signed_rank", "sign_flip_permutation"},
    "sigma 0": {"patell_z", "bmp_t", "kp_patell_z", "kp_bmp_t", "sign_flip_permutation"},
    "all-equal ranks": {"corrado_rank", "crude_dependence_t", "generalized_sign_z"},
    "df <= 2": {"patell_z", "kp_patell_z"},
    "rbar at -1/(N-1)": {"kp_patell_z", "kp_bmp_t"},
    "rbar 1": {"kp_bmp_t"},
    "a NaN CAR": set(significance.names()) - {"corrado_rank", "crude_dependence_t"},
}


@pytest.fixture(scope="module")
def degenerate_results() -> dict[str, dict[str, significance.TestResult]]:
    inputs = {name: make() for name, make in SCENARIOS.items()}
    with np.errstate(all="raise"):  # a degenerate input must be caught, not computed into inf/NaN
        return {name: {r.name: r for r in significance.run_tests(x)} for name, x in inputs.items()}


@pytest.mark.parametrize("test_name", significance.names())
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_degenerate_inputs_give_nan_with_a_reason_never_inf_or_p_zero(degenerate_results, scenario, test_name):
    result = degenerate_results[scenario][test_name]
    for w, method in enumerate(result.methods()):
        value, p, df = result.statistic[w], result.p_value[w], result.df[w]
        if np.isnan(value):
            assert np.isnan(p), (scenario, test_name, p)
            assert method.startswith("NaN: ") and len(method) > len("NaN: ") + 5, (scenario, test_name, method)
        else:
            assert np.isfinite(value) and 0.0 < p <= 1.0, (scenario, test_name, value, p, method)
            assert not method.startswith("NaN"), method
            assert np.isnan(df) or df > 0, df
    if test_name in MUST_BE_NAN[scenario]:
        assert np.isnan(result.statistic).all(), (scenario, test_name, result.statistic)


def test_degenerate_reasons_name_the_cause(degenerate_results):
    def reason(scenario: str, name: str) -> str:
        return degenerate_results[scenario][name].methods()[0]

    assert "fewer than 2 firm-events" in reason("single firm", "t_cross_section")
    assert "no firm-events" in reason("no firm", "sign_flip_permutation")
    assert "do not vary" in reason("zero variance", "t_cross_section")
    assert "every CAR is zero" in reason("all CARs zero", "wilcoxon_signed_rank")
    assert "not finite" in reason("sigma 0", "patell_z")
    assert "S(U) = 0" in reason("all-equal ranks", "corrado_rank")
    assert "does not vary" in reason("all-equal ranks", "crude_dependence_t")
    assert "share of positive" in reason("all-equal ranks", "generalized_sign_z")
    assert "df <= 2" in reason("df <= 2", "patell_z")
    assert "1 + (N-1) rbar" in reason("rbar at -1/(N-1)", "kp_patell_z")
    assert "rbar" in reason("rbar 1", "kp_bmp_t")
    # a test needing an undefined one says why
    assert "Patell" in reason("sigma 0", "kp_patell_z")


def test_an_engine_fit_of_identical_firms_reports_nan_not_inf():
    """Six copies of one stock: every CAR is equal, the cross-sectional t was -inf with p = 0."""
    returns = make_returns()
    for i in range(1, 6):
        returns[f"C{i}"] = returns["T0"]
    events = events_at(returns, {"T0": 300} | {f"C{i}": 300 for i in range(1, 6)})
    tests = EventStudy(returns, events, event_windows=[(0, 0)]).fit().tests.set_index("test")
    assert np.isfinite(tests["statistic"].dropna()).all()
    assert (tests["p_value"].dropna() > 0).all()
    assert np.isnan(tests.loc["t_cross_section", "statistic"])
    assert tests.loc["t_cross_section", "method"].startswith("NaN: ")


# ----------------------------------------------------------------------------------------------
# Kolari-Pynnönen rbar from pairwise-complete residuals
# ----------------------------------------------------------------------------------------------


def gappy_panel(extra: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Seven firms: T0..T4 share day0 300 (T1, T2 have holes in the estimation window, T3 starts late),
    T5 and T6 share day0 310 (T6 has holes); ``extra`` more firms join day0 300, every third with holes."""
    returns = make_returns(firms=7 + extra, seed=21)
    rng = np.random.default_rng(5)
    returns.iloc[rng.choice(np.arange(60, 285), 25, replace=False), returns.columns.get_loc("T1")] = np.nan
    returns.iloc[rng.choice(np.arange(60, 285), 12, replace=False), returns.columns.get_loc("T2")] = np.nan
    returns.iloc[:95, returns.columns.get_loc("T3")] = np.nan
    returns.iloc[rng.choice(np.arange(70, 295), 30, replace=False), returns.columns.get_loc("T6")] = np.nan
    for i in range(7, 7 + extra, 3):
        returns.iloc[rng.choice(np.arange(60, 285), 9, replace=False), returns.columns.get_loc(f"T{i}")] = np.nan
    day0 = {"T0": 300, "T1": 300, "T2": 300, "T3": 300, "T4": 300, "T5": 310, "T6": 310}
    return returns, events_at(returns, day0 | {f"T{i}": 300 for i in range(7, 7 + extra)})


def reference_rbar(returns: pd.DataFrame, events: pd.DataFrame, model: str) -> float:
    """Average over ordered same-day0 pairs of the Pearson correlation of estimation residuals on the days
    both firms have (pairs on different day0s count as 0), divided by N(N-1)."""
    resid = []
    for ev in events.itertuples(index=False):
        p = returns.index.get_loc(ev.day0)
        rows = np.arange(p + EST[0], p + EST[1] + 1)
        y = np.where(rows >= 0, returns[ev.ticker].to_numpy()[np.clip(rows, 0, None)], np.nan)
        x = np.where(rows >= 0, returns["SPY"].to_numpy()[np.clip(rows, 0, None)], np.nan)
        ok = np.isfinite(y) & np.isfinite(x)
        if model == "market":
            b, a = np.polyfit(x[ok], y[ok], 1)
            e = y - (a + b * x)
        elif model == "market-adjusted":
            e = y - x
        else:
            e = y - y[ok].mean()
        resid.append(np.where(ok, e, np.nan))
    n = len(resid)
    total = 0.0
    for a, b in itertools.permutations(range(n), 2):
        if events["day0"].iloc[a] == events["day0"].iloc[b]:
            both = np.isfinite(resid[a]) & np.isfinite(resid[b])
            total += np.corrcoef(resid[a][both], resid[b][both])[0, 1]
    return total / (n * (n - 1))


@pytest.mark.parametrize("model", ["market", "market-adjusted", "constant-mean"])
def test_kp_rbar_uses_pairwise_complete_residuals_when_a_cluster_has_gaps(model):
    returns, events = gappy_panel()
    res = EventStudy(returns, events, model=model, event_windows=[(0, 0), (-1, 1)]).fit()
    assert (res.estimates["status"] == "ok").all(), res.estimates[["ticker", "status", "reason"]]
    assert (res.estimates.set_index("ticker")["n_est"] < 240)[["T1", "T2", "T3", "T6"]].all()
    rbar = reference_rbar(returns, events, model)
    assert res.aggregate["rbar"].iloc[0] == pytest.approx(rbar, rel=0, abs=1e-12)
    n = len(events)
    tests = res.tests.set_index(["window", "test"])
    for window in ("[0,0]", "[-1,+1]"):
        bmp, patell = tests.loc[(window, "bmp_t"), "statistic"], tests.loc[(window, "patell_z"), "statistic"]
        kp_bmp = bmp * np.sqrt((1 - rbar) / (1 + (n - 1) * rbar))
        kp_patell = patell * np.sqrt(1 / (1 + (n - 1) * rbar))
        assert tests.loc[(window, "kp_bmp_t"), "statistic"] == pytest.approx(kp_bmp, rel=0, abs=1e-12)
        assert tests.loc[(window, "kp_patell_z"), "statistic"] == pytest.approx(kp_patell, rel=0, abs=1e-12)


def test_kp_rbar_of_a_gappy_cluster_larger_than_a_chunk(monkeypatch):
    """Chunks of 64 rows split the residual pass; a same-day cluster of 80 firms with gaps stays whole."""
    from models.event_study import residuals

    returns, events = gappy_panel(extra=75)
    one = EventStudy(returns, events, event_windows=[(0, 0)]).fit().aggregate["rbar"].iloc[0]
    assert one == pytest.approx(reference_rbar(returns, events, "market"), rel=0, abs=1e-12)
    monkeypatch.setattr(residuals, "_CHUNK_BYTES", 1)
    many = EventStudy(returns, events, event_windows=[(0, 0)]).fit().aggregate["rbar"].iloc[0]
    assert many == pytest.approx(one, rel=0, abs=1e-14)
