"""Financial Modeling Prep stock_news: the live news source and a reader for its rows saved as CSV.

``publishedDate`` is New York local time (America/New_York, EST/EDT). Checked on
../shared/data/news: the 37 articles present both here and in the Alpha Vantage export (UTC) are
stamped exactly 4 h earlier here before 2024-11-03 and 5 h earlier after it, the New York offset
with its DST change. A time in the repeated autumn hour is read as the first (EDT) one; one in the
skipped spring hour is moved forward to 03:00 EDT.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
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

API_KEY_ENV: str = NEWS["fmp"].key or ""
"""The variable holding the key: declared with the source in the registry (pipelines/sources/__init__.py)."""
DEFAULT_URL = "https://financialmodelingprep.com/api/v3/stock_news"
FMP_CSV_COLUMNS: tuple[str, ...] = ("symbol", "publishedDate", "title", "image", "site", "text", "url")
FMP_REQUIRED: tuple[str, ...] = ("symbol", "publishedDate", "title")
PAGE_LIMIT = 250
MAX_PAGES = 100


def parse_published_date(value: object, origin: str, row: int) -> pd.Timestamp:
    """The UTC instant of a ``publishedDate`` ('2025-01-27 14:30:00', New York local; an explicit offset wins)."""
    text = value.strip() if isinstance(value, str) else ""
    try:
        stamp: Any = pd.Timestamp(text) if text else pd.NaT
    except ValueError:
        stamp = pd.NaT
    if pd.isna(stamp):
        raise DataValidationError(origin, f"headline without a valid publishedDate: {value!r}", row=row, field="publishedDate")
    if stamp.tzinfo is not None:
        return stamp.tz_convert("UTC")
    return stamp.tz_localize(NEW_YORK, ambiguous=True, nonexistent="shift_forward").tz_convert("UTC")


def parse_fmp_items(items: Sequence[Any], origin: str, *, source: str = "fmp") -> pd.DataFrame:
    """A canonical headline frame from stock_news items (one symbol each; copies of a story merge)."""
    rows = []
    for row, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise DataValidationError(origin, f"news item is not an object but {type(item).__name__}", row=row)
        symbol = clean_text(item.get("symbol"))
        rows.append(
            {
                "published_at": parse_published_date(item.get("publishedDate"), origin, row),
                "title": clean_text(item.get("title")),
                "summary": clean_text(item.get("text")),
                "url": clean_text(item.get("url")),
                "publisher": domain_of(item.get("site")),
                "tickers": [symbol] if symbol else [],
                "source": source,
            }
        )
    return validate_headlines(pd.DataFrame(rows, columns=list(HEADLINE_COLUMNS[1:])), origin)


def read_fmp_csv(path: Path, *, source: str = "fmp") -> pd.DataFrame:
    """Canonical headlines from stock_news rows saved as CSV (see :data:`FMP_CSV_COLUMNS`)."""
    path = Path(path)
    table = read_csv_table(path)
    missing = [c for c in FMP_REQUIRED if c not in table.columns]
    if missing:
        raise DataValidationError(str(path), f"not FMP stock_news rows: missing {missing}; got {list(table.columns)}", field=missing[0])
    return parse_fmp_items(table.to_dict("records"), str(path), source=source)


class FmpNewsSource(KeyedJsonApi):
    """Headlines from the stock_news endpoint, paged until the answer runs out."""

    name = "fmp"

    api_key_env = API_KEY_ENV
    default_url = DEFAULT_URL

    def _fetch_headlines(self, tickers: Sequence[str], start: date, end: date) -> pd.DataFrame:
        """Headlines published on New York dates start..end about any of ``tickers`` (all news when empty)."""
        params: dict[str, Any] = {
            "from": pd.Timestamp(start).date().isoformat(),
            "to": pd.Timestamp(end).date().isoformat(),
            "limit": PAGE_LIMIT,
            "apikey": self._key(),
        }
        symbols = sorted({t.strip().upper() for t in tickers if t.strip()})
        if symbols:
            params["tickers"] = ",".join(symbols)
        pages = []
        for page in range(MAX_PAGES):
            payload = self._get({**params, "page": page})
            items = self._items(payload)
            pages.append(parse_fmp_items(items, f"{self.name} page {page}"))
            if len(items) < PAGE_LIMIT:
                merged = validate_headlines(pd.concat(pages, ignore_index=True), self.name)
                return select_headlines(merged, tickers, start, end)
        raise SourceError(self.name, f"more than {MAX_PAGES} pages of {PAGE_LIMIT} items: ask for a shorter range")

    def _items(self, payload: Any) -> list[Any]:
        """The item list of an answer; 'Limit Reach' is transient, any other error message is not."""
        if isinstance(payload, list):
            return payload
        if isinstance(payload, dict) and "Error Message" in payload:
            message = redact(str(payload["Error Message"]))
            if "limit reach" in message.lower():
                raise TransientSourceError(self.name, f"rate limited: {message}")
            raise SourceError(self.name, f"the API answered an error: {message}")
        kind = f"an object with keys {sorted(payload)}" if isinstance(payload, dict) else f"a {type(payload).__name__}"
        raise SourceError(self.name, f"answer is {kind}, not a list of news items")
