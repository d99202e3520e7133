"""Alpha Vantage NEWS_SENTIMENT: the live news source and a reader for its rows saved as CSV.

``time_published`` is UTC. Checked on ../shared/data/news/alphavantage_nvda (707 rows): fool.com
articles stamped 00:15..02:03 carry the previous day's date in their URL (a New York evening); the
37 articles also present in the FMP export (New York local time) are stamped exactly 4 h later
there before 2024-11-03 and 5 h later after it, the New York offset with its DST change; NVIDIA's
GlobeNewswire releases sit at 21:00 in October (EDT) and 22:00 in January (EST), 17:00 New York both.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from pipelines.errors import DataValidationError, SourceError, TransientSourceError
from pipelines.secrets import redact
from pipelines.sources import NEWS
from pipelines.sources.base import HEADLINE_COLUMNS, validate_headlines
from pipelines.sources.http import KeyedJsonApi
from pipelines.sources.news_common import (
    NEW_YORK,
    clean_text,
    domain_of,
    read_csv_table,
    select_headlines,
)

API_KEY_ENV: str = NEWS["alphavantage"].key or ""
"""The variable holding the key: declared with the source in the registry (pipelines/sources/__init__.py)."""
DEFAULT_URL = "https://www.alphavantage.co/query"
ALPHAVANTAGE_CSV_COLUMNS: tuple[str, ...] = (
    "title",
    "url",
    "time_published",
    "authors",
    "summary",
    "relevance_score",
    "ticker_sentiment_score",
    "ticker_sentiment_label",
)
ALPHAVANTAGE_REQUIRED: tuple[str, ...] = ("title", "url", "time_published")
PAGE_LIMIT = 1000
"""The most articles NEWS_SENTIMENT returns per request."""
MAX_PAGES = 20

_COMPACT = re.compile(r"\d{8}T\d{4}(\d{2})?")
_RATE_LIMIT = re.compile(r"(?i)rate limit|call frequency|requests per|calls per")
_TOPIC = re.compile(r"(?i)(CRYPTO|FOREX):")
"""ticker_sentiment also tags coins and currencies (CRYPTO:BTC, FOREX:USD): topics, not listed stocks."""
_FILE_TICKER = re.compile(r"(?i)([a-z][a-z0-9.]{0,9})[_-]news|news[_-]([a-z][a-z0-9.]{0,9})")


def parse_time_published(value: object, origin: str, row: int) -> pd.Timestamp:
    """The UTC instant of a ``time_published`` ('20250127T143000', '20250127T1430' or '2025-01-27 14:30:00')."""
    text = value.strip() if isinstance(value, str) else ""
    stamp: Any = pd.NaT
    try:
        if _COMPACT.fullmatch(text):
            stamp = pd.Timestamp(datetime.strptime(text, "%Y%m%dT%H%M%S" if len(text) == 15 else "%Y%m%dT%H%M"))
        elif text:
            stamp = pd.Timestamp(text)
    except ValueError:
        stamp = pd.NaT
    if pd.isna(stamp):
        raise DataValidationError(origin, f"headline without a valid time_published: {value!r}", row=row, field="time_published")
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def parse_alphavantage_feed(items: Sequence[Any], origin: str, *, source: str = "alphavantage") -> pd.DataFrame:
    """A canonical headline frame from NEWS_SENTIMENT ``feed`` items; tickers come from ``ticker_sentiment``."""
    rows = []
    for row, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise DataValidationError(origin, f"feed item is not an object but {type(item).__name__}", row=row)
        sentiment = item.get("ticker_sentiment") or []
        if not isinstance(sentiment, list):
            raise DataValidationError(origin, f"ticker_sentiment is not a list: {sentiment!r}", row=row, field="ticker_sentiment")
        url = clean_text(item.get("url"))
        rows.append(
            {
                "published_at": parse_time_published(item.get("time_published"), origin, row),
                "title": clean_text(item.get("title")),
                "summary": clean_text(item.get("summary")),
                "url": url,
                "publisher": clean_text(item.get("source")) or domain_of(url),
                "tickers": [str(s["ticker"]) for s in sentiment
                            if isinstance(s, dict) and s.get("ticker") and not _TOPIC.match(str(s["ticker"]))],
                "source": source,
            }
        )
    return validate_headlines(pd.DataFrame(rows, columns=list(HEADLINE_COLUMNS[1:])), origin)


def ticker_from_filename(path: Path) -> str:
    """The ticker an Alpha Vantage export is about, from a name like ``nvda_news.csv`` or ``news-NVDA.json``."""
    match = _FILE_TICKER.fullmatch(path.stem)
    if match is None:
        raise DataValidationError(
            str(path), "cannot tell which ticker this Alpha Vantage file is about: name it <TICKER>_news.csv or pass ticker=",
            field="ticker",
        )
    return (match.group(1) or match.group(2)).upper()


def read_alphavantage_csv(path: Path, ticker: str | None = None, *, source: str = "alphavantage") -> pd.DataFrame:
    """Canonical headlines from NEWS_SENTIMENT rows saved as CSV (see :data:`ALPHAVANTAGE_CSV_COLUMNS`).

    The rows carry no ticker list: every row is about ``ticker``, or the ticker in the file name.
    """
    path = Path(path)
    table = read_csv_table(path)
    missing = [c for c in ALPHAVANTAGE_REQUIRED if c not in table.columns]
    if missing:
        raise DataValidationError(str(path), f"not Alpha Vantage rows: missing {missing}; got {list(table.columns)}", field=missing[0])
    symbol = ticker.strip().upper() if ticker else ticker_from_filename(path)
    items = [
        {
            "time_published": record["time_published"],
            "title": record["title"],
            "summary": record.get("summary"),
            "url": record["url"],
            "ticker_sentiment": [{"ticker": symbol}],
        }
        for record in table.to_dict("records")
    ]
    return parse_alphavantage_feed(items, str(path), source=source)


class AlphaVantageNewsSource(KeyedJsonApi):
    """Headlines from the NEWS_SENTIMENT endpoint, one query per ticker (the API ANDs its ticker list)."""

    name = "alphavantage"

    api_key_env = API_KEY_ENV
    default_url = DEFAULT_URL

    def _fetch_headlines(self, tickers: Sequence[str], start: date, end: date) -> pd.DataFrame:
        """Headlines published on New York dates start..end about any of ``tickers`` (all news when empty)."""
        key = self._key()
        first = pd.Timestamp(start).tz_localize(NEW_YORK).tz_convert("UTC")
        after = (pd.Timestamp(end) + pd.Timedelta(days=1)).tz_localize(NEW_YORK).tz_convert("UTC")
        symbols: list[str | None] = [*sorted({t.strip().upper() for t in tickers if t.strip()})] or [None]
        frames = [self._fetch_symbol(symbol, first, after, key) for symbol in symbols]
        merged = validate_headlines(pd.concat(frames, ignore_index=True), self.name)
        return select_headlines(merged, tickers, start, end)

    def _fetch_symbol(self, symbol: str | None, first: pd.Timestamp, after: pd.Timestamp, key: str) -> pd.DataFrame:
        """Every article about ``symbol`` in [first, after), paging forward in time past the 1000-item limit."""
        params: dict[str, Any] = {
            "function": "NEWS_SENTIMENT",
            "time_from": first.strftime("%Y%m%dT%H%M"),
            "time_to": after.strftime("%Y%m%dT%H%M"),
            "sort": "EARLIEST",
            "limit": PAGE_LIMIT,
            "apikey": key,
        }
        if symbol is not None:
            params["tickers"] = symbol
        pages = []
        for _ in range(MAX_PAGES):
            payload = self._get(params)
            feed = self._feed(payload, symbol)
            pages.append(parse_alphavantage_feed(feed, self.name))
            if len(feed) < PAGE_LIMIT:
                return pd.concat(pages, ignore_index=True)
            resume = pages[-1]["published_at"].max().strftime("%Y%m%dT%H%M")
            if resume == params["time_from"]:
                raise SourceError(self.name, f"more than {PAGE_LIMIT} articles in the minute {resume}; cannot page on", ticker=symbol)
            params["time_from"] = resume
        raise SourceError(self.name, f"more than {MAX_PAGES} pages of {PAGE_LIMIT} articles: ask for a shorter range", ticker=symbol)

    def _feed(self, payload: Any, symbol: str | None) -> list[Any]:
        """The ``feed`` list of an answer; rate-limit notes are transient, other notices are errors."""
        if isinstance(payload, dict):
            for notice in ("Note", "Information", "Error Message"):
                if notice in payload:
                    message = redact(str(payload[notice]))
                    if notice == "Note" or _RATE_LIMIT.search(message):
                        raise TransientSourceError(self.name, f"rate limited: {message}", ticker=symbol)
                    raise SourceError(self.name, f"the API answered {notice!r}: {message}", ticker=symbol)
            feed = payload.get("feed")
            if isinstance(feed, list):
                return feed
            raise SourceError(self.name, f"answer has no 'feed' list (keys: {sorted(payload)})", ticker=symbol)
        raise SourceError(self.name, f"answer is a {type(payload).__name__}, not an object with a 'feed'", ticker=symbol)
