"""Yahoo sources through the REAL yfinance code path, offline: a recorded session answers every request."""

from __future__ import annotations

import importlib.util
import json
import socket
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest
import yfinance as yf
from curl_cffi import requests as curl_requests
from yfinance._http import is_supported_session
from yfinance.data import YfData

from models.calendar import sessions
from pipelines.errors import DataValidationError, SourceError, TransientSourceError
from pipelines.sources.base import HEADLINE_COLUMNS, PRICE_COLUMNS
from pipelines.sources.yahoo import YahooNewsSource, YahooPriceSource
from tests.yahoo_session import FIXTURES, RecordedYahooSession


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any socket connection in these tests is a bug: the recorded session must answer everything."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access attempted: {args[:2]!r}")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(curl_requests.Session, "request", refuse)  # libcurl does not go through socket


@pytest.fixture(autouse=True)
def hermetic_yfinance(tmp_path: Path) -> Iterator[None]:
    """Point yfinance's tz/cookie caches at a tmp dir and forget its in-process response memo."""
    yf.set_tz_cache_location(str(tmp_path / "yfinance-cache"))
    YfData.cache_get.cache_clear()
    yield
    YfData.cache_get.cache_clear()


@pytest.fixture
def session() -> Iterator[RecordedYahooSession]:
    recorded = RecordedYahooSession()
    yield recorded
    assert recorded.unexpected == [], "yfinance asked for URLs the recording does not know"
    assert "request" not in vars(recorded), "the source left its watcher on the session"


def _fixture_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_fixtures", FIXTURES / "make_fixtures.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _move(frame: pd.DataFrame, ticker: str) -> float:
    close = frame[frame["ticker"] == ticker].set_index("date")["close"]
    return round((close[pd.Timestamp("2025-01-27")] / close[pd.Timestamp("2025-01-24")] - 1) * 100, 2)


def test_recorded_session_is_a_session_yfinance_accepts_and_never_goes_online(session: RecordedYahooSession) -> None:
    assert is_supported_session(session)
    with pytest.raises(AssertionError, match="unexpected request GET https://example.com/"):
        session.get("https://example.com/")
    assert session.unexpected == ["GET https://example.com/"]
    session.unexpected.clear()


def test_fixtures_are_what_make_fixtures_builds() -> None:
    module = _fixture_module()
    for ticker in module.BARS:
        assert json.loads((FIXTURES / f"chart_{ticker}.json").read_text()) == json.loads(json.dumps(module.chart(ticker)))


def test_nvda_deepseek_drop_through_download(session: RecordedYahooSession) -> None:
    start, end = date(2025, 1, 21), date(2025, 1, 31)
    frame = YahooPriceSource(session=session).fetch_prices(["NVDA"], start, end)
    assert list(frame.columns) == list(PRICE_COLUMNS)
    assert pd.DatetimeIndex(frame["date"]).equals(sessions(start, end))  # exchange dates, end inclusive
    closes = frame.set_index("date")["close"]
    assert (closes[pd.Timestamp("2025-01-24")], closes[pd.Timestamp("2025-01-27")]) == (142.62, 118.42)
    assert _move(frame, "NVDA") == -16.97
    assert set(frame["source"]) == {"yahoo"} and (frame["split_ratio"] == 1.0).all()
    assert any("/v8/finance/chart/NVDA?period1=" in url for url in session.requests)


def test_batches_of_several_tickers(session: RecordedYahooSession) -> None:
    source = YahooPriceSource(session=session, batch_size=3)
    frame = source.fetch_prices(["nvda", "MSFT", "META", "SPY", "NVDA"], date(2025, 1, 21), date(2025, 1, 31))
    assert frame.groupby("ticker").size().to_dict() == {"META": 9, "MSFT": 9, "NVDA": 9, "SPY": 9}
    assert {t: _move(frame, t) for t in ("MSFT", "META", "SPY")} == {"MSFT": -2.14, "META": 1.91, "SPY": -1.41}
    charts = [u for u in session.requests if "period1=" in u]
    assert len(charts) == 4  # each ticker once, across two yf.download calls


