"""Source adapters behind one interface, chosen by name so a swap is configuration, not code."""

from __future__ import annotations

from pathlib import Path

from pipelines import settings
from pipelines.settings import NEWS_SOURCES, PRICE_SOURCES
from pipelines.sources.base import NewsSource, PriceSource

__all__ = ["NEWS_SOURCES", "PRICE_SOURCES", "make_news_source", "make_price_source"]


def _base_url(variable: str) -> dict[str, str]:
    """An API's base URL from the environment (a proxy, a mirror, a test server), else the source's default."""
    url = settings.value(variable)
    return {"base_url": url} if url else {}


def make_price_source(name: str, path: str | Path | None = None) -> PriceSource:
    """The price source called ``name``; ``path`` is the folder or file for ``files``."""
    if name == "demo":
        from pipelines.sources.demo_market import DemoPriceSource

        return DemoPriceSource()
    if name == "yahoo":
        from pipelines.sources.yahoo import YahooPriceSource

        return YahooPriceSource()
    if name == "files":
        from pipelines.sources.files import FilePriceSource

        if path is None:
            raise ValueError("the 'files' price source needs a path (--path DIR or IMPACT_PRICE_PATH)")
        return FilePriceSource(Path(path))
    raise ValueError(f"unknown price source {name!r}; choose one of {', '.join(PRICE_SOURCES)}")


def make_news_source(name: str, path: str | Path | None = None) -> NewsSource:
    """The news source called ``name``; API keys come from the environment, never from config."""
    if name == "demo":
        from pipelines.sources.demo_news import DemoNewsSource

        return DemoNewsSource()
    if name == "yahoo":
        from pipelines.sources.yahoo import YahooNewsSource

        return YahooNewsSource()
    if name == "alphavantage":
        from pipelines.sources.alphavantage import AlphaVantageNewsSource

        return AlphaVantageNewsSource(**_base_url("IMPACT_ALPHAVANTAGE_URL"))
    if name == "fmp":
        from pipelines.sources.fmp import FmpNewsSource

        return FmpNewsSource(**_base_url("IMPACT_FMP_URL"))
    if name == "files":
        from pipelines.sources.news_files import FileNewsSource

        if path is None:
            raise ValueError("the 'files' news source needs a path (--news-path DIR or IMPACT_NEWS_PATH)")
        return FileNewsSource(Path(path))
    raise ValueError(f"unknown news source {name!r}; choose one of {', '.join(NEWS_SOURCES)}")
