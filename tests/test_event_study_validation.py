"""Validate the event-study engine against independent computations, size/power simulations, the
``eventstudy`` PyPI package and the real DeepSeek sell-off of 2025-01-27.

The reference implementations below are deliberately plain loops over firm-events (statsmodels OLS,
scipy distributions, the papers' formulas) and never call models.event_study.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from models.event_study import EventStudy
from models.event_study import significance as sig

EST = (-250, -11)
RANK_END = 10  # EventStudy's default rank_span_end
WINDOWS = [(0, 0), (-1, 1), (0, 1), (-5, 5), (-3, 2)]
TOL = 1e-10


# ----------------------------------------------------------------------------------------------
# simulated panels with known truth
# ----------------------------------------------------------------------------------------------


def simulate_panel(
    rng: np.random.Generator,
    firms: int,
    sessions: int,
    common: float = 0.0,
    factors: int = 0,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Market-model returns R = a + b M (+ loadings on extra factors) + e; e has a common shock of
    weight ``common`` (cross-correlation common^2 / (common^2 + 1) - a stand-in for an industry)."""
    dates = pd.bdate_range("2018-01-02", periods=sessions)
    market = rng.normal(0.0004, 0.011, sessions)
    alpha = rng.normal(0.0, 0.0005, firms)
    beta = rng.uniform(0.4, 1.8, firms)
    shock = rng.normal(0, 0.02, sessions)[:, None] * common
    noise = rng.normal(0, 0.02, (sessions, firms)) + shock
    values = alpha + market[:, None] * beta + noise
    cols = {f"F{i:02d}": values[:, i] for i in range(firms)}
    cols["SPY"] = market
    for j in range(factors):
        f = rng.normal(0, 0.008, sessions)
        cols[f"FAC{j}"] = f
        for i in range(firms):
            cols[f"F{i:02d}"] = cols[f"F{i:02d}"] + rng.uniform(-1, 1) * f
    return pd.DataFrame(cols, index=dates), beta


@pytest.fixture(scope="module")
def panel() -> tuple[pd.DataFrame, pd.DataFrame]:
    """14 firm-events: 6 share one day0, 3 share another, 5 alone; four firms have holes in their
    estimation windows (two of them inside the six-firm same-day cluster) and one starts late (its
    estimation window is truncated)."""
    rng = np.random.default_rng(20250127)
    returns, _ = simulate_panel(rng, firms=14, sessions=420, factors=2)
    returns.iloc[300:303, returns.columns.get_loc("F09")] = np.nan
    returns.iloc[rng.choice(np.arange(150, 340), 17, replace=False), returns.columns.get_loc("F10")] = np.nan
    returns.iloc[rng.choice(np.arange(150, 390), 11, replace=False), returns.columns.get_loc("F02")] = np.nan
    returns.iloc[rng.choice(np.arange(150, 390), 6, replace=False), returns.columns.get_loc("F04")] = np.nan
    returns.iloc[:175, returns.columns.get_loc("F12")] = np.nan
    dates = returns.index
    day0 = [400] * 6 + [380] * 3 + [395, 360, 385, 410, 405]
    events = pd.DataFrame(
        {
            "event_id": [f"E{d}" for d in day0],
            "ticker": [f"F{i:02d}" for i in range(14)],
            "day0": dates[day0],
        }
    )
    return returns, events


# ----------------------------------------------------------------------------------------------
# independent reference: one statsmodels OLS per firm-event and the papers' formulas
# ----------------------------------------------------------------------------------------------