def test_split_day_carries_the_ratio(session: RecordedYahooSession) -> None:
    frame = YahooPriceSource(session=session).fetch_prices(["NVDA"], date(2024, 6, 3), date(2024, 6, 14)).set_index("date")
    assert frame.loc["2024-06-10", "split_ratio"] == 10.0
    assert (frame.drop(pd.Timestamp("2024-06-10"))["split_ratio"] == 1.0).all()
    assert frame.loc["2024-06-07", "close"] == 120.89  # Yahoo's close is on the post-split scale
    assert frame.loc["2024-06-11", "dividend"] == 0.01


def test_dividend_and_adjusted_close(session: RecordedYahooSession) -> None:
    frame = YahooPriceSource(session=session).fetch_prices(["MSFT"], date(2025, 2, 18), date(2025, 2, 21)).set_index("date")
    assert frame["dividend"].tolist() == [0.0, 0.0, 0.83, 0.0]
    assert frame.loc["2025-02-20":, "adj_close"].tolist() == frame.loc["2025-02-20":, "close"].tolist()
    before = frame.loc[:"2025-02-19"]
    factor = 1 - 0.83 / 414.77
    assert before["adj_close"].tolist() == pytest.approx((before["close"] * factor).tolist(), abs=1e-6)
    assert before.loc["2025-02-19", "close"] == 414.77  # close is not dividend-adjusted


@pytest.mark.parametrize("tickers", [["XXXX"], ["NVDA", "XXXX", "MSFT"]])
def test_unknown_ticker_is_a_source_error_naming_it(session: RecordedYahooSession, tickers: list[str]) -> None:
    with pytest.raises(SourceError) as caught:
        YahooPriceSource(session=session).fetch_prices(tickers, date(2025, 1, 21), date(2025, 1, 31))
    error = caught.value
    assert not isinstance(error, TransientSourceError)
    assert error.ticker == "XXXX" and "XXXX" in str(error) and "404" in str(error)
    assert "NVDA" not in error.detail and "MSFT" not in error.detail


def test_empty_answer_names_the_tickers(session: RecordedYahooSession) -> None:
    with pytest.raises(SourceError, match="empty answer") as caught:
        YahooPriceSource(session=session).fetch_prices(["NVDA", "MSFT"], date(2025, 1, 25), date(2025, 1, 26))
    assert not isinstance(caught.value, TransientSourceError)
    assert "NVDA" in caught.value.detail and "MSFT" in caught.value.detail


@pytest.mark.parametrize("status", [429, 500, 503])
def test_rate_limit_and_server_errors_are_transient_and_a_retry_refetches(session: RecordedYahooSession, status: int) -> None:
    source = YahooPriceSource(session=session)
    session.fail_status = status
    with pytest.raises(TransientSourceError, match=f"HTTP {status}") as caught:
        source.fetch_prices(["NVDA"], date(2025, 1, 21), date(2025, 1, 31))
    assert caught.value.ticker == "NVDA"
    session.fail_status = None
    assert len(source.fetch_prices(["NVDA"], date(2025, 1, 21), date(2025, 1, 31))) == 9


def test_timeouts_are_transient(session: RecordedYahooSession) -> None:
    session.fail_timeout = True
    with pytest.raises(TransientSourceError, match="ReadTimeout"):
        YahooPriceSource(session=session, timeout=5).fetch_prices(["NVDA"], date(2025, 1, 21), date(2025, 1, 31))


def _chart_fixtures(folder: Path, *, drop_day: str | None = None, null_close_day: str | None = None) -> Path:
    """NVDA and MSFT chart fixtures in ``folder``; MSFT without the bar of ``drop_day`` or with a null close."""
    module = _fixture_module()
    folder.mkdir()
    for ticker in ("NVDA", "MSFT"):
        payload = module.chart(ticker)
        result = payload["chart"]["result"][0]
        quote, adjclose = result["indicators"]["quote"][0], result["indicators"]["adjclose"][0]["adjclose"]
        if ticker == "MSFT" and drop_day:
            i = result["timestamp"].index(module._epoch(drop_day))
            for series in (result["timestamp"], *quote.values(), adjclose):
                del series[i]
        if ticker == "MSFT" and null_close_day:
            quote["close"][result["timestamp"].index(module._epoch(null_close_day))] = None
        (folder / f"chart_{ticker}.json").write_text(json.dumps(payload))
    return folder


