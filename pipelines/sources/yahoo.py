"""Yahoo Finance price and headline sources on the real yfinance client, with Yahoo's refusals made explicit.

``yf.download`` does not raise: it returns an empty frame (or all-NaN columns for a ticker) and
only logs why. yfinance 1.7 keeps those reasons in a per-call context (``yfinance.shared._ERRORS``
is no longer filled), so this module reads them from the ``yfinance`` logger, and it watches the
HTTP exchanges on the session it hands to yfinance to tell a refusal worth retrying (HTTP 429,
5xx, timeouts -> :class:`TransientSourceError`) from an unknown ticker (:class:`SourceError`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urlsplit

import pandas as pd
import yfinance as yf
from curl_cffi import requests as curl_requests
from yfinance.data import YfData
from yfinance.exceptions import YFRateLimitError

from models.calendar import EXCHANGE_TZ
from pipelines.errors import DataValidationError, SourceError, TransientSourceError
from pipelines.sources.base import validate_headlines, validate_prices

_YAHOO_FIELDS = {
    "Open": "open", "High": "high", "Low": "low", "Close": "close", "Adj Close": "adj_close",
    "Volume": "volume", "Stock Splits": "split_ratio", "Dividends": "dividend",
}
_BAR_FIELDS = ["Open", "High", "Low", "Close", "Adj Close", "Volume"]
_TRANSIENT_NAMES = frozenset(
    {"Timeout", "TimeoutError", "ConnectionError", "ChunkedEncodingError", "RemoteDisconnected", "ProxyError"}
)
_FAILED_LINE = re.compile(r"^\[(?P<symbols>[^\]]*)\]: (?P<reason>.+)$", re.DOTALL)
_REASON_CHARS = 300


def _new_session() -> curl_requests.Session:
    """The session yfinance would create itself (curl_cffi, Chrome fingerprint), but one we can watch."""
    return curl_requests.Session(impersonate="chrome")


def _symbols(tickers: Sequence[str], origin: str) -> list[str]:
    """Upper-cased, de-duplicated tickers in request order; an empty request is an error."""
    symbols = list(dict.fromkeys(str(t).strip().upper() for t in tickers))
    if not symbols or "" in symbols:
        raise SourceError(origin, f"expected non-empty ticker symbols, got {list(tickers)!r}")
    return symbols


def _is_transient(exc: BaseException) -> bool:
    """Timeouts and dropped connections (requests or curl_cffi) are worth a retry."""
    return isinstance(exc, YFRateLimitError) or any(c.__name__ in _TRANSIENT_NAMES for c in type(exc).__mro__)


def _symbol_of(url: str, kwargs: dict[str, Any]) -> str | None:
    """The ticker a yfinance request is about: chart/quoteSummary path, ``symbols`` param or news body."""
    path = urlsplit(url).path
    if "/finance/chart/" in path or "/finance/quoteSummary/" in path:
        return unquote(path.rsplit("/", 1)[-1]).upper()
    params = kwargs.get("params") or {}
    if "symbols" in params:
        return str(params["symbols"]).upper()
    body = kwargs.get("json")
    listed = (body.get("serviceConfig") or {}).get("s") if isinstance(body, dict) else None
    return str(listed[0]).upper() if listed else None


def _yahoo_error(response: Any) -> str:
    """Yahoo's own description of a refused request (its JSON ``error.description``, else the body)."""
    try:
        payload = response.json()
    except ValueError:
        return response.text.strip()[:120]
    if isinstance(payload, dict):
        for body in payload.values():
            error = body.get("error") if isinstance(body, dict) else None
            if isinstance(error, dict) and error.get("description"):
                return str(error["description"])
    return response.text.strip()[:120]


@dataclass(frozen=True)
class _Exchange:
    """One HTTP request yfinance made: the ticker it was about, the status (None if it raised), why it failed."""

    symbol: str | None
    status: int | None
    note: str
    transient: bool


