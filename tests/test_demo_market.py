"""The simulated demo market: calendar, determinism, real event returns, anchors, split, bars, factors."""

from __future__ import annotations

import json
import math
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from pipelines.errors import DataValidationError, SourceError
from pipelines.sources.base import PRICE_COLUMNS
from pipelines.sources.demo_calibration import calibrate
from pipelines.sources.demo_market import (
    CALIBRATION_PATH,
    DEMO_BENCHMARKS,
    DEMO_END,
    DEMO_START,
    DEMO_TICKERS,
    DEMO_UNIVERSE,
    DemoPriceSource,
    demo_sessions,
    load_calibration,
    simulate_market,
)

SEED = 20250127
DEEPSEEK_RETURNS_PCT = {  # ../shared/data/README.md, close 2025-01-24 -> close 2025-01-27
    "NVDA": -16.97, "AVGO": -17.40, "TSM": -13.33, "ORCL": -13.79, "SMCI": -12.62, "AMD": -6.37,
    "ASML": -5.75, "GOOGL": -4.20, "MSFT": -2.14, "AMZN": 0.24, "META": 1.91, "AAPL": 3.18,
    "SPY": -1.41, "QQQ": -2.91, "SMH": -9.83,
}


@pytest.fixture(scope="module")
def market() -> pd.DataFrame:
    return DemoPriceSource(SEED).fetch_prices(list(DEMO_UNIVERSE), DEMO_START, DEMO_END)


@pytest.fixture(scope="module")
def closes(market: pd.DataFrame) -> pd.DataFrame:
    return market.pivot(index="date", columns="ticker", values="close")


@pytest.fixture(scope="module")
def figures() -> dict:
    return load_calibration()


def test_universe_and_window() -> None:
    assert DEMO_TICKERS == ("NVDA", "MSFT", "META", "GOOGL", "AMZN", "AAPL", "AVGO", "TSM", "AMD", "ORCL", "ASML", "SMCI")
    assert DEMO_BENCHMARKS == ("SPY", "QQQ", "SMH")
    assert (DEMO_START, DEMO_END) == (date(2023, 1, 3), date(2025, 3, 31))


def test_frame_is_canonical(market: pd.DataFrame) -> None:
    assert tuple(market.columns) == PRICE_COLUMNS
    assert set(market["source"]) == {"demo"}
    assert (market["dividend"] == 0.0).all()
    assert market["volume"].dtype == np.int64


def test_every_session_and_no_closed_day(market: pd.DataFrame) -> None:
    days = demo_sessions()
    assert days[0] == pd.Timestamp(DEMO_START) and days[-1] == pd.Timestamp(DEMO_END)
    for closed in ("2025-01-09", "2025-01-20", "2024-07-04", "2023-04-07"):
        assert pd.Timestamp(closed) not in days
        assert not (market["date"] == pd.Timestamp(closed)).any()
    for ticker, rows in market.groupby("ticker"):
        assert pd.DatetimeIndex(rows["date"]).equals(days), ticker


def test_same_seed_same_bytes_for_any_slice(market: pd.DataFrame) -> None:
    fresh = simulate_market(SEED)  # bypasses the per-process cache
    pd.testing.assert_frame_equal(fresh, market, check_exact=True)
    part = DemoPriceSource(SEED).fetch_prices(["SMH", "NVDA"], date(2024, 5, 1), date(2024, 7, 1))
    expected = market[market["ticker"].isin(["NVDA", "SMH"]) & market["date"].between("2024-05-01", "2024-07-01")]
    pd.testing.assert_frame_equal(part, expected.reset_index(drop=True), check_exact=True)


def test_other_seed_other_path_same_events(market: pd.DataFrame) -> None:
    other = DemoPriceSource(7).fetch_prices(["NVDA"], DEMO_START, DEMO_END).set_index("date")["close"]
    nvda = market[market["ticker"] == "NVDA"].set_index("date")["close"]
    assert (other != nvda).mean() > 0.9
    for day in ("2025-01-24", "2025-01-27"):
        assert other[day] == nvda[day]


def test_deepseek_day_returns_are_the_real_ones(closes: pd.DataFrame) -> None:
    returns = closes.loc["2025-01-27"] / closes.loc["2025-01-24"] - 1.0
    assert {t: round(100 * returns[t], 2) for t in DEMO_UNIVERSE} == DEEPSEEK_RETURNS_PCT