def test_all_nan_rows_from_the_union_index_are_dropped(tmp_path: Path) -> None:
    recorded = RecordedYahooSession(_chart_fixtures(tmp_path / "charts", drop_day="2025-01-23"))
    frame = YahooPriceSource(session=recorded).fetch_prices(["NVDA", "MSFT"], date(2025, 1, 21), date(2025, 1, 31))
    msft = pd.DatetimeIndex(frame.loc[frame["ticker"] == "MSFT", "date"])
    assert pd.Timestamp("2025-01-23") not in msft and len(msft) == 8
    assert len(frame[frame["ticker"] == "NVDA"]) == 9
    assert recorded.unexpected == []


def test_partly_missing_bar_is_a_validation_error(tmp_path: Path) -> None:
    recorded = RecordedYahooSession(_chart_fixtures(tmp_path / "charts", null_close_day="2025-01-27"))
    with pytest.raises(DataValidationError) as caught:
        YahooPriceSource(session=recorded).fetch_prices(["MSFT"], date(2025, 1, 21), date(2025, 1, 31))
    error = caught.value
    assert (error.ticker, pd.Timestamp(error.date), error.field) == ("MSFT", pd.Timestamp("2025-01-27"), "close")


def test_bad_requests_are_refused_before_yahoo_is_asked(session: RecordedYahooSession) -> None:
    source = YahooPriceSource(session=session)
    with pytest.raises(SourceError, match="non-empty ticker"):
        source.fetch_prices([" "], date(2025, 1, 21), date(2025, 1, 31))
    with pytest.raises(SourceError, match="before start"):
        source.fetch_prices(["NVDA"], date(2025, 1, 31), date(2025, 1, 21))
    assert session.requests == []


def test_news_maps_filters_by_new_york_date_and_merges(session: RecordedYahooSession) -> None:
    frame = YahooNewsSource(session=session).fetch_headlines(["NVDA", "MSFT"], date(2025, 1, 26), date(2025, 1, 27))
    assert list(frame.columns) == list(HEADLINE_COLUMNS)
    assert str(frame["published_at"].dt.tz) == "UTC"
    assert frame["title"].tolist() == [
        "Chinese AI lab's low-cost model rattles US tech futures",
        "Nvidia shares slide 17% as DeepSeek fears hit AI trade",
        "Nvidia calls DeepSeek an excellent AI advancement",  # 02:30 UTC on the 28th is the 27th in New York
    ]
    shared = frame.iloc[0]
    assert shared["tickers"] == ["META", "MSFT", "NVDA"]  # the same story under NVDA and MSFT, merged
    assert shared["publisher"] == "Example Wire" and shared["source"] == "yahoo"
    assert shared["url"].startswith("https://finance.yahoo.com/news/chinese-ai-labs-low-cost-model")
    assert shared["summary"].startswith("A cheap open model")
    news_posts = [u for u in session.requests if u.startswith("POST https://finance.yahoo.com/xhr/ncp")]
    assert len(news_posts) == 2


def test_malformed_news_item_names_ticker_and_index(session: RecordedYahooSession) -> None:
    with pytest.raises(DataValidationError) as caught:
        YahooNewsSource(session=session).fetch_headlines(["META"], date(2025, 1, 26), date(2025, 1, 27))
    error = caught.value
    assert (error.ticker, error.row, error.field) == ("META", 2, "title")
    assert "news item 2" in str(error)


def test_news_for_unknown_ticker_is_a_source_error(session: RecordedYahooSession) -> None:
    with pytest.raises(SourceError, match="no news items") as caught:
        YahooNewsSource(session=session).fetch_headlines(["XXXX"], date(2025, 1, 26), date(2025, 1, 27))
    assert caught.value.ticker == "XXXX" and not isinstance(caught.value, TransientSourceError)


@pytest.mark.parametrize("status", [429, 500])
def test_news_refusals_are_transient(session: RecordedYahooSession, status: int) -> None:
    session.fail_status = status
    with pytest.raises(TransientSourceError) as caught:
        YahooNewsSource(session=session).fetch_headlines(["NVDA"], date(2025, 1, 26), date(2025, 1, 27))
    assert caught.value.ticker == "NVDA"



def test_default_session_is_a_curl_session_yfinance_supports() -> None:
    source = YahooPriceSource()
    created = source._http()  # made lazily, no request sent
    assert isinstance(created, curl_requests.Session) and is_supported_session(created)
    assert source._http() is created
