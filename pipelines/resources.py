"""Dagster resources: the warehouse and the configured sources (all swappable by configuration)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import duckdb

from pipelines import warehouse
from pipelines.sources import make_news_source, make_price_source
from pipelines.sources.base import NewsSource, PriceSource
from pipelines.universe import DEFAULT_TICKERS, split_names


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


def _env_list(name: str, default: list[str]) -> list[str]:
    return split_names(os.environ.get(name)) or default


def resources_from_env(warehouse_file: str | None = None) -> dict[str, dg.ConfigurableResource]:
    from pipelines.assets.sentiment import sentiment_resource_from_env

    """Resources configured from IMPACT_* environment variables, defaulting to the offline demo."""
    tickers = [t.upper() for t in _env_list("IMPACT_TICKERS", list(DEFAULT_TICKERS))]
    return {
        "warehouse": WarehouseResource(path=str(warehouse.warehouse_path(warehouse_file))),
        "price_source": PriceSourceResource(
            source=os.environ.get("IMPACT_PRICE_SOURCE", "demo"),
            path=os.environ.get("IMPACT_PRICE_PATH"),
            tickers=tickers,
        ),
        "news_source": NewsSourceResource(
            sources=_env_list("IMPACT_NEWS_SOURCES", ["demo"]),
            path=os.environ.get("IMPACT_NEWS_PATH"),
            tickers=tickers,
        ),
        "sentiment": sentiment_resource_from_env(),
    }