def reference_firms(
    returns: pd.DataFrame, events: pd.DataFrame, regressors: list[str], windows: list[tuple[int, int]]
) -> list[dict]:
    """Per firm-event: OLS fit, ARs over the span, SARs, window CARs with the exact CAR variance."""
    span = (min(s for s, _ in windows), max(e for _, e in windows))
    out = []
    for ev in events.itertuples(index=False):
        p = returns.index.get_loc(ev.day0)
        est = returns.iloc[max(0, p + EST[0]) : p + EST[1] + 1]
        y = est[ev.ticker]
        xs = est[regressors] if regressors else pd.DataFrame(index=est.index)
        keep = y.notna() & xs.notna().all(axis=1)
        design = np.column_stack([np.ones(int(keep.sum())), xs[keep].to_numpy()])
        fit = sm.OLS(y[keep].to_numpy(), design).fit()
        xtx_inv = np.linalg.inv(design.T @ design)
        s2 = fit.ssr / fit.df_resid
        ev_rows = returns.iloc[p + span[0] : p + span[1] + 1]
        ev_design = np.column_stack([np.ones(len(ev_rows)), ev_rows[regressors].to_numpy()])
        expected = ev_design @ fit.params
        ar = ev_rows[ev.ticker].to_numpy() - expected
        sar = np.array([ar[i] / np.sqrt(s2 * (1 + ev_design[i] @ xtx_inv @ ev_design[i])) for i in range(len(ar))])
        win = {}
        for s, e in windows:
            rows = slice(s - span[0], e - span[0] + 1)
            design_w = ev_design[rows]
            ones = np.ones(e - s + 1)
            var = s2 * (ones @ (np.eye(e - s + 1) + design_w @ xtx_inv @ design_w.T) @ ones)
            car = ar[rows].sum()
            t = car / np.sqrt(var)
            bhar = np.prod(1 + ev_rows[ev.ticker].to_numpy()[rows]) - np.prod(1 + expected[rows])
            win[(s, e)] = {"car": car, "t": t, "p": 2 * stats.t.sf(abs(t), fit.df_resid), "bhar": bhar}
        full_design = np.column_stack([np.ones(len(est)), est[regressors].to_numpy()])
        resid = est[ev.ticker].to_numpy() - full_design @ fit.params
        resid = np.concatenate([np.full(max(0, -(p + EST[0])), np.nan), resid])
        # Corrado's rank span: every session from the estimation start to max(+10, window end), past the data NaN
        taus = np.arange(EST[0], max([RANK_END] + [e for _, e in windows]) + 1)
        at = p + taus
        inside = (at >= 0) & (at < len(returns))
        rank_design = np.full((taus.size, 1 + len(regressors)), np.nan)
        rank_y = np.full(taus.size, np.nan)
        rank_design[inside] = np.column_stack([np.ones(int(inside.sum())), returns[regressors].to_numpy()[at[inside]]])
        rank_y[inside] = returns[ev.ticker].to_numpy()[at[inside]]
        out.append(
            {
                "event_id": ev.event_id,
                "ticker": ev.ticker,
                "day0": ev.day0,
                "params": fit.params,
                "sigma": np.sqrt(s2),
                "r2": fit.rsquared,
                "n": int(fit.nobs),
                "df": fit.df_resid,
                "ar": ar,
                "sar": sar,
                "expected": expected,
                "windows": win,
                "resid": resid,
                "rank_resid": rank_y - rank_design @ fit.params,
            }
        )
    return out