def test_all_imposed_returns_replayed(closes: pd.DataFrame, figures: dict) -> None:
    assert len(figures["imposed_dates"]) == 16
    returns = closes / closes.shift(1) - 1.0
    for ticker in DEMO_UNIVERSE:
        imposed = figures["tickers"][ticker]["imposed_returns"]
        assert sorted(imposed) == figures["imposed_dates"]
        for day, real in imposed.items():
            previous = closes[ticker].shift(1)[day]
            assert abs(returns[ticker][day] - real) <= 0.0101 / previous, (ticker, day)


def test_anchor_closes(closes: pd.DataFrame, figures: dict) -> None:
    assert closes.loc["2025-01-24", "NVDA"] == 142.62
    assert closes.loc["2025-01-27", "NVDA"] == 118.42
    for ticker in DEMO_UNIVERSE:
        assert closes.loc["2025-01-24", ticker] == figures["tickers"][ticker]["anchor_close"], ticker


def test_nvda_split(market: pd.DataFrame) -> None:
    nvda = market[market["ticker"] == "NVDA"].set_index("date")
    before, on = nvda.loc["2024-06-07"], nvda.loc["2024-06-10"]
    assert 10 / 1.3 < before["close"] / on["close"] < 10 * 1.3
    assert abs(math.log(on["adj_close"] / before["adj_close"])) < 0.25
    assert before["adj_close"] == pytest.approx(before["close"] / 10, rel=1e-12)
    assert nvda["split_ratio"].loc["2024-06-10"] == 10.0
    assert (nvda["split_ratio"].drop(pd.Timestamp("2024-06-10")) == 1.0).all()
    pre = nvda.loc[:"2024-06-07"]
    post = nvda.loc["2024-06-10":]
    assert np.allclose(pre["adj_close"] * 10, pre["close"], rtol=1e-12)
    assert (post["adj_close"] == post["close"]).all()
    ratio = post["volume"].iloc[:60].median() / pre["volume"].iloc[-60:].median()
    assert 3 < ratio < 30  # raw volume is counted in pre-split shares before the split
    others = market[market["ticker"] != "NVDA"]
    assert (others["adj_close"] == others["close"]).all()
    assert (others["split_ratio"] == 1.0).all()


def test_bars_consistent_and_in_cents(market: pd.DataFrame) -> None:
    assert (market["low"] <= market[["open", "close"]].min(axis=1)).all()
    assert (market[["open", "close"]].max(axis=1) <= market["high"]).all()
    assert (market["low"] > 0).all()
    for field in ("open", "high", "low", "close"):
        cents = market[field].to_numpy() * 100
        assert np.allclose(cents, np.round(cents), atol=1e-6), field
    previous_close = market.groupby("ticker")["close"].shift(1)
    assert (market["open"] != previous_close)[previous_close.notna()].mean() > 0.9  # opens gap


def test_volume_positive_and_higher_on_big_moves(market: pd.DataFrame) -> None:
    assert (market["volume"] > 0).all()
    frame = market.assign(
        log_volume=np.log(market["volume"] * market["split_ratio"].where(market["date"] != "2024-06-10", 1.0)),
        move=np.log(market["adj_close"]).groupby(market["ticker"]).diff().abs(),
    ).dropna()
    frame = frame[~((frame["ticker"] == "NVDA") & (frame["date"] < "2024-06-10"))]
    frame["big"] = frame.groupby("ticker")["move"].transform(lambda m: m > m.quantile(0.9))
    demeaned = frame["log_volume"] - frame.groupby("ticker")["log_volume"].transform("mean")
    assert demeaned[frame["big"]].mean() > demeaned[~frame["big"]].mean() + 0.1


