"""Dagster resources: the warehouse and the configured sources (all swappable by configuration)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import duckdb

from pipelines import warehouse
from pipelines.settings import Settings
from pipelines.sources import make_news_source, make_price_source
from pipelines.sources.base import NewsSource, PriceSource
from pipelines.universe import DEFAULT_TICKERS


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse file; Dagster runs are its only writer."""

    path: str

    @contextmanager
    def writer(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with warehouse.writer(self.path) as con:
            yield con


class PriceSourceResource(dg.ConfigurableResource):
    """Which price source feeds the ``prices`` asset, and for which tickers."""

    source: str = "demo"
    path: str | None = None
    tickers: list[str] = list(DEFAULT_TICKERS)

    def build(self) -> PriceSource:
        return make_price_source(self.source, self.path)


class NewsSourceResource(dg.ConfigurableResource):
    """Which news sources feed the ``headlines`` asset, and for which tickers."""

    sources: list[str] = ["demo"]
    path: str | None = None
    tickers: list[str] = list(DEFAULT_TICKERS)

    def build(self) -> list[NewsSource]:
        return [make_news_source(name, self.path) for name in self.sources]


def resources_from_env(
    warehouse_file: str | None = None, settings: Settings | None = None
) -> dict[str, dg.ConfigurableResource]:
    """Resources configured from the IMPACT_* variables (``settings``, read now when not given), defaulting to
    the offline demo. Only typed, non-secret values go into resource config: API keys stay in the environment."""
    from pipelines.assets.sentiment import sentiment_resource_from_env

    settings = Settings.from_env() if settings is None else settings
    tickers = list(settings.tickers or DEFAULT_TICKERS)
    return {
        "warehouse": WarehouseResource(path=str(warehouse.warehouse_path(warehouse_file))),
        "price_source": PriceSourceResource(
            source=settings.price_source,
            path=str(settings.price_path) if settings.price_path else None,
            tickers=tickers,
        ),
        "news_source": NewsSourceResource(
            sources=list(settings.news_sources),
            path=str(settings.news_path) if settings.news_path else None,
            tickers=tickers,
        ),
        "sentiment": sentiment_resource_from_env(settings),
    }