def reference_tests(ref: list[dict], window: tuple[int, int]) -> dict[str, tuple[float, float]]:
    """Every aggregate statistic for one window, written from the papers' formulas."""
    s, e = window
    length = e - s + 1
    n = len(ref)
    car = np.array([r["windows"][window]["car"] for r in ref])
    scar = np.array([r["windows"][window]["t"] for r in ref])
    df = np.array([r["df"] for r in ref])
    out = {}
    res = stats.ttest_1samp(car, 0.0)
    out["t_cross_section"] = (res.statistic, res.pvalue)
    z = scar.sum() / np.sqrt(sum(d / (d - 2) for d in df))  # Patell (1976)
    out["patell_z"] = (z, 2 * stats.norm.sf(abs(z)))
    res = stats.ttest_1samp(scar, 0.0)  # BMP (1991)
    out["bmp_t"] = (res.statistic, res.pvalue)
    # Kolari-Pynnoenen (2010): average pairwise correlation of estimation residuals, same day0 only, each
    # pair over the days both firms have (pairwise-complete)
    total = 0.0
    for a, b in itertools.permutations(range(n), 2):
        if ref[a]["day0"] == ref[b]["day0"]:
            both = np.isfinite(ref[a]["resid"]) & np.isfinite(ref[b]["resid"])
            total += np.corrcoef(ref[a]["resid"][both], ref[b]["resid"][both])[0, 1]
    rbar = total / (n * (n - 1))
    zk = z * np.sqrt(1 / (1 + (n - 1) * rbar))
    out["kp_patell_z"] = (zk, 2 * stats.norm.sf(abs(zk)))
    tk = res.statistic * np.sqrt((1 - rbar) / (1 + (n - 1) * rbar))
    out["kp_bmp_t"] = (tk, 2 * stats.t.sf(abs(tk), n - 1))
    # Brown-Warner (1980) crude dependence adjustment: sd of the event-time AAR series
    resid = np.array([r["resid"] for r in ref])
    aar = np.array([np.nanmean(resid[:, t]) for t in range(resid.shape[1])])
    tcd = car.mean() / (np.sqrt(length) * np.std(aar, ddof=1))
    out["crude_dependence_t"] = (tcd, 2 * stats.t.sf(abs(tcd), len(aar) - 1))
    # Corrado (1989) with Corrado-Zivney standardized ranks U = K / (M + 1), over the fixed rank span
    # [estimation start, +10]: the estimation residuals, the sessions between, and the event ARs
    u = np.full((n, len(ref[0]["rank_resid"])), np.nan)
    for i, r in enumerate(ref):
        sample = r["rank_resid"]
        valid = ~np.isnan(sample)
        u[i, valid] = stats.rankdata(sample[valid]) / (valid.sum() + 1)
    ubar = np.array([np.nanmean(u[:, t] - 0.5) if np.isfinite(u[:, t]).any() else np.nan for t in range(u.shape[1])])
    s_u = np.sqrt(np.nanmean(ubar**2))
    cols = [tau - EST[0] for tau in range(s, e + 1)]
    zc = ubar[cols].sum() / np.sqrt(length) / s_u
    out["corrado_rank"] = (zc, 2 * stats.norm.sf(abs(zc)))
    # Cowan (1992) generalized sign test
    p_hat = np.mean([np.sum(r["resid"] > 0) / np.sum(~np.isnan(r["resid"])) for r in ref])
    w = np.sum(car > 0)
    zg = (w - n * p_hat) / np.sqrt(n * p_hat * (1 - p_hat))
    out["generalized_sign_z"] = (zg, 2 * stats.norm.sf(abs(zg)))
    ranks = stats.rankdata(np.abs(car))
    out["wilcoxon_signed_rank"] = (ranks[car > 0].sum(), stats.wilcoxon(car).pvalue)
    # sign-flip: every one of the 2^N sign patterns
    observed = abs(scar.sum())
    hits = sum(abs(np.dot(signs, scar)) >= observed * (1 - 1e-12) for signs in itertools.product([1, -1], repeat=n))
    out["sign_flip_permutation"] = (scar.sum() / np.sqrt((scar**2).sum()), hits / 2**n)
    return out


# ----------------------------------------------------------------------------------------------
# exactness against the references
# ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def market_fit(panel):
    returns, events = panel
    return EventStudy(returns, events, event_windows=WINDOWS, min_estimation_obs=60).fit()


@pytest.fixture(scope="module")
def market_ref(panel):
    returns, events = panel
    return reference_firms(returns, events, ["SPY"], WINDOWS)


def test_market_model_estimates_match_statsmodels(market_fit, market_ref):
    est = market_fit.estimates.set_index("ticker")
    assert (est["status"] == "ok").all(), est[["status", "reason"]]
    for r in market_ref:
        row = est.loc[r["ticker"]]
        np.testing.assert_allclose([row["alpha"], row["beta"]], r["params"], rtol=0, atol=TOL)
        np.testing.assert_allclose([row["sigma_e"], row["r2"]], [r["sigma"], r["r2"]], rtol=0, atol=TOL)
        assert row["n_est"] == r["n"] and row["df"] == r["df"]
    assert est.loc["F10", "n_est"] == 240 - 17 and est.loc["F12", "n_est"] < 240
    assert est.loc["F02", "n_est"] == 240 - 11 and est.loc["F04", "n_est"] == 240 - 6


def test_abnormal_returns_and_sar_match(market_fit, market_ref):
    ab = market_fit.abnormal
    for r in market_ref:
        rows = ab[ab["ticker"] == r["ticker"]].sort_values("tau")
        np.testing.assert_allclose(rows["ar"], r["ar"], rtol=0, atol=TOL)
        np.testing.assert_allclose(rows["expected"], r["expected"], rtol=0, atol=TOL)
        np.testing.assert_allclose(rows["sar"], r["sar"], rtol=0, atol=TOL)
        np.testing.assert_allclose(rows["car"], np.cumsum(r["ar"]), rtol=0, atol=TOL)


