"""Every price and news source, declared once: its name, where its class lives and what it needs.

The registry is the one place a source's name appears: ``pipelines/settings.py`` takes the choices of
``IMPACT_PRICE_SOURCE`` / ``IMPACT_NEWS_SOURCES`` from it, the CLI its help, and
:func:`make_price_source` / :func:`make_news_source` build a source from its entry. Importing this
package is cheap on purpose (the standard library only): a source's module, with pandas, yfinance or
requests, is imported when the source is built. Adding a source is its own module plus one entry.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipelines.sources.base import NewsSource, PriceSource

__all__ = ["INTRADAY", "INTRADAY_SOURCES", "NEWS", "NEWS_SOURCES", "PRICE", "PRICE_SOURCES", "Source",
           "make_intraday_source", "make_news_source", "make_price_source"]


@dataclass(frozen=True)
class Source:
    """One source: ``target`` is ``"module:Class"``, built with a path, a base URL, or nothing."""

    name: str
    target: str
    summary: str
    path: str | None = None
    """How the user gives the file or folder it reads (``--path DIR or IMPACT_PRICE_PATH``); None: it reads none."""
    key: str | None = None
    """The secret variable holding its API key (read by the source when it fetches, never stored)."""
    url: str | None = None
    """The variable that points it at another base URL (a proxy, a mirror, a test server)."""

    @property
    def needs(self) -> str:
        """What it needs, in words for help texts: ``needs ALPHAVANTAGE_API_KEY``, ``needs --path DIR ...``."""
        wants = [want for want in (self.path, self.key) if want]
        return f"needs {' and '.join(wants)}" if wants else "offline, needs nothing"

    def build(self, kind: str, path: str | Path | None = None) -> Any:
        """An instance of the source's class, configured from its needs (``kind``: price or news, for messages)."""
        module, _, attribute = self.target.partition(":")
        cls = getattr(importlib.import_module(module), attribute)
        if self.path is not None:
            if path is None:
                raise ValueError(f"the '{self.name}' {kind} source needs a path ({self.path})")
            return cls(Path(path))
        if self.url is not None:
            from pipelines import settings

            url = settings.value(self.url)
            return cls(**({"base_url": url} if url else {}))
        return cls()


def _registry(*sources: Source) -> dict[str, Source]:
    return {source.name: source for source in sources}


PRICE: dict[str, Source] = _registry(
    Source("demo", "pipelines.sources.demo_market:DemoPriceSource", "the simulated AI-stock market, offline"),
    Source("yahoo", "pipelines.sources.yahoo:YahooPriceSource", "Yahoo Finance daily bars (yfinance)"),
    Source("files", "pipelines.sources.files:FilePriceSource", "CSV or Parquet price files",
           path="--path DIR or IMPACT_PRICE_PATH"),
)
"""The price sources, in the order help texts list them."""

NEWS: dict[str, Source] = _registry(
    Source("demo", "pipelines.sources.demo_news:DemoNewsSource", "the demo market's headlines, offline"),
    Source("yahoo", "pipelines.sources.yahoo:YahooNewsSource", "Yahoo Finance recent news (yfinance)"),
    Source("alphavantage", "pipelines.sources.alphavantage:AlphaVantageNewsSource", "Alpha Vantage NEWS_SENTIMENT",
           key="ALPHAVANTAGE_API_KEY", url="IMPACT_ALPHAVANTAGE_URL"),
    Source("fmp", "pipelines.sources.fmp:FmpNewsSource", "Financial Modeling Prep stock_news",
           key="FMP_API_KEY", url="IMPACT_FMP_URL"),
    Source("files", "pipelines.sources.news_files:FileNewsSource", "headline files (canonical, Alpha Vantage or FMP)",
           path="--news-path DIR or IMPACT_NEWS_PATH"),
)
"""The news sources, in the order help texts list them."""

INTRADAY: dict[str, Source] = _registry(
    Source("demo", "pipelines.sources.demo_intraday:DemoIntradaySource", "simulated minute bars, 2025-01-21..02-04"),
    Source("yahoo", "pipelines.sources.yahoo_intraday:YahooIntradaySource", "Yahoo intraday bars with pre/post-market"),
    Source("files", "pipelines.sources.intraday_files:FileIntradaySource", "vendor minute/hour CSV files",
           path="--path DIR or IMPACT_INTRADAY_PATH"),
)
"""The intraday bar sources (pipelines/sources/intraday.py: the canonical frame)."""

PRICE_SOURCES: tuple[str, ...] = tuple(PRICE)
NEWS_SOURCES: tuple[str, ...] = tuple(NEWS)
INTRADAY_SOURCES: tuple[str, ...] = tuple(INTRADAY)


def make_price_source(name: str, path: str | Path | None = None) -> PriceSource:
    """The price source called ``name``; ``path`` is the folder or file for a source that reads files."""
    if name not in PRICE:
        raise ValueError(f"unknown price source {name!r}; choose one of {', '.join(PRICE)}")
    return PRICE[name].build("price", path)


def make_news_source(name: str, path: str | Path | None = None) -> NewsSource:
    """The news source called ``name``; API keys come from the environment when it fetches, never from config."""
    if name not in NEWS:
        raise ValueError(f"unknown news source {name!r}; choose one of {', '.join(NEWS)}")
    return NEWS[name].build("news", path)


def make_intraday_source(name: str, path: str | Path | None = None) -> Any:
    """The intraday bar source called ``name`` (``IntradaySource`` in pipelines/sources/intraday.py)."""
    if name not in INTRADAY:
        raise ValueError(f"unknown intraday source {name!r}; choose one of {', '.join(INTRADAY)}")
    return INTRADAY[name].build("intraday", path)
