"""Behaviour of the event-study API: tidy frames, reported exclusions, input errors, options."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st

from models.event_study import EventStudy, EventStudyResults, residuals, significance
from tests.test_significance_registry import ORDER

WINDOWS = [(0, 0), (-1, 1), (0, 1), (-5, 5)]
TESTS = set(ORDER)  # the stored test names, specified once in tests/test_significance_registry.py


def test_registry_holds_exactly_the_specified_tests():
    """TESTS above is the independent specification (mart.event_tests stores these names)."""
    assert set(significance.names()) == TESTS and len(significance.names()) == len(TESTS)


def make_returns(firms: int = 8, sessions: int = 330, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2021-01-04", periods=sessions)
    spy = rng.normal(0.0004, 0.01, sessions)
    qqq = 1.2 * spy + rng.normal(0, 0.004, sessions)
    values = 0.0002 + np.outer(spy, rng.uniform(0.5, 1.5, firms)) + rng.normal(0, 0.02, (sessions, firms))
    frame = pd.DataFrame(values, index=dates, columns=[f"T{i}" for i in range(firms)])
    frame["SPY"], frame["QQQ"] = spy, qqq
    return frame


@pytest.fixture(scope="module")
def returns() -> pd.DataFrame:
    return make_returns()


def events_on(returns: pd.DataFrame, positions: list[int], tickers: list[str] | None = None) -> pd.DataFrame:
    tickers = tickers or [f"T{i}" for i in range(len(positions))]
    return pd.DataFrame({"event_id": [f"E{i}" for i in range(len(positions))], "ticker": tickers, "day0": returns.index[positions]})


def test_fit_returns_tidy_frames(returns):
    events = events_on(returns, [300, 305, 310, 300, 300, 312])
    res = EventStudy(returns, events, event_windows=WINDOWS).fit()
    assert isinstance(res, EventStudyResults)
    assert len(res.estimates) == 6 and (res.estimates["status"] == "ok").all()
    assert len(res.abnormal) == 6 * 11 and res.abnormal["tau"].between(-5, 5).all()
    assert len(res.windows) == 6 * 4 and len(res.aggregate) == 4 and len(res.aar) == 11
    assert set(res.tests["test"]) == TESTS and len(res.tests) == 4 * len(TESTS)
    assert list(res.tests["window"].unique()) == ["[0,0]", "[-1,+1]", "[0,+1]", "[-5,+5]"]
    assert (res.tests["n"] == 6).all() and res.tests["clustered"].all()
    assert {"alpha", "beta", "sigma_e", "r2", "n_est", "status", "reason"} <= set(res.estimates.columns)
    day0 = res.abnormal[res.abnormal["tau"] == 0]
    assert (day0["date"].to_numpy() == pd.DatetimeIndex(events["day0"]).to_numpy()).all()
    caar = res.aggregate.set_index("window").loc["[-5,+5]", "caar"]
    assert caar == pytest.approx(res.aar["caar"].iloc[-1], abs=1e-15)
    assert res.windows.groupby("window")["car"].mean()["[0,0]"] == pytest.approx(res.aar.set_index("tau").loc[0, "aar"])


def test_tau_counts_sessions_of_the_index_not_calendar_days(returns):
    holes = returns.drop(returns.index[[301, 302]])
    res = EventStudy(holes, events_on(holes, [300]), event_windows=[(0, 1)], min_estimation_obs=100).fit()
    dates = res.abnormal.set_index("tau")["date"]
    assert dates[1] == holes.index[301] == returns.index[303]


def test_unusable_events_are_reported_with_reasons(returns):
    data = returns.copy()
    data.iloc[:200, data.columns.get_loc("T2")] = np.nan
    data.iloc[301, data.columns.get_loc("T3")] = np.nan
    data["FLAT"] = 0.001
    events = pd.DataFrame(
        {
            "event_id": ["ok", "holiday", "young", "gap", "late", "flat", "self"],
            "ticker": ["T0", "T1", "T2", "T3", "T4", "T5", "SPY"],
            "day0": [data.index[300], pd.Timestamp("2021-07-04"), data.index[300], data.index[300], data.index[-3], data.index[300], data.index[300]],
            "benchmark": [None, None, None, None, None, "FLAT", "SPY"],
        }
    )
    res = EventStudy(data, events, event_windows=WINDOWS).fit()
    status = res.estimates.set_index("event_id")["status"]
    assert status.to_dict() == {
        "ok": "ok",
        "holiday": "day0_not_in_data",
        "young": "insufficient_history",
        "gap": "missing_event_returns",
        "late": "event_window_outside_data",
        "flat": "singular_design",
        "self": "zero_residual_variance",
    }
    reasons = res.estimates.set_index("event_id")["reason"]
    assert "2021-07-04" in reasons["holiday"]
    assert "min_estimation_obs 120" in reasons["young"]
    assert "T3" in reasons["gap"] and "tau +1" in reasons["gap"]
    assert set(res.abnormal["event_id"]) == {"ok"} and (res.tests["n"] == 1).all()
    beta = res.estimates.set_index("event_id")["beta"]
    assert np.isfinite(beta["gap"]) and np.isnan(beta["young"]) and np.isnan(beta["holiday"])
    assert "excluded firm-events (6)" in res.summary()


@pytest.mark.parametrize(
    ("kwargs", "events_change", "message"),
    [
        ({}, {"ticker": "NOPE"}, "unknown ticker 'NOPE'"),
        ({"benchmark": "IWM"}, {}, "benchmark 'IWM'"),
        ({"estimation_window": (-250, -1)}, {}, "estimation_window"),
        ({"estimation_window": (-11, -250)}, {}, "estimation_window starts after it ends"),
        ({"event_windows": [(2, 1)]}, {}, r"event_windows\[0\]"),
        ({"event_windows": [(0, 1.5)]}, {}, "integers"),
        ({"event_windows": []}, {}, "non-empty"),
        ({"model": "capm"}, {}, "unknown model 'capm'"),
        ({"model": "factors"}, {}, "needs factors"),
        ({"min_estimation_obs": 300}, {}, "min_estimation_obs"),
        ({"min_estimation_obs": 2}, {}, "min_estimation_obs"),
        ({"returns_kind": "pct"}, {}, "returns_kind"),
        ({"se_convention": "robust"}, {}, "se_convention"),
        ({"benchmark": 3}, {}, "benchmark must be"),
    ],
)
def test_bad_input_raises_a_clear_value_error(returns, kwargs, events_change, message):
    events = events_on(returns, [300, 301]).assign(**events_change)
    with pytest.raises(ValueError, match=message):
        EventStudy(returns, events, **kwargs)


def test_bad_frames_raise(returns):
    events = events_on(returns, [300, 301])
    with pytest.raises(ValueError, match="duplicate firm-event"):
        EventStudy(returns, pd.concat([events, events.iloc[:1]]))
    with pytest.raises(ValueError, match="lacks column"):
        EventStudy(returns, events.drop(columns="day0"))
    with pytest.raises(ValueError, match="infinite"):
        EventStudy(returns.replace(returns.iloc[200, 0], np.inf), events)
    with pytest.raises(ValueError, match="sorted"):
        EventStudy(returns.iloc[::-1], events)
    with pytest.raises(ValueError, match="events is empty"):
        EventStudy(returns, events.iloc[:0])


def test_benchmark_series_and_per_event_benchmark(returns):
    events = events_on(returns, [300, 305])
    by_name = EventStudy(returns, events, benchmark="QQQ").fit().estimates
    by_series = EventStudy(returns.drop(columns="QQQ"), events, benchmark=returns["QQQ"]).fit().estimates
    np.testing.assert_allclose(by_name["beta"], by_series["beta"], rtol=0, atol=1e-12)
    assert (by_series["benchmark"] == "QQQ").all()
    mixed = EventStudy(returns, events.assign(benchmark=["QQQ", None])).fit().estimates
    spy = EventStudy(returns, events).fit().estimates
    assert mixed["beta"].iloc[0] == pytest.approx(by_name["beta"].iloc[0], abs=1e-12)
    assert mixed["beta"].iloc[1] == pytest.approx(spy["beta"].iloc[1], abs=1e-12)
    assert list(mixed["benchmark"]) == ["QQQ", "SPY"]


def test_log_returns_compound_bhar_by_exponentiation(returns):
    logs = np.log1p(returns)
    events = events_on(returns, [300])
    res = EventStudy(logs, events, returns_kind="log", event_windows=[(-1, 1)]).fit()
    ab = res.abnormal[res.abnormal["tau"].between(-1, 1)]
    expected = np.expm1(ab["ret"].sum()) - np.expm1(ab["expected"].sum())
    assert res.windows["bhar"].iloc[0] == pytest.approx(expected, abs=1e-14)
    simple = EventStudy(logs, events, event_windows=[(-1, 1)]).fit().windows["bhar"].iloc[0]
    assert simple == pytest.approx(np.prod(1 + ab["ret"]) - np.prod(1 + ab["expected"]), abs=1e-14)


def test_cross_section_regression_uses_robust_errors(returns):
    events = events_on(returns, [300, 302, 304, 306, 308, 310, 312, 314])
    res = EventStudy(returns, events).fit()
    rng = np.random.default_rng(1)
    chars = pd.DataFrame({"size": rng.normal(size=8), "momentum": rng.normal(size=8)}, index=events["ticker"])
    fit = res.cross_section((-1, 1), chars, cov_type="HC3")
    car = res.windows[res.windows["window"] == "[-1,+1]"].set_index("ticker")["car"].loc[chars.index]
    ref = sm.OLS(car.to_numpy(), sm.add_constant(chars)).fit(cov_type="HC3")
    np.testing.assert_allclose(fit.params.to_numpy(), ref.params.to_numpy(), atol=1e-12)
    np.testing.assert_allclose(fit.bse.to_numpy(), ref.bse.to_numpy(), atol=1e-12)
    keyed = chars.reset_index().assign(event_id=events["event_id"].to_numpy())
    assert res.cross_section("[-1,+1]", keyed).params.index.tolist() == ["const", "size", "momentum"]
    with pytest.raises(ValueError, match="unknown window"):
        res.cross_section((-2, 2), chars)
    with pytest.raises(ValueError, match="no characteristics for 1"):
        res.cross_section((0, 0), chars.iloc[1:])
    with pytest.raises(ValueError, match="not numeric"):
        res.cross_section((0, 0), chars.assign(sector="tech"))


def test_summary_is_readable(returns):
    res = EventStudy(returns, events_on(returns, [300, 300, 300])).fit()
    text = res.summary()
    for piece in ("market model, benchmark SPY", "window [-1,+1]", "KP-adjusted BMP", "Corrado", "CLUSTERED", "N=3"):
        assert piece in text
    assert str(res) == text


def test_distinct_day0s_are_not_clustered(returns):
    res = EventStudy(returns, events_on(returns, [300, 303, 306, 309])).fit()
    assert not res.tests["clustered"].any()
    assert (res.aggregate["rbar"] == 0).all()
    kp = res.tests.set_index(["window", "test"])
    assert kp.loc[("[0,0]", "kp_bmp_t"), "statistic"] == pytest.approx(kp.loc[("[0,0]", "bmp_t"), "statistic"])


def test_market_adjusted_rbar_is_the_average_residual_correlation(returns):
    events = events_on(returns, [300] * 5)
    res = EventStudy(returns, events, model="market-adjusted").fit()
    est = returns.iloc[300 - 250 : 300 - 10]
    resid = np.array([(est[t] - est["SPY"]).to_numpy() for t in events["ticker"]])
    corr = np.corrcoef(resid)
    expected = (corr.sum() - 5) / (5 * 4)
    assert res.aggregate["rbar"].iloc[0] == pytest.approx(expected, abs=1e-12)


def test_chunked_residual_pass_equals_a_single_chunk(monkeypatch):
    data = make_returns(firms=150, sessions=300, seed=4)
    events = pd.concat(
        [events_on(data, [280] * 150, [f"T{i}" for i in range(150)]).assign(event_id="A"),
         events_on(data, [285] * 90, [f"T{i}" for i in range(90)]).assign(event_id="B")]
    )
    one = EventStudy(data, events).fit().tests
    monkeypatch.setattr(residuals, "_CHUNK_BYTES", 1)
    many = EventStudy(data, events).fit().tests
    np.testing.assert_allclose(many["statistic"], one["statistic"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(many["p_value"], one["p_value"], rtol=1e-12, atol=1e-12)


def test_sign_flip_method_depends_on_sample_size(returns):
    small = EventStudy(returns, events_on(returns, [300, 301, 302])).fit().tests
    method = small.set_index("test").loc["sign_flip_permutation", "method"].iloc[0]
    assert method == "exact"
    capped = EventStudy(returns, events_on(returns, [300, 301, 302]), permutation_max_n=2).fit().tests
    assert capped.set_index("test").loc["sign_flip_permutation", "method"].iloc[0] == "normal limit"


@settings(max_examples=15, deadline=None)
@given(shift=st.floats(-0.01, 0.01), scale=st.floats(0.2, 5.0))
def test_affine_changes_to_firm_returns_move_only_what_they_should(shift, scale):
    data = make_returns(firms=3, sessions=300, seed=9)
    events = events_on(data, [280, 285, 290])
    base = EventStudy(data, events, event_windows=[(0, 0), (-2, 2)]).fit()
    moved = data.copy()
    moved[["T0", "T1", "T2"]] = moved[["T0", "T1", "T2"]] * scale + shift
    other = EventStudy(moved, events, event_windows=[(0, 0), (-2, 2)]).fit()
    np.testing.assert_allclose(other.estimates["alpha"], base.estimates["alpha"] * scale + shift, atol=1e-12)
    np.testing.assert_allclose(other.abnormal["ar"], base.abnormal["ar"] * scale, atol=1e-12)
    np.testing.assert_allclose(other.windows["car_t"], base.windows["car_t"], atol=1e-8)
