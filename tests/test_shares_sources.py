"""Shares outstanding sources: the demo's public-filing figures, the files source's shares.csv, and Yahoo through the
REAL yfinance code path (``Ticker.get_shares_full``, the quarterly balance sheet) on a recorded session."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import requests
from yfinance.data import YfData

from pipelines.errors import DataValidationError, TransientSourceError
from pipelines.sources import make_price_source
from pipelines.sources.shares import DemoShares, FileShares, YahooShares, make_shares_source, validate_shares
from pipelines.sources.yahoo import YahooPriceSource
from pipelines.universe import AI_STOCKS
from tests.yahoo_session import RecordedYahooSession

TIMESERIES = "/ws/fundamentals-timeseries/v1/finance/timeseries/"


def _stamp(day: str) -> int:
    return int(pd.Timestamp(day, tz="UTC").timestamp())


class SharesYahooSession(RecordedYahooSession):
    """The recorded session plus Yahoo's fundamentals-timeseries answers, in the shapes yfinance 1.7 parses:
    ``shares_out`` (no ``type``: get_shares_full) and ``quarterly<Key>`` items with ``reportedValue`` (balance sheet)."""

    def __init__(self, history: dict[str, list[tuple[str, float]]], sheet: dict[str, list[tuple[str, float]]]) -> None:
        super().__init__()
        self.history = history
        self.sheet = sheet

    def _route(
        self, request: requests.PreparedRequest, host: str, path: str, query: dict[str, list[str]]
    ) -> tuple[int, Any]:
        if host == "query2.finance.yahoo.com" and path.startswith(TIMESERIES):
            symbol = path.rsplit("/", 1)[-1]
            if "type" not in query:
                return 200, self._shares_out(symbol, int(query["period1"][0]), int(query["period2"][0]))
            return 200, self._statement(symbol, query["type"][0].split(","))
        return super()._route(request, host, path, query)

    def _shares_out(self, symbol: str, lo: int, hi: int) -> dict:
        meta = {"symbol": [symbol], "type": ["shares_out"]}
        points = [(s, v) for day, v in self.history.get(symbol, []) if lo <= (s := _stamp(day)) < hi]
        result: dict[str, Any] = {"meta": meta}
        if points:
            result |= {"timestamp": [s for s, _ in points], "shares_out": [v for _, v in points]}
        return {"timeseries": {"result": [result], "error": None}}

    def _statement(self, symbol: str, types: list[str]) -> dict:
        items = []
        for kind in types:
            item: dict[str, Any] = {"meta": {"symbol": [symbol], "type": [kind]}}
            points = self.sheet.get(symbol, []) if kind == "quarterlyOrdinarySharesNumber" else []
            if points:
                item["timestamp"] = [_stamp(day) for day, _ in points]
                item[kind] = [
                    {
                        "dataId": 20000,
                        "asOfDate": day,
                        "periodType": "3M",
                        "currencyCode": "USD",
                        "reportedValue": {"raw": value, "fmt": f"{value / 1e9:.2f}B"},
                    }
                    for day, value in points
                ]
            items.append(item)
        return {"timeseries": {"result": items, "error": None}}


@pytest.fixture
def yahoo() -> Iterator[SharesYahooSession]:
    YfData.cache_get.cache_clear()  # yfinance memoises answers per URL in-process: each test sees its own session
    session = SharesYahooSession(
        history={
            "NVDA": [("2024-08-26", 24_530_000_000), ("2024-11-18", 24_490_000_000), ("2024-11-18", 24_490_000_000)]
        },
        sheet={"MSFT": [("2024-06-30", 7_433_000_000), ("2024-09-30", 7_434_000_000)]},
    )
    yield session
    assert session.unexpected == [], session.unexpected


def test_yahoo_history_through_get_shares_full(yahoo: SharesYahooSession) -> None:
    frame = YahooShares(session=yahoo).fetch_shares(["NVDA"], date(2025, 1, 2), date(2025, 1, 31))
    assert frame["date"].dt.strftime("%Y-%m-%d").tolist() == ["2024-08-26", "2024-11-18"]  # one count per date
    assert frame["shares"].tolist() == [24_530_000_000, 24_490_000_000]
    assert set(frame["source"]) == {"yahoo"}
    assert any(TIMESERIES + "NVDA?symbol=NVDA&period1=" in url for url in yahoo.requests)


def test_yahoo_falls_back_to_the_quarterly_balance_sheet(yahoo: SharesYahooSession) -> None:
    source = YahooShares(session=yahoo)
    frame = source.fetch_shares(["MSFT"], date(2025, 1, 2), date(2025, 1, 31))
    assert frame["date"].dt.strftime("%Y-%m-%d").tolist() == ["2024-06-30", "2024-09-30"]
    assert frame["shares"].tolist() == [7_433_000_000, 7_434_000_000]
    assert any("quarterlyOrdinarySharesNumber" in url for url in yahoo.requests)
    assert source.skipped == {}


def test_yahoo_without_any_count_skips_the_ticker_and_says_why(yahoo: SharesYahooSession) -> None:
    source = YahooShares(session=yahoo)
    frame = source.fetch_shares(["META"], date(2025, 1, 2), date(2025, 1, 31))
    assert frame.empty
    assert "neither a shares-outstanding history nor a quarterly balance-sheet count" in source.skipped["META"]


def test_yahoo_throttling_is_transient(yahoo: SharesYahooSession) -> None:
    yahoo.fail_status = 429
    with pytest.raises(TransientSourceError, match="NVDA"):
        YahooShares(session=yahoo).fetch_shares(["NVDA"], date(2025, 1, 2), date(2025, 1, 31))


def test_demo_figures_are_the_public_filings_and_cover_the_universe() -> None:
    frame = DemoShares().fetch_shares(list(AI_STOCKS), date(2023, 1, 3), date(2025, 3, 31))
    nvda = frame[frame["ticker"] == "NVDA"].set_index("date")["shares"]
    assert nvda[pd.Timestamp("2024-11-15")] == 24_490_000_000  # 10-Q for the quarter ended 2024-10-27
    first = frame.groupby("ticker")["date"].min()
    assert set(first.index) == set(AI_STOCKS)
    assert (first <= pd.Timestamp("2024-01-31")).all(), first  # the catalogue's 2024-25 events have a count


def test_demo_figures_stop_at_end() -> None:
    frame = DemoShares().fetch_shares(["NVDA"], date(2024, 1, 2), date(2024, 6, 1))
    assert frame["date"].max() == pd.Timestamp("2024-05-17")


def test_files_side_file(tmp_path: Path) -> None:
    (tmp_path / "NVDA.csv").write_text("date,open,high,low,close,volume\n")
    (tmp_path / "shares.csv").write_text(
        'Ticker,Date,Shares\nnvda,2024-11-15,"24,490,000,000"\nMSFT,2024-10-21,7433000000\n'
    )
    frame = FileShares(tmp_path).fetch_shares(["NVDA"], date(2025, 1, 2), date(2025, 1, 31))
    assert frame.to_dict("records") == [
        {"ticker": "NVDA", "date": pd.Timestamp("2024-11-15"), "shares": 24_490_000_000.0, "source": "files"}
    ]
    # a long price file: the side file is looked for beside it
    assert (
        len(FileShares(tmp_path / "NVDA.csv").fetch_shares(["NVDA", "MSFT"], date(2025, 1, 2), date(2025, 1, 31))) == 2
    )


def test_files_without_side_file_have_no_counts(tmp_path: Path) -> None:
    assert FileShares(tmp_path).fetch_shares(["NVDA"], date(2025, 1, 2), date(2025, 1, 31)).empty


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("ticker,date,shares\nNVDA,2024-11-15,-5\n", r"row 1, ticker NVDA, date 2024-11-15.*shares"),
        (
            "ticker,date,shares\nNVDA,2024-11-15,24490000000\nNVDA,2024-13-40,1\n",
            r"row 2, ticker NVDA.*unreadable date",
        ),
        ("ticker,date,shares\nNVDA,2024-11-15,1e13\n", r"row 1.*\(0, 1e\+12\]"),
        ("ticker,date\nNVDA,2024-11-15\n", r"needs the columns ticker,date,shares; missing \['shares'\]"),
        ("ticker,date,shares\nNVDA,2024-11-15,1\nNVDA,2024-11-15,2\n", r"ticker NVDA, date 2024-11-15.*two different"),
        ("ticker,date,shares\nNV DA,2024-11-15,1\n", r"row 1.*malformed ticker 'NV DA'"),
    ],
)
def test_files_bad_rows_are_named(tmp_path: Path, body: str, message: str) -> None:
    (tmp_path / "shares.csv").write_text(body)
    with pytest.raises(DataValidationError, match=message) as caught:
        FileShares(tmp_path).fetch_shares(["NVDA"], date(2025, 1, 2), date(2025, 1, 31))
    assert "shares.csv" in str(caught.value)


def test_validate_keeps_nothing_it_cannot_read() -> None:
    frame = pd.DataFrame({"ticker": ["NVDA"], "date": ["2024-11-15"], "shares": ["n/a"], "source": ["x"]})
    with pytest.raises(DataValidationError, match="got 'n/a'"):
        validate_shares(frame, "test")


def test_each_price_source_has_its_shares_source(tmp_path: Path, yahoo: SharesYahooSession) -> None:
    assert isinstance(make_shares_source(make_price_source("demo")), DemoShares)
    files = make_shares_source(make_price_source("files", tmp_path))
    assert isinstance(files, FileShares) and files.file == tmp_path / "shares.csv"
    shares = make_shares_source(YahooPriceSource(session=yahoo))
    assert isinstance(shares, YahooShares) and shares.session is yahoo  # one HTTP session for prices and shares

    class Elsewhere:
        name = "elsewhere"

    assert make_shares_source(Elsewhere()) is None  # type: ignore[arg-type]