def test_window_car_t_and_p_use_exact_forecast_error_variance(market_fit, market_ref):
    win = market_fit.windows.set_index(["ticker", "start", "end"])
    for r in market_ref:
        for (s, e), ref in r["windows"].items():
            row = win.loc[(r["ticker"], s, e)]
            np.testing.assert_allclose(
                [row["car"], row["car_t"], row["car_p"], row["bhar"], row["scar"]],
                [ref["car"], ref["t"], ref["p"], ref["bhar"], ref["t"]],
                rtol=0,
                atol=TOL,
            )


@pytest.mark.parametrize("window", WINDOWS)
def test_every_aggregate_test_matches_its_paper(market_fit, market_ref, window):
    expected = reference_tests(market_ref, window)
    got = market_fit.tests[(market_fit.tests["start"] == window[0]) & (market_fit.tests["end"] == window[1])]
    got = got.set_index("test")
    assert set(got.index) == set(expected)
    for name, (stat, p) in expected.items():
        np.testing.assert_allclose(
            got.loc[name, ["statistic", "p_value"]].astype(float), [stat, p], rtol=0, atol=TOL, err_msg=name
        )
    assert got["clustered"].all()
    robust = {"kp_patell_z", "kp_bmp_t", "crude_dependence_t", "corrado_rank"}
    assert set(got.index[got["adjusts_cross_correlation"]]) == robust


def test_factor_model_matches_statsmodels(panel):
    returns, events = panel
    fit = EventStudy(
        returns,
        events,
        model="factors",
        factors=returns[["SPY", "FAC0", "FAC1"]],
        event_windows=WINDOWS,
        min_estimation_obs=60,
    ).fit()
    ref = reference_firms(returns, events, ["SPY", "FAC0", "FAC1"], WINDOWS)
    est = fit.estimates.set_index("ticker")
    win = fit.windows.set_index(["ticker", "start", "end"])
    for r in ref:
        row = est.loc[r["ticker"]]
        np.testing.assert_allclose(
            row[["alpha", "beta_SPY", "beta_FAC0", "beta_FAC1"]].astype(float), r["params"], atol=TOL, rtol=0
        )
        for (s, e), w in r["windows"].items():
            np.testing.assert_allclose(
                win.loc[(r["ticker"], s, e), ["car", "car_t", "car_p"]].astype(float),
                [w["car"], w["t"], w["p"]],
                atol=TOL,
                rtol=0,
            )
    patell = fit.tests[(fit.tests["test"] == "patell_z") & (fit.tests["start"] == 0) & (fit.tests["end"] == 0)]
    expected = reference_tests(ref, (0, 0))["patell_z"]
    np.testing.assert_allclose(patell[["statistic", "p_value"]].to_numpy()[0], expected, atol=TOL, rtol=0)


def test_constant_mean_matches_statsmodels(panel):
    returns, events = panel
    fit = EventStudy(returns, events, model="constant-mean", event_windows=WINDOWS, min_estimation_obs=60).fit()
    ref = reference_firms(returns, events, [], WINDOWS)
    win = fit.windows.set_index(["ticker", "start", "end"])
    for r in ref:
        for (s, e), w in r["windows"].items():
            np.testing.assert_allclose(
                win.loc[(r["ticker"], s, e), ["car", "car_t", "car_p"]].astype(float),
                [w["car"], w["t"], w["p"]],
                atol=TOL,
                rtol=0,
            )


def test_market_adjusted_uses_the_benchmark_as_expected_return(panel):
    returns, events = panel
    fit = EventStudy(returns, events, model="market-adjusted", event_windows=WINDOWS, min_estimation_obs=60).fit()
    win = fit.windows.set_index(["ticker", "start", "end"])
    for ev in events.itertuples(index=False):
        p = returns.index.get_loc(ev.day0)
        est = returns.iloc[max(0, p + EST[0]) : p + EST[1] + 1]
        e = (est[ev.ticker] - est["SPY"]).dropna()
        s = e.std(ddof=1)
        for lo, hi in WINDOWS:
            car = (returns[ev.ticker] - returns["SPY"]).iloc[p + lo : p + hi + 1].sum()
            t = car / (s * np.sqrt(hi - lo + 1))
            np.testing.assert_allclose(
                win.loc[(ev.ticker, lo, hi), ["car", "car_t", "car_p"]].astype(float),
                [car, t, 2 * stats.t.sf(abs(t), len(e) - 1)],
                atol=TOL,
                rtol=0,
            )


