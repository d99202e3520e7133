"""The dashboard's pages: one module per page, listed once in PAGES.

A page module defines

- ``layout(store, query) -> dash component``: the page for one URL, ``query`` the parsed query string
  (raises ``data.WarehouseBusy`` while a pipeline run holds the warehouse; the app then shows a
  "refreshing" notice and retries);
- ``register(app, store) -> None``: its callbacks, declared with ``@app.callback`` on the app given.

``dashboards.app.create_app`` builds the navigation bar from PAGES (in order), routes each path (with
or without a trailing slash) to its page's layout, and calls every page's ``register``. The first page
is the one any other path shows.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType


@dataclass(frozen=True)
class Page:
    """One page: its navigation label, its URL path and the module holding its layout and callbacks."""

    name: str
    path: str
    module: str

    def load(self) -> ModuleType:
        return importlib.import_module(self.module)


PAGES: tuple[Page, ...] = (
    Page("Overview", "/", "dashboards.pages.overview"),
    Page("Event explorer", "/events", "dashboards.pages.events"),
    Page("Ticker", "/ticker", "dashboards.pages.ticker"),
    Page("Sentiment vs returns", "/sentiment", "dashboards.pages.sentiment"),
)