class _Watch(logging.Handler):
    """Context manager recording yfinance's HTTP exchanges on a session and the failures it logs."""

    def __init__(self, session: Any) -> None:
        super().__init__(logging.ERROR)
        self.session = session
        self.exchanges: list[_Exchange] = []
        self.reasons: dict[str, str] = {}
        self._own_attribute: Callable[..., Any] | None = vars(session).get("request")

    def emit(self, record: logging.LogRecord) -> None:
        """Keep the ``['T1', 'T2']: reason`` lines yf.download logs for failed tickers."""
        match = _FAILED_LINE.match(record.getMessage())
        if match:
            for symbol in re.findall(r"'([^']+)'", match["symbols"]):
                self.reasons[symbol.upper()] = match["reason"].strip()[:_REASON_CHARS]

    def __enter__(self) -> _Watch:
        original = self.session.request

        def request(*args: Any, **kwargs: Any) -> Any:
            url = str(kwargs.get("url", args[1] if len(args) > 1 else ""))
            symbol = _symbol_of(url, kwargs)
            try:
                response = original(*args, **kwargs)
            except Exception as exc:
                self.exchanges.append(_Exchange(symbol, None, repr(exc)[:_REASON_CHARS], _is_transient(exc)))
                raise
            status = int(response.status_code)
            note = _yahoo_error(response) if status >= 400 else ""
            self.exchanges.append(_Exchange(symbol, status, note, status == 429 or status >= 500))
            return response

        self.session.request = request
        logging.getLogger("yfinance").addHandler(self)
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        logging.getLogger("yfinance").removeHandler(self)
        if self._own_attribute is None:
            del self.session.request
        else:
            self.session.request = self._own_attribute

    def transient(self, symbol: str) -> bool:
        """True when a request about ``symbol`` was refused in a way that may pass."""
        reason = self.reasons.get(symbol, "")
        return "YFRateLimitError" in reason or any(e.transient for e in self.exchanges if e.symbol == symbol)

    def explain(self, symbol: str) -> str:
        """Yahoo's answer and yfinance's reason for ``symbol``, as far as either said anything."""
        refused = [e for e in self.exchanges if e.symbol == symbol and (e.status is None or e.status >= 400)]
        parts = []
        if refused:
            last = refused[-1]
            parts.append(f"Yahoo answered {'HTTP ' + str(last.status) if last.status else 'nothing'}: {last.note}")
        if symbol in self.reasons:
            parts.append(f"yfinance: {self.reasons[symbol]}")
        return "; ".join(parts) or "Yahoo gave no reason"


def _failure(origin: str, failed: list[str], what: str, watch: _Watch) -> SourceError:
    """The error for tickers Yahoo gave nothing for: transient if any refusal may pass."""
    detail = f"{what} " + "; ".join(f"{s} ({watch.explain(s)})" for s in failed)
    ticker = failed[0] if len(failed) == 1 else None
    if any(watch.transient(s) for s in failed):
        # yfinance memoises answers for past ranges in-process (5xx pages too): forget them so a retry refetches.
        YfData.cache_get.cache_clear()
        return TransientSourceError(origin, detail, ticker=ticker)
    return SourceError(origin, detail, ticker=ticker)


def _bars(data: pd.DataFrame, symbol: str) -> pd.DataFrame | None:
    """Canonical rows for ``symbol`` from a ``group_by='ticker'`` download, or None if Yahoo gave none."""
    if data.empty or not isinstance(data.columns, pd.MultiIndex) or symbol not in data.columns.get_level_values(0):
        return None
    frame = data[symbol].dropna(how="all", subset=[c for c in _BAR_FIELDS if c in data[symbol].columns])
    if frame.empty:
        return None
    missing = [c for c in _YAHOO_FIELDS if c not in frame.columns]
    if missing:
        raise DataValidationError("yahoo", f"yfinance answer lacks column(s) {missing}", ticker=symbol, field=missing[0])
    out = frame.loc[:, list(_YAHOO_FIELDS)].rename(columns=_YAHOO_FIELDS).rename_axis(columns=None)
    out["split_ratio"] = out["split_ratio"].mask(out["split_ratio"] == 0, 1.0)
    index = pd.DatetimeIndex(frame.index)
    if index.tz is not None:
        index = index.tz_localize(None)  # wall-clock (exchange) time, not a conversion
    out.insert(0, "date", index.normalize())
    out.insert(0, "ticker", symbol)
    out["source"] = "yahoo"
    return out.reset_index(drop=True)


class YahooPriceSource:
    """Daily bars from Yahoo through ``yf.download``: close as traded (split-adjusted), adj_close with dividends."""

    name = "yahoo"

    def __init__(self, session: Any = None, batch_size: int = 40, timeout: int = 30) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.session = session
        self.batch_size = batch_size
        self.timeout = timeout

    def _http(self) -> Any:
        if self.session is None:
            self.session = _new_session()
        return self.session

    def fetch_prices(self, tickers: Sequence[str], start: date, end: date) -> pd.DataFrame:
        """Canonical bars for ``tickers`` on sessions ``start``..``end`` (inclusive), or a SourceError."""
        symbols = _symbols(tickers, self.name)
        if end < start:
            raise SourceError(self.name, f"end {end} is before start {start}")
        frames = [self._batch(symbols[i : i + self.batch_size], start, end) for i in range(0, len(symbols), self.batch_size)]
        return validate_prices(pd.concat(frames, ignore_index=True), self.name)

    def _batch(self, symbols: list[str], start: date, end: date) -> pd.DataFrame:
        session = self._http()
        with _Watch(session) as watch:
            data = yf.download(
                symbols, start=start, end=end + timedelta(days=1),  # yfinance's end is exclusive
                auto_adjust=False, actions=True, group_by="ticker", progress=False, threads=False,
                ignore_tz=True,  # index = exchange-local session dates
                timeout=self.timeout, session=session,
            )
        if data is None or data.empty:
            raise _failure(self.name, symbols, "empty answer for", watch)
        bars = {s: _bars(data, s) for s in symbols}
        failed = [s for s, frame in bars.items() if frame is None]
        if failed:
            raise _failure(self.name, failed, "no data for", watch)
        return pd.concat(list(bars.values()), ignore_index=True)