def test_wilcoxon_normal_branch_matches_scipy_asymptotic():
    rng = np.random.default_rng(3)
    car = np.round(rng.normal(0.002, 0.02, (2, 80)), 3)  # rounding makes ties
    result = sig.wilcoxon(car)
    for w in range(2):
        ref = stats.wilcoxon(car[w], method="asymptotic")
        d = car[w][car[w] != 0]
        ranks = stats.rankdata(np.abs(d))
        assert result.statistic[w] == pytest.approx(ranks[d > 0].sum(), abs=TOL)
        assert result.p_value[w] == pytest.approx(ref.pvalue, abs=TOL)


def test_sign_flip_monte_carlo_is_seeded_and_close_to_exact():
    rng = np.random.default_rng(5)
    scar = rng.normal(0.4, 1, (1, 16))
    a = sig.sign_flip(scar, 9999, 0, 2000)
    b = sig.sign_flip(scar, 9999, 0, 2000)
    assert a.method.startswith("monte carlo") and a.p_value[0] == b.p_value[0]
    hits = sum(abs(np.dot(s, scar[0])) >= abs(scar.sum()) * (1 - 1e-12) for s in itertools.product([1, -1], repeat=16))
    assert abs(a.p_value[0] - hits / 2**16) < 0.01
    assert sig.sign_flip(scar, 999, 0, 10).method == "normal limit"


# ----------------------------------------------------------------------------------------------
# size and power by simulation
# ----------------------------------------------------------------------------------------------

SIZE_WINDOWS = [(0, 0), (-1, 1)]


