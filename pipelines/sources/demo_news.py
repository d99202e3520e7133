"""The offline demo news source: simulated headlines written for this project, read from data/demo/headlines.csv."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from functools import lru_cache
from pathlib import Path

import pandas as pd

from pipelines.locations import data_file
from pipelines.sources.news_common import select_headlines
from pipelines.sources.news_files import read_canonical_csv

DEMO_DIR = data_file("demo")
DEMO_HEADLINES = DEMO_DIR / "headlines.csv"


@lru_cache(maxsize=4)
def _load(path: Path) -> pd.DataFrame:
    """The parsed demo file, once per process (callers only get filtered copies)."""
    return read_canonical_csv(path, source="demo")


class DemoNewsSource:
    """Simulated headlines (source 'demo') about the AI tech tickers, 2023-01-03 .. 2025-03-31."""

    name = "demo"

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path).resolve() if path is not None else DEMO_HEADLINES

    def fetch_headlines(self, tickers: Sequence[str], start: date, end: date) -> pd.DataFrame:
        """Demo headlines published on New York dates start..end about any of ``tickers`` (all when empty)."""
        return select_headlines(_load(self.path), tickers, start, end)