def _text(value: object) -> str | None:
    """A non-blank string, stripped, or None."""
    return (value.strip() or None) if isinstance(value, str) else None


def _published(raw: object) -> pd.Timestamp | None:
    """Yahoo's ``pubDate`` (ISO 8601 with a zone, e.g. ``2025-01-27T15:02:11Z``) in UTC, or None."""
    if not isinstance(raw, str):
        return None
    try:
        stamp = pd.Timestamp(raw)
    except ValueError:
        return None
    return None if pd.isna(stamp) or stamp.tzinfo is None else stamp.tz_convert("UTC")


def _headline(item: object, symbol: str, position: int) -> dict[str, Any]:
    """One canonical headline row from a ``Ticker.news`` item (Yahoo's ncp ``content`` layout)."""
    origin = "yahoo news"

    def bad(detail: str, field: str) -> DataValidationError:
        return DataValidationError(origin, f"news item {position}: {detail}", ticker=symbol, row=position, field=field)

    content = item.get("content") if isinstance(item, dict) else None
    if not isinstance(content, dict):
        raise bad(f"expected a dict with a 'content' dict, got {str(item)[:120]!r}", "content")
    title = _text(content.get("title"))
    if title is None:
        raise bad(f"missing title, got {content.get('title')!r}", "title")
    published = _published(content.get("pubDate"))
    if published is None:
        raise bad(f"missing, unparsable or zone-less pubDate {content.get('pubDate')!r}", "pubDate")
    links = [content.get("clickThroughUrl"), content.get("canonicalUrl")]
    url = next((_text(link.get("url")) for link in links if isinstance(link, dict) and _text(link.get("url"))), None)
    provider = content.get("provider")
    listed = (content.get("finance") or {}).get("stockTickers") or []
    tickers = {symbol} | {str(t["symbol"]).upper() for t in listed if isinstance(t, dict) and t.get("symbol")}
    return {
        "published_at": published, "title": title,
        "summary": _text(content.get("summary")) or _text(content.get("description")),
        "url": url, "publisher": _text(provider.get("displayName")) if isinstance(provider, dict) else None,
        "tickers": sorted(tickers), "source": "yahoo",
    }


class YahooNewsSource:
    """Recent headlines per ticker from Yahoo (``yf.Ticker(t).news``), kept when published on NY dates start..end."""

    name = "yahoo"

    def __init__(self, session: Any = None) -> None:
        self.session = session

    def _http(self) -> Any:
        if self.session is None:
            self.session = _new_session()
        return self.session

    def fetch_headlines(self, tickers: Sequence[str], start: date, end: date) -> pd.DataFrame:
        """Canonical headlines (see base.HEADLINE_COLUMNS) about ``tickers``; Yahoo only serves recent news."""
        rows = [row for symbol in _symbols(tickers, self.name) for row in self._ticker(symbol)]
        frame = pd.DataFrame(rows, columns=["published_at", "title", "summary", "url", "publisher", "tickers", "source"])
        if not frame.empty:
            day = pd.DatetimeIndex(frame["published_at"]).tz_convert(EXCHANGE_TZ).normalize().tz_localize(None)
            frame = frame[(day >= pd.Timestamp(start)) & (day <= pd.Timestamp(end))]
        return validate_headlines(frame, "yahoo news")

    def _ticker(self, symbol: str) -> list[dict[str, Any]]:
        session = self._http()
        with _Watch(session) as watch:
            try:
                items = yf.Ticker(symbol, session=session).news
            except Exception as exc:
                kind = TransientSourceError if _is_transient(exc) or watch.transient(symbol) else SourceError
                raise kind("yahoo news", f"news request failed: {exc!r}"[:_REASON_CHARS], ticker=symbol) from exc
        if not items:
            what = f"Yahoo returned no news items ({watch.explain(symbol)})"
            kind = TransientSourceError if watch.transient(symbol) else SourceError
            raise kind("yahoo news", what, ticker=symbol)
        return [_headline(item, symbol, i + 1) for i, item in enumerate(items)]
