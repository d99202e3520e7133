"""Intraday sources: the demo's bars agree with its daily bars and fall before the open on 2025-01-27; vendor CSVs
in any zone (across a DST change); Yahoo through the real yfinance code path, inside its look-back limits."""

import json
import re
from datetime import date

import numpy as np
import pandas as pd
import pytest

from pipelines.errors import DataValidationError, SourceError
from pipelines.sources import make_intraday_source
from pipelines.sources.demo_intraday import DemoIntradaySource
from pipelines.sources.demo_market import DEMO_UNIVERSE, DemoPriceSource
from pipelines.sources.intraday_files import FileIntradaySource
from pipelines.sources.yahoo_intraday import YahooIntradaySource
from tests.yahoo_session import RecordedYahooSession


@pytest.fixture(scope="module")
def demo_bars() -> pd.DataFrame:
    return DemoIntradaySource().fetch_bars(list(DEMO_UNIVERSE), date(2025, 1, 21), date(2025, 2, 4))


def test_demo_regular_hours_hit_the_daily_open_high_low_close_exactly(demo_bars):
    daily = DemoPriceSource().fetch_prices(list(DEMO_UNIVERSE), date(2025, 1, 21), date(2025, 2, 4))
    regular = demo_bars[demo_bars["session"] == "regular"].groupby(["ticker", "date"])
    path = regular.agg(open=("open", "first"), high=("high", "max"), low=("low", "min"), close=("close", "last"))
    merged = path.reset_index().merge(daily, on=["ticker", "date"], suffixes=("", "_daily"))
    assert len(merged) == len(daily) == 15 * 11
    for field in ("open", "high", "low", "close"):
        assert (merged[field] == merged[f"{field}_daily"]).all(), field
    assert (regular.size() == 390).all()  # 09:30-16:00, one bar a minute


def test_demo_premarket_fall_on_the_sell_off_is_the_reported_size(demo_bars):
    daily = DemoPriceSource().fetch_prices(list(DEMO_UNIVERSE), date(2025, 1, 24), date(2025, 1, 24))
    before = daily.set_index("ticker")["close"]
    pre = demo_bars[(demo_bars["date"] == "2025-01-27") & (demo_bars["session"] == "pre")]
    low = pre.groupby("ticker")["low"].min() / before - 1
    assert -0.14 <= low["NVDA"] <= -0.11
    assert low["MSFT"] == pytest.approx(-0.07, abs=0.002)
    assert low["META"] == pytest.approx(-0.05, abs=0.002)
    assert low["QQQ"] == pytest.approx(-0.035, abs=0.002)


def test_demo_is_deterministic_and_resamples_to_hours():
    one = DemoIntradaySource().fetch_bars(["NVDA"], date(2025, 1, 27), date(2025, 1, 27))
    again = DemoIntradaySource().fetch_bars(["NVDA"], date(2025, 1, 27), date(2025, 1, 27))
    pd.testing.assert_frame_equal(one, again)
    hours = DemoIntradaySource().fetch_bars(["NVDA"], date(2025, 1, 27), date(2025, 1, 27), "60m")
    regular = hours[hours["session"] == "regular"]
    assert regular["ts"].dt.tz_convert("America/New_York").dt.strftime("%H:%M").iloc[:2].tolist() == ["09:30", "10:30"]
    assert regular["high"].max() == one.loc[one["session"] == "regular", "high"].max()


def test_demo_outside_its_window_names_the_window():
    with pytest.raises(SourceError, match=r"2025-01-21\.\.2025-02-04"):
        DemoIntradaySource().fetch_bars(["NVDA"], date(2024, 6, 3), date(2024, 6, 4))


def _write(path, rows, header="timestamp,open,high,low,close,volume"):
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return path


def test_files_in_another_zone_are_converted_across_a_dst_change(tmp_path):
    # US clocks moved on 2025-03-09, London's on 03-30: 09:30 New York is 14:30 London on 03-07, 13:30 on 03-10.
    _write(
        tmp_path / "NVDA.csv",
        [
            "2025-03-07 14:30,110,111,109,110.5,1000,Europe/London",
            "2025-03-07 14:29,110,110,110,110,10,Europe/London",
            "2025-03-10 13:30,106,107,105,106.5,2000,Europe/London",
        ],
        header="timestamp,open,high,low,close,volume,tz",
    )
    bars = FileIntradaySource(tmp_path).fetch_bars(["NVDA"], date(2025, 3, 7), date(2025, 3, 10))
    local = bars["ts"].dt.tz_convert("America/New_York").dt.strftime("%m-%d %H:%M").tolist()
    assert local == ["03-07 09:29", "03-07 09:30", "03-10 09:30"]
    assert bars["session"].tolist() == ["pre", "regular", "regular"]
    assert str(bars["ts"].dt.tz) == "UTC"


def test_files_with_offsets_keep_duplicates_for_the_write_to_count(tmp_path):
    _write(
        tmp_path / "bars.csv",
        [
            "NVDA,2025-01-27T09:30:00-05:00,124,125,123,124.5,10",
            "NVDA,2025-01-27T14:30:00Z,124,125,123,124.6,11",
        ],
        header="symbol,timestamp,open,high,low,close,volume",
    )
    bars = FileIntradaySource(tmp_path).fetch_bars(["NVDA"], date(2025, 1, 27), date(2025, 1, 27))
    assert len(bars) == 2 and bars["ts"].nunique() == 1


