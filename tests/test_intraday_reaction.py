"""models/intraday.py: the event-time reaction (moves, abnormal moves over the same minutes) and when the news came."""

from datetime import date

import numpy as np
import pandas as pd
import pytest

from models.intraday import MARKET_ADJUSTED, MARKET_MODEL, MEASURES, reaction, timing

DAY = date(2025, 1, 27)  # a Monday; EST (UTC-5): pre 09:00-14:30 UTC, regular 14:30-21:00, post 21:00-01:00


def _bars(ticker: str, path: dict[str, float], base: float) -> pd.DataFrame:
    """1-minute bars 04:00-20:00 New York at ``base``, with closes set at the given New York minutes ('HH:MM')."""
    start = pd.Timestamp(f"{DAY} 04:00", tz="America/New_York")
    ts = pd.date_range(start, periods=16 * 60, freq="1min")
    local = ts.strftime("%H:%M")
    close = pd.Series(base, index=local)
    for minute, price in path.items():
        close[minute] = price
    session = np.where(local < "09:30", "pre", np.where(local < "16:00", "regular", "post"))
    frame = pd.DataFrame(
        {
            "ticker": ticker,
            "ts": ts.tz_convert("UTC"),
            "open": close.to_numpy(),
            "high": close.to_numpy(),
            "low": close.to_numpy(),
            "close": close.to_numpy(),
            "session": session,
        }
    )
    return frame


def test_moves_from_the_previous_close_and_abnormal_over_the_same_minutes():
    # X falls to 87 at 08:00 pre-market, opens at 92, is 90 at 10:00 (bar 09:59 closes it), 91 at 10:30, closes 88.
    x = _bars("X", {"08:00": 87.0, "09:30": 92.0, "09:59": 90.0, "10:29": 91.0, "15:59": 88.0}, 95.0)
    x.loc[x["ts"] == pd.Timestamp("2025-01-27 14:30", tz="UTC"), "open"] = 92.0
    spy = _bars("SPY", {"08:00": 495.0, "09:30": 497.0, "09:59": 496.0, "10:29": 498.0, "15:59": 490.0}, 500.0)
    spy.loc[spy["ts"] == pd.Timestamp("2025-01-27 14:30", tz="UTC"), "open"] = 497.0
    out = reaction(
        pd.concat([x, spy]),
        {"X": 100.0, "SPY": 500.0},
        day0=DAY,
        announced_at=pd.Timestamp("2025-01-27 07:00", tz="America/New_York"),
        tickers=["X"],
        benchmark="SPY",
        betas={"X": 2.0},
        interval_minutes=1,
    ).set_index("measure")
    assert list(out.index) == list(MEASURES)
    assert out.loc["premarket_low", "ret"] == pytest.approx(-0.13)
    assert out.loc["premarket_low", "at"] == pd.Timestamp("2025-01-27 13:00", tz="UTC")
    assert out.loc["premarket_low", "bench_ret"] == pytest.approx(-0.01)  # SPY at the end of X's low minute
    assert out.loc["premarket_low", "abnormal"] == pytest.approx(-0.13 - 2 * -0.01)
    assert out.loc["open", "ret"] == pytest.approx(-0.08)
    assert out.loc["open", "abnormal"] == pytest.approx(-0.08 - 2 * (497 / 500 - 1))
    assert out.loc["first_30m", "ret"] == pytest.approx(-0.10)
    assert out.loc["first_60m", "ret"] == pytest.approx(-0.09)
    assert out.loc["close", "ret"] == pytest.approx(-0.12)
    assert out.loc["close", "abnormal"] == pytest.approx(-0.12 - 2 * (490 / 500 - 1))
    assert (out["beta_source"] == MARKET_MODEL).all()
    assert (out["timing"] == "pre-market").all()
    assert (out["ref_at"] == pd.Timestamp("2025-01-24 21:00", tz="UTC")).all()  # Friday's 16:00 close


def test_without_a_beta_it_is_market_adjusted_and_missing_bars_give_empty_measures():
    x = _bars("X", {}, 100.0)
    x = x[x["session"] != "pre"]  # a vendor without pre-market
    spy = _bars("SPY", {"15:59": 495.0}, 500.0)
    out = reaction(
        pd.concat([x, spy]),
        {"X": 100.0, "SPY": 500.0},
        day0=DAY,
        announced_at=None,
        tickers=["X"],
        benchmark="SPY",
        betas={},
        interval_minutes=1,
    ).set_index("measure")
    assert np.isnan(out.loc["premarket_low", "ret"])
    assert out.loc["close", "abnormal"] == pytest.approx(0.0 - (495 / 500 - 1))
    assert (out["beta_source"] == MARKET_ADJUSTED).all() and (out["beta"] == 1.0).all()
    assert (out["timing"] == "unknown").all()


def test_news_during_the_session_is_measured_from_the_price_at_the_announcement():
    x = _bars("X", {"11:59": 100.0, "12:29": 104.0, "12:59": 106.0, "15:59": 103.0}, 101.0)
    spy = _bars("SPY", {}, 500.0)
    out = reaction(
        pd.concat([x, spy]),
        {"X": 95.0, "SPY": 500.0},
        day0=DAY,
        announced_at=pd.Timestamp("2025-01-27 12:00", tz="America/New_York"),
        tickers=["X"],
        benchmark="SPY",
        betas={"X": 1.5},
        interval_minutes=1,
    ).set_index("measure")
    assert (out["timing"] == "regular hours").all()
    assert out["ref_price"].iloc[0] == 100.0  # the close of the 11:59 bar, not Friday's 95
    assert np.isnan(out.loc["open", "ret"]) and np.isnan(out.loc["premarket_low", "ret"])  # before the news
    assert out.loc["first_30m", "ret"] == pytest.approx(0.04)
    assert out.loc["first_60m", "ret"] == pytest.approx(0.06)
    assert out.loc["close", "ret"] == pytest.approx(0.03)


@pytest.mark.parametrize(
    ("announced", "label", "says"),
    [
        ("2025-01-27 07:00", "pre-market", "before the open"),
        ("2025-01-24 16:20", "after hours", "after 2025-01-24's close"),
        ("2025-01-25 10:00", "market closed", "while the market was closed"),
        ("2025-01-27 11:00", "regular hours", "during the session"),
    ],
)
def test_timing_says_when_the_news_came(announced, label, says):
    got, note = timing(pd.Timestamp(announced, tz="America/New_York"), DAY)
    assert got == label
    assert says in note


def test_timing_says_when_day0_is_not_the_first_session_after_the_news():
    # DeepSeek-R1: 2025-01-20 was a market holiday; the catalogue sets day0 to 2025-01-27.
    label, note = timing(pd.Timestamp("2025-01-20 08:00", tz="America/New_York"), DAY)
    assert label == "market closed"
    assert (
        "measured on day0 2025-01-27 from the close before it, not on the first session after the news (2025-01-21)"
        in note
    )
    assert "from the last close before the news" not in note  # the reference is the close before day0
