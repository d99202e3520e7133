"""The significance-test registry: one entry per test, read by the engine, summary(), the CLI tables and
the dashboards; a test registered at runtime shows up everywhere without touching another file."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.event_study import EventStudy, significance
from models.event_study.significance import SignificanceTest, TestInputs, TestResult
from pipelines import study

# The stored order of mart.event_tests (and of every table that lists the tests): never reorder.
ORDER = (
    "t_cross_section",
    "patell_z",
    "bmp_t",
    "kp_patell_z",
    "kp_bmp_t",
    "crude_dependence_t",
    "corrado_rank",
    "generalized_sign_z",
    "wilcoxon_signed_rank",
    "sign_flip_permutation",
)
ROBUST = {"kp_patell_z", "kp_bmp_t", "crude_dependence_t", "corrado_rank"}
WINDOWS = [(0, 0), (-1, 1), (-5, 5)]


def _returns(firms: int = 6, sessions: int = 330, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2021-01-04", periods=sessions)
    spy = rng.normal(0.0004, 0.01, sessions)
    values = 0.0002 + np.outer(spy, rng.uniform(0.5, 1.5, firms)) + rng.normal(0, 0.02, (sessions, firms))
    frame = pd.DataFrame(values, index=dates, columns=[f"T{i}" for i in range(firms)])
    frame["SPY"] = spy
    return frame


def _events(returns: pd.DataFrame, day: int = 300) -> pd.DataFrame:
    tickers = [c for c in returns.columns if c != "SPY"]
    return pd.DataFrame({"event_id": "E", "ticker": tickers, "day0": returns.index[day]})


@pytest.fixture(scope="module")
def returns() -> pd.DataFrame:
    return _returns()


@pytest.fixture
def scratch_registry(monkeypatch):
    """A copy of the registry for this test only (the module's REGISTRY comes back afterwards)."""
    monkeypatch.setattr(significance, "REGISTRY", dict(significance.REGISTRY))
    return significance.REGISTRY


def test_order_names_and_flags():
    assert significance.names() == ORDER
    assert {t.name for t in significance.registered() if t.robust_to_clustering} == ROBUST
    seen: set[str] = set()
    for test in significance.registered():
        assert test.label and test.display_label and callable(test.function)
        assert set(test.needs) <= seen, f"{test.name} needs a test registered after it"
        seen.add(test.name)
    labels = [t.label for t in significance.registered()]
    assert len(set(labels)) == len(labels)
    assert significance.registered()[3].needs == ("patell_z",) and significance.get("kp_bmp_t").needs == ("bmp_t",)


def test_every_registered_test_is_in_the_output_with_its_label_and_flag(returns):
    res = EventStudy(returns, _events(returns), event_windows=WINDOWS).fit()
    for window, rows in res.tests.groupby("window", sort=False):
        assert tuple(rows["test"]) == significance.names(), window
    flags = res.tests.drop_duplicates("test").set_index("test")["adjusts_cross_correlation"]
    assert {name: bool(flags[name]) for name in ORDER} == {t.name: t.robust_to_clustering for t in significance.registered()}
    text = res.summary()
    for test in significance.registered():
        assert text.count(test.label) == len(WINDOWS), test.name
    # a sample with no usable firm-event still lists every registered test, as NaN
    empty = EventStudy(returns, _events(returns, day=5), event_windows=WINDOWS).fit()
    assert tuple(empty.tests["test"].drop_duplicates()) == ORDER and empty.tests["statistic"].isna().all()
    assert set(empty.tests.loc[empty.tests["adjusts_cross_correlation"], "test"]) == ROBUST


def test_dashboard_and_text_labels_come_from_the_registry():
    assert significance.label("kp_bmp_t") == "KP-adjusted BMP (2010)"
    assert significance.display_label("kp_bmp_t") == "BMP t, Kolari-Pynnönen adjusted"
    assert significance.label("no_such_test") == "no_such_test" == significance.display_label("no_such_test")
    app = pytest.importorskip("dashboards.app")
    assert [app._test_label(n) for n in ORDER] == [t.display_label for t in significance.registered()]


def test_a_test_registered_at_runtime_shows_up_everywhere(returns, scratch_registry):
    @significance.significance_test(
        "toy_bmp_half", "toy half-BMP", robust_to_clustering=True, display_label="Toy: half the BMP t",
        needs=("bmp_t",),
    )
    def toy(x: TestInputs) -> TestResult:
        half = x.prior["bmp_t"].statistic / 2.0
        return TestResult("ignored", half, np.full(len(x.windows), 0.5), np.full(len(x.windows), x.n - 1.0), "toy")

    assert significance.names() == (*ORDER, "toy_bmp_half")
    res = EventStudy(returns, _events(returns), event_windows=WINDOWS).fit()
    for _, rows in res.tests.groupby("window", sort=False):
        assert tuple(rows["test"]) == (*ORDER, "toy_bmp_half")
    wide = res.tests.set_index(["window", "test"])
    np.testing.assert_array_equal(
        wide.xs("toy_bmp_half", level="test")["statistic"].to_numpy(),
        wide.xs("bmp_t", level="test")["statistic"].to_numpy() / 2.0,
    )
    toy_rows = res.tests[res.tests["test"] == "toy_bmp_half"]
    assert toy_rows["adjusts_cross_correlation"].all() and (toy_rows["method"] == "toy").all()
    assert (toy_rows["p_value"] == 0.5).all() and (toy_rows["df"] == len(returns.columns) - 2).all()
    text = res.summary()
    assert text.count("+ toy half-BMP") == len(WINDOWS)
    assert significance.display_label("toy_bmp_half") == "Toy: half the BMP t"
    shuffled = res.tests.sample(frac=1.0, random_state=0)
    table = study.tests_table(shuffled[shuffled["window"] == "[-1,+1]"])
    assert tuple(table["test"]) == (*ORDER, "toy_bmp_half") and table["robust_to_clustering"].iloc[-1]
    # the battery's own numbers do not move when a test is added
    significance.unregister("toy_bmp_half")
    again = EventStudy(returns, _events(returns), event_windows=WINDOWS).fit()
    pd.testing.assert_frame_equal(again.tests, res.tests[res.tests["test"] != "toy_bmp_half"].reset_index(drop=True))
    assert "toy half-BMP" not in again.summary()
    # a name the registry no longer knows prints as itself instead of raising KeyError
    assert "toy_bmp_half" in res.summary()


def test_registration_is_checked(scratch_registry, returns):
    def dummy(x: TestInputs) -> TestResult:
        nan = np.full(len(x.windows), np.nan)
        return TestResult("dummy", nan, nan, nan, "dummy")

    with pytest.raises(ValueError, match="already registered"):
        significance.register(SignificanceTest("bmp_t", "again", dummy))
    with pytest.raises(ValueError, match="not registered before it"):
        significance.register(SignificanceTest("later", "later", dummy, needs=("nope",)))
    with pytest.raises(ValueError, match="identifier"):
        significance.register(SignificanceTest("has space", "x", dummy))
    with pytest.raises(ValueError, match="needed by"):
        significance.unregister("patell_z")
    assert significance.names() == ORDER

    significance.register(SignificanceTest("too_short", "too short", lambda x: TestResult("t", *[np.zeros(1)] * 3, "m")))
    with pytest.raises(ValueError, match="'too_short' returned statistic of shape"):
        EventStudy(returns, _events(returns), event_windows=WINDOWS).fit()


def test_tests_table_reads_the_registry_order():
    names = list(ORDER)
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({
        "window": ["[-1,+1]"] * len(names) + ["[0,0]"] * len(names),
        "test": names[::-1] + names,
        "statistic": rng.normal(size=2 * len(names)),
        "p_value": 0.5,
        "n": 3,
        "adjusts_cross_correlation": [n in ROBUST for n in names[::-1] + names],
    })
    table = study.tests_table(frame)
    assert list(table["window"]) == ["[-1,+1]"] * len(names) + ["[0,0]"] * len(names)
    assert list(table["test"]) == names + names
    assert list(table.columns) == ["window", "test", "statistic", "p_value", "n", "robust_to_clustering"]
    assert study.tests_table(frame.iloc[0:0]).empty
