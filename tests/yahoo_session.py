"""A requests.Session that answers yfinance's Yahoo requests from tests/fixtures/yahoo, never the network.

yfinance 1.7 accepts a ``requests.Session`` subclass (``yfinance._http.is_supported_session``), so
the real yfinance code path runs unchanged on top of it: cookie and crumb endpoints get minimal
answers, ``/v8/finance/chart/{T}`` is sliced from ``chart_{T}.json`` by ``period1``/``period2``,
the ncp news POST is answered from ``news_{T}.json``, unknown symbols get Yahoo's 404 error JSON,
and ``fail_status`` / ``fail_timeout`` make every Yahoo answer a 429/5xx or a timeout. Any other URL
raises AssertionError naming it and is kept in ``unexpected`` (yfinance swallows some exceptions,
so tests check that list too).
"""

from __future__ import annotations

import json
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "yahoo"
CRUMB = "RecordedCrumb0"


def _not_found(kind: str, symbol: str) -> tuple[int, Any]:
    """Yahoo's answer for an unknown symbol on its JSON APIs."""
    if kind == "chart":
        return 404, {"chart": {"result": None, "error": {
            "code": "Not Found", "description": "No data found, symbol may be delisted"}}}
    return 404, {"quoteSummary": {"result": None, "error": {
        "code": "Not Found", "description": f"Quote not found for symbol: {symbol}"}}}


class _RecordedAdapter(BaseAdapter):
    """Transport adapter that builds every response locally from the owning session's fixtures."""

    def __init__(self, owner: RecordedYahooSession) -> None:
        super().__init__()
        self.owner = owner

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        """Answer ``request`` from the fixtures (or fail the way the owner was told to)."""
        return self.owner.answer(request)

    def close(self) -> None:
        """Nothing to release: no connection is ever opened."""


class RecordedYahooSession(requests.Session):
    """Serves recorded Yahoo answers to yfinance; ``requests`` lists every URL asked for."""

    def __init__(self, fixtures: Path = FIXTURES) -> None:
        super().__init__()
        self.fixtures = fixtures
        self.fail_status: int | None = None
        self.fail_timeout = False
        self.requests: list[str] = []
        self.unexpected: list[str] = []
        adapter = _RecordedAdapter(self)
        self.mount("https://", adapter)
        self.mount("http://", adapter)

    def answer(self, request: requests.PreparedRequest) -> requests.Response:
        """The response for one prepared request (see the module docstring for the routes)."""
        url = str(request.url)
        self.requests.append(f"{request.method} {url}")
        parts = urlsplit(url)
        host, path, query = parts.hostname or "", parts.path, parse_qs(parts.query)
        if self.fail_timeout:
            raise requests.exceptions.ReadTimeout(f"recorded timeout for {url}", request=request)
        if self.fail_status is not None:
            body: Any = "Too Many Requests\r\n" if self.fail_status == 429 else {
                "finance": {"result": None, "error": {"code": "Internal Server Error", "description": "Service error"}}}
            return self._response(request, self.fail_status, body)
        status, body = self._route(request, host, path, query)
        return self._response(request, status, body)

    def _route(self, request: requests.PreparedRequest, host: str, path: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        if host == "fc.yahoo.com":
            return 404, ""
        if host.endswith("finance.yahoo.com") and path == "/v1/test/getcrumb":
            return 200, CRUMB
        if host == "guce.yahoo.com":
            return 200, "<html><body>no consent form here</body></html>"
        if host == "query2.finance.yahoo.com" and path.startswith("/v8/finance/chart/"):
            return self._chart(path.rsplit("/", 1)[-1], query)
        if host == "query2.finance.yahoo.com" and path.startswith("/v10/finance/quoteSummary/"):
            return _not_found("quote", path.rsplit("/", 1)[-1])
        if host == "query1.finance.yahoo.com" and path == "/v7/finance/quote":
            return 200, {"quoteResponse": {"result": [], "error": None}}
        if host == "finance.yahoo.com" and path == "/xhr/ncp" and request.method == "POST":
            symbols = json.loads(request.body or b"{}")["serviceConfig"]["s"]
            return self._news(symbols[0])
        self.unexpected.append(f"{request.method} {request.url}")
        raise AssertionError(f"RecordedYahooSession: unexpected request {request.method} {request.url}")

    def _chart(self, symbol: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        fixture = self.fixtures / f"chart_{symbol}.json"
        if not fixture.is_file():
            return _not_found("chart", symbol)
        payload = json.loads(fixture.read_text())
        result = payload["chart"]["result"][0]
        stamps = result["timestamp"]
        if "period1" in query:
            lo, hi = int(query["period1"][0]), int(query["period2"][0])
            keep = [i for i, t in enumerate(stamps) if lo <= t < hi]
            for kind in list(result.get("events", {})):
                result["events"][kind] = {k: v for k, v in result["events"][kind].items() if lo <= v["date"] < hi}
        elif query.get("range") == ["1d"]:
            keep = [len(stamps) - 1]
            result.pop("events", None)
        else:
            raise AssertionError(f"RecordedYahooSession: chart query without period or range: {query}")
        if not keep:
            result.pop("timestamp")
            result.pop("events", None)
            result["indicators"] = {"quote": [{}], "adjclose": [{}]}
            return 200, payload
        result["timestamp"] = [stamps[i] for i in keep]
        quote = result["indicators"]["quote"][0]
        for key in quote:
            quote[key] = [quote[key][i] for i in keep]
        adj = result["indicators"]["adjclose"][0]
        adj["adjclose"] = [adj["adjclose"][i] for i in keep]
        return 200, payload

    def _news(self, symbol: str) -> tuple[int, Any]:
        fixture = self.fixtures / f"news_{symbol}.json"
        if not fixture.is_file():
            return 200, {"data": {"tickerStream": {"stream": []}}}
        return 200, json.loads(fixture.read_text())

    @staticmethod
    def _response(request: requests.PreparedRequest, status: int, body: Any) -> requests.Response:
        response = requests.Response()
        response.status_code = status
        response.request = request
        response.url = str(request.url)
        is_text = isinstance(body, str)
        response._content = (body if is_text else json.dumps(body)).encode()
        response.headers = CaseInsensitiveDict(
            {"Content-Type": "text/plain;charset=utf-8" if is_text else "application/json;charset=utf-8"})
        response.encoding = "utf-8"
        response.reason = HTTPStatus(status).phrase
        return response
