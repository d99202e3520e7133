"""Headlines from files: Alpha Vantage or FMP exports and the canonical layout, told apart by their header.

A folder is read whole (every ``*.csv`` and ``*.json`` in it, not recursively) or one file is read.
Canonical files (published_at,title[,summary,url,publisher],tickers) must carry a zone in every
timestamp; vendor files use their vendor's zone (see the alphavantage and fmp modules).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from pipelines.errors import DataValidationError, SourceError
from pipelines.sources.alphavantage import (
    ALPHAVANTAGE_REQUIRED,
    parse_alphavantage_feed,
    read_alphavantage_csv,
)
from pipelines.sources.base import validate_headlines
from pipelines.sources.fmp import FMP_REQUIRED, parse_fmp_items, read_fmp_csv
from pipelines.sources.news_common import (
    clean_text,
    read_csv_header,
    read_csv_table,
    select_headlines,
)

CANONICAL_REQUIRED: tuple[str, ...] = ("published_at", "title", "tickers")
LAYOUTS: dict[str, tuple[str, ...]] = {
    "canonical": CANONICAL_REQUIRED,
    "alphavantage": ALPHAVANTAGE_REQUIRED,
    "fmp": FMP_REQUIRED,
}
"""Each accepted layout and the columns (or JSON keys) that identify it, checked in this order."""
SUFFIXES = (".csv", ".json")


def detect_layout(columns: Sequence[str], origin: str) -> str:
    """The layout whose identifying columns are all present, or an error listing the accepted layouts."""
    present = set(columns)
    for layout, required in LAYOUTS.items():
        if present.issuperset(required):
            return layout
    accepted = "; ".join(f"{name}: {','.join(cols)}" for name, cols in LAYOUTS.items())
    raise DataValidationError(origin, f"unknown headline layout with columns {list(columns)}; accepted layouts are {accepted}")


def _canonical(records: list[dict[str, Any]], origin: str, source: str) -> pd.DataFrame:
    """Canonical headlines from records already in the project's layout (timestamps must carry a zone)."""
    frame = pd.DataFrame(
        {
            "published_at": [r.get("published_at") or None for r in records],
            "title": [clean_text(r.get("title")) for r in records],
            "summary": [clean_text(r.get("summary")) for r in records],
            "url": [clean_text(r.get("url")) for r in records],
            "publisher": [clean_text(r.get("publisher")) for r in records],
            "tickers": [r.get("tickers") or None for r in records],
            "source": source,
        }
    )
    return validate_headlines(frame, origin)


def read_canonical_csv(path: Path, *, source: str = "files") -> pd.DataFrame:
    """Canonical headlines from a CSV in the project's own layout (tickers space- or comma-separated)."""
    path = Path(path)
    table = read_csv_table(path)
    if detect_layout(list(table.columns), str(path)) != "canonical":
        raise DataValidationError(str(path), f"not the canonical layout {','.join(CANONICAL_REQUIRED)}; got {list(table.columns)}")
    return _canonical(table.to_dict("records"), str(path), source)


def _read_json(path: Path, source: str) -> pd.DataFrame:
    """Headlines from a saved API answer: an Alpha Vantage object with 'feed', or a list of records."""
    origin = str(path)
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataValidationError(origin, f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from exc
    except UnicodeDecodeError as exc:
        raise DataValidationError(origin, f"not UTF-8 text (byte {exc.start}): {exc.reason}") from exc
    if isinstance(payload, dict) and isinstance(payload.get("feed"), list):
        return parse_alphavantage_feed(payload["feed"], origin, source=source)
    if not isinstance(payload, list):
        keys = sorted(payload) if isinstance(payload, dict) else type(payload).__name__
        raise DataValidationError(origin, f"expected an Alpha Vantage answer with 'feed' or a list of headline records, got {keys}")
    for row, record in enumerate(payload, start=1):
        if not isinstance(record, dict):
            raise DataValidationError(origin, f"record is not an object but {type(record).__name__}", row=row)
    if not payload:
        return validate_headlines(pd.DataFrame({"published_at": [], "title": [], "source": []}), origin)
    layout = detect_layout(sorted({k for record in payload for k in record}), origin)
    if layout == "fmp":
        return parse_fmp_items(payload, origin, source=source)
    if layout == "alphavantage":
        return parse_alphavantage_feed(payload, origin, source=source)
    return _canonical(payload, origin, source)


def read_headline_file(path: Path, *, source: str = "files") -> pd.DataFrame:
    """Canonical headlines from one CSV or JSON file of any accepted layout."""
    path = Path(path)
    if path.suffix.lower() == ".json":
        return _read_json(path, source)
    if path.suffix.lower() != ".csv":
        raise DataValidationError(str(path), f"unsupported file type {path.suffix!r}; use one of {SUFFIXES}")
    layout = detect_layout(read_csv_header(path), str(path))
    if layout == "alphavantage":
        return read_alphavantage_csv(path, source=source)
    if layout == "fmp":
        return read_fmp_csv(path, source=source)
    return read_canonical_csv(path, source=source)


class FileNewsSource:
    """Headlines from a folder of vendor exports or one file, filtered like any other news source."""

    name = "files"

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def files(self) -> list[Path]:
        """The files this source reads, in name order."""
        if self.path.is_file():
            return [self.path]
        if not self.path.is_dir():
            raise SourceError(self.name, f"no such file or folder: {self.path}")
        found = sorted(p for p in self.path.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES)
        if not found:
            raise SourceError(self.name, f"no *.csv or *.json headline files in {self.path}")
        return found

    def fetch_headlines(self, tickers: Sequence[str], start: date, end: date) -> pd.DataFrame:
        """Headlines published on New York dates start..end about any of ``tickers`` (all when empty)."""
        frames = [read_headline_file(p, source=self.name) for p in self.files()]
        merged = validate_headlines(pd.concat(frames, ignore_index=True), str(self.path))
        return select_headlines(merged, tickers, start, end)