def test_files_without_a_zone_are_refused_naming_the_row(tmp_path):
    _write(tmp_path / "NVDA.csv", ["2025-01-27 09:30,124,125,123,124.5,10"])
    with pytest.raises(DataValidationError, match=r"NVDA\.csv.*row 2.*no offset"):
        FileIntradaySource(tmp_path).fetch_bars(["NVDA"], date(2025, 1, 27), date(2025, 1, 27))


def test_files_outside_the_trading_day_are_refused(tmp_path):
    _write(tmp_path / "NVDA.csv", ["2025-01-25T10:00:00-05:00,124,125,123,124.5,10"])  # a Saturday
    with pytest.raises(DataValidationError, match="outside the trading day"):
        FileIntradaySource(tmp_path).fetch_bars(["NVDA"], date(2025, 1, 25), date(2025, 1, 27))


def _chart(folder, symbol: str, day: str, base: float) -> None:
    """A constructed Yahoo chart answer: 1-minute bars 04:00-20:00 New York on ``day``."""
    start = pd.Timestamp(f"{day} 04:00", tz="America/New_York")
    stamps = pd.date_range(start, start + pd.Timedelta(hours=16), freq="1min", inclusive="left")
    rng = np.random.default_rng(7)
    close = base * np.exp(np.cumsum(rng.normal(0, 0.001, len(stamps))))
    quote = {
        "open": list(close),
        "high": list(close * 1.001),
        "low": list(close * 0.999),
        "close": list(close),
        "volume": [1000] * len(stamps),
    }
    meta = {
        "currency": "USD",
        "symbol": symbol,
        "exchangeName": "NMS",
        "instrumentType": "EQUITY",
        "firstTradeDate": 946909800,
        "regularMarketTime": int(stamps[-1].timestamp()),
        "hasPrePostMarketData": True,
        "gmtoffset": -14400,
        "timezone": "EDT",
        "exchangeTimezoneName": "America/New_York",
        "regularMarketPrice": float(close[-1]),
        "chartPreviousClose": base,
        "priceHint": 2,
        "dataGranularity": "1m",
        "range": "",
        "validRanges": ["1d", "5d"],
    }
    payload = {
        "chart": {
            "result": [
                {
                    "meta": meta,
                    "timestamp": [int(s.timestamp()) for s in stamps],
                    "indicators": {"quote": [quote], "adjclose": [{"adjclose": list(close)}]},
                }
            ],
            "error": None,
        }
    }
    (folder / f"chart_{symbol}.json").write_text(json.dumps(payload))


def test_yahoo_minutes_with_pre_and_post_market_through_yfinance(tmp_path):
    _chart(tmp_path, "NVDA", "2025-03-10", 110.0)
    session = RecordedYahooSession(tmp_path)
    source = YahooIntradaySource(session=session, today=date(2025, 3, 12))
    bars = source.fetch_bars(["NVDA"], date(2025, 3, 10), date(2025, 3, 10), "1m")
    assert not session.unexpected
    assert bars.groupby("session").size().to_dict() == {"post": 240, "pre": 330, "regular": 390}
    first = bars[bars["session"] == "regular"]["ts"].iloc[0]
    assert first == pd.Timestamp("2025-03-10 13:30", tz="UTC")  # 09:30 EDT, the day after the DST change
    assert any("includePrePost=True" in r or "includePrePost=true" in r for r in session.requests)


@pytest.mark.parametrize(
    ("interval", "start", "limit"),
    [
        ("1m", date(2025, 1, 27), "last 30 days only (7 days per request)"),
        ("5m", date(2024, 12, 1), "last 60 days only"),
        ("1h", date(2022, 6, 1), "last 730 days only"),
    ],
)
def test_yahoo_beyond_its_look_back_names_the_limit_and_asks_nothing(interval, start, limit):
    session = RecordedYahooSession()
    source = YahooIntradaySource(session=session, today=date(2025, 3, 12))
    with pytest.raises(SourceError, match=re.escape(limit)) as caught:
        source.fetch_bars(["NVDA"], start, start, interval)
    assert str(start) in str(caught.value)
    assert session.requests == []


def test_the_registry_builds_every_intraday_source(tmp_path):
    assert make_intraday_source("demo").name == "demo"
    assert make_intraday_source("yahoo").name == "yahoo"
    assert make_intraday_source("files", tmp_path).name == "files"


def test_yahoo_asks_for_1m_bars_seven_days_at_a_time(tmp_path):
    _chart(tmp_path, "NVDA", "2025-03-03", 110.0)
    session = RecordedYahooSession(tmp_path)
    source = YahooIntradaySource(session=session, today=date(2025, 3, 14))
    bars = source.fetch_bars(["NVDA"], date(2025, 3, 3), date(2025, 3, 12), "1m")
    charts = [r for r in session.requests if "/v8/finance/chart/NVDA" in r]
    assert len(charts) == 2  # 03-03..03-09 and 03-10..03-12
    assert set(bars["date"].dt.date) == {date(2025, 3, 3)}


def test_yahoo_unknown_ticker_is_a_source_error_naming_it(tmp_path):
    session = RecordedYahooSession(tmp_path)
    with pytest.raises(SourceError, match="NOPE"):
        YahooIntradaySource(session=session, today=date(2025, 3, 12)).fetch_bars(
            ["NOPE"], date(2025, 3, 10), date(2025, 3, 10), "5m"
        )
