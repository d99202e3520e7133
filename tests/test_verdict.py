"""The verdict (models/event_study/verdict.py): which firms moved, which group test counts and why, the size."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from models.event_study import EventStudy
from models.event_study.verdict import CLUSTERED_REASON, INDEPENDENT_REASON, SINGLE_REASON, verdicts


def _frames(clustered: bool = True) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """One window [-1,+1], three firms: NVDA fell significantly, MSFT rose significantly, META did not move."""
    windows = pd.DataFrame(
        {
            "ticker": ["NVDA", "MSFT", "META"],
            "window": "[-1,+1]",
            "tau_start": -1,
            "tau_end": 1,
            "car": [-0.17, 0.03, 0.004],
            "car_t": [-6.1, 2.4, 0.3],
            "car_p": [1e-8, 0.017, 0.76],
        }
    )
    aggregates = pd.DataFrame(
        {
            "window": ["[-1,+1]"],
            "tau_start": [-1],
            "tau_end": [1],
            "n": [3],
            "caar": [-0.0453],
            "clustered": [clustered],
        }
    )
    tests = pd.DataFrame(
        {
            "window": "[-1,+1]",
            "tau_start": -1,
            "tau_end": 1,
            "test": ["t_cross_section", "bmp_t", "kp_bmp_t", "corrado_rank"],
            "statistic": [-0.9, -3.0, -1.4, -1.1],
            "p_value": [0.46, 0.003, 0.16, 0.27],
            "adjusts_cross_correlation": [False, False, True, True],
        }
    )
    return windows, aggregates, tests


def test_clustered_event_reads_the_robust_test_and_says_why():
    row = verdicts(*_frames(clustered=True)).iloc[0]
    assert row["significant_tickers"] == ["NVDA", "MSFT"]
    assert row["tickers_down"] == ["NVDA"] and row["tickers_up"] == ["MSFT"]
    assert row["group_test"] == "kp_bmp_t" and row["group_p"] == pytest.approx(0.16)
    assert (
        row["group_significant"] is not None and not row["group_significant"]
    )  # BMP alone (p = 0.003) would have said significant
    assert row["reason"] == CLUSTERED_REASON
    sentence = row["sentence"]
    assert sentence.startswith("CAR[-1,+1]: NVDA -17.0% (t = -6.10, p < 0.001); MSFT +3.0% (t = 2.40, p = 0.017)")
    assert "META did not" in sentence and "mean CAR -4.5%" in sentence and "not significant" in sentence
    assert CLUSTERED_REASON in sentence
    assert row["valid_tests"] == ["kp_bmp_t", "corrado_rank"] and row["valid_significant"] == []
    assert "; 0 of 2 valid tests significant" in sentence


def test_independent_event_days_read_bmp():
    row = verdicts(*_frames(clustered=False)).iloc[0]
    assert row["group_test"] == "bmp_t" and bool(row["group_significant"])
    assert row["reason"] == INDEPENDENT_REASON
    assert row["valid_tests"] == ["t_cross_section", "bmp_t", "kp_bmp_t", "corrado_rank"]
    assert row["valid_significant"] == ["bmp_t"] and "1 of 4 valid tests significant" in row["sentence"]


def test_alpha_is_a_parameter():
    row = verdicts(*_frames(), alpha=0.01).iloc[0]
    assert row["significant_tickers"] == ["NVDA"]
    assert "at 1%" in row["sentence"]


def test_a_single_firm_has_no_group_test():
    windows, aggregates, tests = _frames()
    one = windows.iloc[:1]
    row = verdicts(one, aggregates.assign(n=1, caar=-0.17), tests.assign(p_value=np.nan)).iloc[0]
    assert row["group_test"] is None and row["group_significant"] is None and math.isnan(row["group_p"])
    assert row["reason"] == SINGLE_REASON
    assert row["sentence"] == "CAR[-1,+1]: NVDA -17.0% (t = -6.10, p < 0.001) moved significantly at 5%."


def test_no_robust_test_computable_is_said_not_replaced_by_a_biased_one():
    windows, aggregates, tests = _frames()
    robust = tests["adjusts_cross_correlation"]
    row = verdicts(windows, aggregates, tests.assign(p_value=tests["p_value"].where(~robust))).iloc[0]
    assert row["group_test"] is None
    assert "none of them could be computed" in row["reason"]


@pytest.mark.parametrize(
    ("dollars", "expected"),
    [
        (
            pd.DataFrame({"ticker": ["NVDA", "MSFT", "META", "AAPL"], "dollar_abnormal": [-589e9, 20e9, 1e9, 1e12]}),
            -568e9,
        ),
        (
            pd.DataFrame(
                {
                    "ticker": ["NVDA", "NVDA", "NVDA", "MSFT", "META"],
                    "tau": [-2, -1, 0, 1, 0],
                    "dollar_change": [5e9, -1e9, -2e9, 4e9, 3e9],
                }
            ),
            4e9,
        ),
        (
            pd.DataFrame(
                {
                    "ticker": ["NVDA", "NVDA", "MSFT", "META"],
                    "tau_start": [-1, 0, -1, -1],
                    "tau_end": [1, 0, 1, 1],
                    "dollar_abnormal": [-3e9, -9e9, 1e9, 0.5e9],
                }
            ),
            -1.5e9,
        ),
    ],
    ids=["totals", "per-session", "per-window"],
)
def test_dollars_sum_the_samples_firms_over_the_window(dollars, expected):
    row = verdicts(*_frames(), dollars=dollars).iloc[0]
    assert row["dollars"] == pytest.approx(expected)
    assert ("abnormal value change" in row["sentence"]) == ("dollar_abnormal" in dollars)
    assert row["sentence"].endswith(f"{'-' if expected < 0 else '+'}${abs(expected) / 1e9:.1f}bn.")


def test_a_firm_without_a_market_value_gives_no_dollar_total():
    missing = pd.DataFrame({"ticker": ["NVDA", "MSFT", "META"], "dollar_abnormal": [-589e9, 20e9, np.nan]})
    absent = pd.DataFrame({"ticker": ["NVDA", "MSFT"], "dollar_abnormal": [-589e9, 20e9]})
    for dollars in (missing, absent):
        row = verdicts(*_frames(), dollars=dollars).iloc[0]
        assert row["dollars"] is None and "$" not in row["sentence"]


def test_without_dollars_the_sentence_has_no_size_in_dollars():
    row = verdicts(*_frames()).iloc[0]
    assert row["dollars"] is None and "$" not in row["sentence"]


def test_verdict_reads_a_fresh_fit():
    """The model's own frames (start/end, not tau_start/tau_end) give one verdict per window, in window order."""
    rng = np.random.default_rng(7)
    days = pd.bdate_range("2024-01-01", periods=320)
    market = rng.normal(0, 0.01, len(days))
    returns = pd.DataFrame({"SPY": market}, index=days)
    for ticker in ["A", "B", "C"]:
        returns[ticker] = 1.1 * market + rng.normal(0, 0.01, len(days))
    day0 = days[300]
    returns.loc[day0, "A"] -= 0.12
    pairs = pd.DataFrame({"event_id": "e", "ticker": ["A", "B", "C"], "day0": day0})
    result = EventStudy(returns, pairs, event_windows=[(0, 0), (-1, 1)]).fit()
    table = verdicts(result.windows, result.aggregate, result.tests)
    assert list(table["window"]) == ["[0,0]", "[-1,+1]"]
    assert table["significant_tickers"].iloc[0] == ["A"]
    assert table["group_test"].iloc[0] == "kp_bmp_t"
    assert table["reason"].iloc[0] == CLUSTERED_REASON