def test_factor_structure_recovered(market: pd.DataFrame, figures: dict) -> None:
    log_returns = np.log(market.pivot(index="date", columns="ticker", values="adj_close")).diff().iloc[1:]
    ordinary = log_returns.drop(index=pd.DatetimeIndex(figures["imposed_dates"]))
    spy = sm.add_constant(ordinary["SPY"])
    nvda = figures["tickers"]["NVDA"]["factor_model"]
    simple = sm.OLS(ordinary["NVDA"], spy).fit()
    # the semi factor is independent of SPY, so the simple beta estimates beta_market; 4 SE of n~545 returns
    assert abs(simple.params["SPY"] - nvda["beta_market"]) < 4 * simple.bse["SPY"]
    semi = sm.OLS(ordinary["SMH"], spy).fit().resid.rename("SEMI")
    both = sm.OLS(ordinary["NVDA"], sm.add_constant(pd.concat([ordinary["SPY"], semi], axis=1))).fit()
    assert abs(both.params["SEMI"] - nvda["beta_semi"]) < 4 * both.bse["SEMI"]
    assert np.std(both.resid) == pytest.approx(nvda["idio_vol"], rel=0.15)
    kurtosis = [
        pd.Series(sm.OLS(ordinary[t], sm.add_constant(pd.concat([ordinary["SPY"], semi], axis=1))).fit().resid).kurt()
        for t in DEMO_TICKERS
    ]
    assert np.mean(kurtosis) > 1.0  # Student-t noise: fat tails, a Gaussian would give about 0


def test_generation_is_fast() -> None:
    simulate_market(1)  # warm the calendar and the JSON
    started = time.perf_counter()
    simulate_market(2)
    assert time.perf_counter() - started < 0.5


def test_unknown_ticker_names_it_and_the_universe() -> None:
    with pytest.raises(SourceError) as caught:
        DemoPriceSource().fetch_prices(["NVDA", "INTC"], DEMO_START, DEMO_END)
    assert caught.value.ticker == "INTC" and caught.value.origin == "demo"
    assert all(t in str(caught.value) for t in DEMO_UNIVERSE)


@pytest.mark.parametrize(
    ("start", "end"),
    [(date(2022, 1, 3), date(2022, 12, 30)), (date(2025, 4, 1), date(2025, 4, 30)),
     (date(2024, 6, 8), date(2024, 6, 9)), (date(2025, 1, 20), date(2025, 1, 20))],
)
def test_range_without_sessions_is_an_error(start: date, end: date) -> None:
    with pytest.raises(SourceError, match=f"{start}..{end}"):
        DemoPriceSource().fetch_prices(["NVDA"], start, end)


def test_partial_range_returns_the_sessions_inside() -> None:
    frame = DemoPriceSource().fetch_prices(["AAPL"], date(2025, 3, 28), date(2025, 4, 10))
    assert list(frame["date"]) == [pd.Timestamp("2025-03-28"), pd.Timestamp("2025-03-31")]


def test_missing_or_foreign_calibration_is_a_source_error(tmp_path: Path) -> None:
    path = tmp_path / "calibration.json"
    with pytest.raises(SourceError, match="not found"):
        load_calibration.__wrapped__(path)
    path.write_text(json.dumps({"window": {"start": "2020-01-02", "end": "2020-12-31"}, "tickers": {}}))
    with pytest.raises(SourceError) as caught:
        load_calibration.__wrapped__(path)
    assert caught.value.field == "window"


def test_calibration_names_a_missing_session(tmp_path: Path) -> None:
    days = demo_sessions()
    folder = tmp_path / "adjclose_only"
    folder.mkdir()
    kept = days.insert(0, pd.Timestamp("2022-12-30")).delete(100)
    pd.DataFrame({"Date": kept.strftime("%Y-%m-%d"), "Close": 100.0}).to_csv(folder / "NVDA.csv", index=False)
    with pytest.raises(DataValidationError) as caught:
        calibrate(tmp_path)
    assert caught.value.ticker == "NVDA" and caught.value.date == days[99]


def _assert_figures_equal(fitted: object, committed: object, where: str) -> None:
    if isinstance(committed, dict):
        assert isinstance(fitted, dict) and sorted(fitted) == sorted(committed), where
        for key in committed:
            _assert_figures_equal(fitted[key], committed[key], f"{where}.{key}")
    elif isinstance(committed, list):
        assert isinstance(fitted, list) and len(fitted) == len(committed), where
        for i, (a, b) in enumerate(zip(fitted, committed)):
            _assert_figures_equal(a, b, f"{where}[{i}]")
    elif isinstance(committed, float):
        assert fitted == pytest.approx(committed, rel=1e-8, abs=1e-15), where
    else:
        assert fitted == committed, where


@pytest.mark.shared_data
def test_calibrate_reproduces_the_committed_figures(shared_data: Path) -> None:
    committed = json.loads(CALIBRATION_PATH.read_text(encoding="utf-8"))
    _assert_figures_equal(calibrate(shared_data / "prices"), committed, "calibration")