def _rejections(samples: int, firms: int, common: float, inject: float, seed: int) -> pd.DataFrame:
    """Share of samples each test rejects at 5% (window [0,0] and [-1,+1]); all firms share day0."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(samples):
        returns, _ = simulate_panel(rng, firms, 258, common=common)
        returns.iloc[252, :firms] += inject
        events = pd.DataFrame({"event_id": "E", "ticker": returns.columns[:firms], "day0": returns.index[252]})
        tests = EventStudy(returns, events, event_windows=SIZE_WINDOWS, n_permutations=199).fit().tests
        rows.append(tests[["window", "test", "p_value"]])
    frame = pd.concat(rows)
    return frame.assign(reject=frame["p_value"] < 0.05).pivot_table(index="test", columns="window", values="reject")


def test_size_near_nominal_without_events():
    rates = _rejections(samples=400, firms=30, common=0.0, inject=0.0, seed=11)
    print("\nrejection rate at 5% under the null, 400 samples, N=30, independent firms\n", rates.round(3))
    assert rates.to_numpy().min() > 0.015 and rates.to_numpy().max() < 0.09, rates


def test_kp_adjusted_bmp_keeps_size_under_cross_correlated_same_day_events():
    rates = _rejections(samples=300, firms=30, common=0.5, inject=0.0, seed=12)
    print(
        "\nsame-day events, residual cross-correlation 0.2, 300 samples, N=30: "
        f"BMP rejects {rates.loc['bmp_t', '[0,0]']:.3f}, KP-adjusted BMP {rates.loc['kp_bmp_t', '[0,0]']:.3f}, "
        f"crude dependence {rates.loc['crude_dependence_t', '[0,0]']:.3f}\n",
        rates.round(3),
    )
    for window in ("[0,0]", "[-1,+1]"):
        assert rates.loc["bmp_t", window] > 0.25
        assert rates.loc["patell_z", window] > 0.25
        assert 0.015 < rates.loc["kp_bmp_t", window] < 0.10
        assert 0.015 < rates.loc["kp_patell_z", window] < 0.10
        assert 0.015 < rates.loc["crude_dependence_t", window] < 0.10
        assert 0.015 < rates.loc["corrado_rank", window] < 0.10


def test_injected_abnormal_return_is_detected_by_every_test():
    rates = _rejections(samples=20, firms=30, common=0.0, inject=0.02, seed=13)
    print("\npower with a +2% day-0 abnormal return (sigma 2%), N=30\n", rates.round(3))
    assert (rates["[0,0]"] >= 0.9).all(), rates


# ----------------------------------------------------------------------------------------------
# the eventstudy PyPI package (GPL; dev/bench only)
# ----------------------------------------------------------------------------------------------


def test_matches_eventstudy_package_and_its_naive_t(tmp_path):
    es = pytest.importorskip("eventstudy", reason="eventstudy (PyPI) not installed: dev-only comparison skipped")
    rng = np.random.default_rng(8)
    returns, _ = simulate_panel(rng, firms=4, sessions=330)
    path = tmp_path / "returns.csv"
    returns.rename_axis("date").to_csv(path, float_format="%.17g", date_format="%Y-%m-%d")
    es.Single.import_returns(str(path), is_price=False)
    span = (-5, 5)
    windows = [(-5, tau) for tau in range(-5, 6)]
    events = pd.DataFrame({"event_id": "E", "ticker": [f"F{i:02d}" for i in range(4)], "day0": returns.index[300]})
    ours = EventStudy(returns, events, event_windows=windows, se_convention="naive").fit()
    for ticker in events["ticker"]:
        theirs = es.Single.market_model(
            security_ticker=ticker,
            market_ticker="SPY",
            event_date=np.datetime64(returns.index[300].date()),
            event_window=span,
            estimation_size=EST[1] - EST[0] + 1,
            buffer_size=span[0] - EST[1] - 1,
            keep_model=True,
        )
        est = ours.estimates.set_index("ticker").loc[ticker]
        np.testing.assert_allclose([est["alpha"], est["beta"]], theirs.model.params, rtol=0, atol=TOL)
        ab = ours.abnormal[ours.abnormal["ticker"] == ticker].sort_values("tau")
        np.testing.assert_allclose(ab["ar"], theirs.AR, rtol=0, atol=TOL)
        np.testing.assert_allclose(ab["car"], theirs.CAR, rtol=0, atol=TOL)
        win = ours.windows[ours.windows["ticker"] == ticker].sort_values("end")
        np.testing.assert_allclose(win["car_t"], theirs.tstat, rtol=0, atol=TOL)
        np.testing.assert_allclose(win["car_p"], theirs.pvalue, rtol=0, atol=TOL)
        exact = EventStudy(returns, events, event_windows=windows).fit().windows
        exact_t = exact[exact["ticker"] == ticker].sort_values("end")["car_t"].to_numpy()
        assert not np.allclose(exact_t, theirs.tstat, rtol=0, atol=1e-6)


# ----------------------------------------------------------------------------------------------
# real prices: the DeepSeek-R1 sell-off, 2025-01-27
# ----------------------------------------------------------------------------------------------


def test_deepseek_selloff_on_real_prices(shared_data):
    tickers = ["NVDA", "AVGO", "TSM", "MSFT", "META", "AAPL"]
    closes = {
        t: pd.read_csv(shared_data / "prices" / "ibkr_daily" / f"{t}.csv", parse_dates=["date"]).set_index("date")[
            "close"
        ]
        for t in tickers + ["SPY"]
    }
    returns = pd.DataFrame(closes).sort_index().pct_change(fill_method=None).iloc[1:]
    events = pd.DataFrame({"event_id": "deepseek-r1", "ticker": tickers, "day0": pd.Timestamp("2025-01-27")})
    fit = EventStudy(returns, events, benchmark="SPY", estimation_window=(-250, -11)).fit()
    est = fit.estimates.set_index("ticker")
    day0 = fit.windows[fit.windows["window"] == "[0,0]"].set_index("ticker")
    table = est[["n_est", "alpha", "beta", "sigma_e"]].join(
        day0[["car", "car_t", "car_p"]].rename(columns={"car": "ar_day0"})
    )
    print("\nmarket-model AR on 2025-01-27 vs SPY, estimation [-250,-11]\n", table.round(4).to_string())
    print(fit.summary())
    assert (est["status"] == "ok").all()
    for t in ("NVDA", "AVGO"):
        assert day0.loc[t, "car"] < -0.10 and day0.loc[t, "car_p"] < 0.01
    assert day0.loc["AAPL", "car"] > 0
    assert fit.aggregate["clustered"].all()
