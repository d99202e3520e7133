"""The event explorer's ad-hoc study (news in no catalogue): day 0 aligned like `impact study --at`, the study
fitted on the warehouse's returns, one-line errors for a bad time, an unknown ticker or a day 0 beyond the data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dashboards import refit
from models.calendar import sessions

SPAN = (-10, 10)


@pytest.fixture(scope="module")
def returns() -> pd.DataFrame:
    """Market-model returns for three stocks and SPY over 2024..2025-02-28, NVDA down 15% abnormal on 2025-01-27."""
    days = sessions("2024-01-02", "2025-02-28")
    rng = np.random.default_rng(8)
    market = rng.normal(0.0005, 0.01, len(days))
    frame = pd.DataFrame({"SPY": market}, index=days)
    for ticker in ("NVDA", "MSFT", "META"):
        frame[ticker] = 1.2 * market + rng.normal(0, 0.01, len(days))
    frame.loc[pd.Timestamp("2025-01-27"), "NVDA"] += -0.15
    return frame


def _choice(focus: tuple[str, ...] = ()) -> refit.Choice:
    return refit.Choice((-1, 1), refit.STORED_ESTIMATION, focus)


def test_adhoc_aligns_day0_and_fits_the_study(returns: pd.DataFrame) -> None:
    view = refit.adhoc(returns, "2025-01-27 09:00 America/New_York", "nvda, MSFT", _choice(), SPAN)
    event = view["event"]
    assert event["name"] == "Ad-hoc: 2025-01-27 09:00 America/New_York · NVDA,MSFT"
    assert pd.Timestamp(event["day0"]) == pd.Timestamp("2025-01-27")
    assert event["tickers"] == ["NVDA", "MSFT"]
    ar0 = view["abnormal"].query("tau == 0").set_index("ticker")["ar"]
    assert ar0["NVDA"] == pytest.approx(-0.15, abs=0.04)
    assert abs(ar0["MSFT"]) < 0.05
    assert set(view["windows"]["window"]) >= {"[-1,+1]", "[0,0]"}
    assert set(view["tests"]["window"]) >= {"[-1,+1]"}
    prices = view["prices"].set_index(["ticker", "tau"])["index"]
    assert prices[("NVDA", -1)] == pytest.approx(100)
    assert {"NVDA", "MSFT", "SPY"} <= set(view["prices"]["ticker"])


def test_adhoc_after_the_close_moves_the_next_session(returns: pd.DataFrame) -> None:
    view = refit.adhoc(returns, "2025-01-24 17:30 America/New_York", "NVDA", _choice(), SPAN)
    assert pd.Timestamp(view["event"]["day0"]) == pd.Timestamp("2025-01-27")


@pytest.mark.parametrize(
    ("at", "tickers", "message"),
    [
        ("2025-01-27 09:00", "NVDA", "no time zone"),
        ("2025-01-27 09:00 Mars/Olympus", "NVDA", "unknown time zone 'Mars/Olympus'"),
        ("yesterday-ish", "NVDA", "not a time"),
        ("2025-01-27 09:00 America/New_York", "NVDX", "no prices for 'NVDX' in the warehouse; did you mean NVDA?"),
        ("2025-01-27 09:00 America/New_York", " , ", "tickers: type the stocks"),
        (
            "2025-06-02 09:00 America/New_York",
            "NVDA",
            "day 0 2025-06-02 is after the warehouse's last session (2025-02-28)",
        ),
        ("2024-01-03 09:00 UTC", "NVDA", "too few sessions before it"),
    ],
)
def test_adhoc_refuses_bad_input_in_one_line(returns: pd.DataFrame, at: str, tickers: str, message: str) -> None:
    with pytest.raises(refit.AdhocError) as caught:
        refit.adhoc(returns, at, tickers, _choice(), SPAN)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_catalog_keeps_exporting_parse_announced() -> None:
    from models.calendar import parse_announced
    from pipelines import catalog

    assert catalog.parse_announced is parse_announced
