"""The Dash app: the shell (navigation, banners, routing) around the pages in ``dashboards.pages``.

``create_app(warehouse_path)`` builds the app over one warehouse file, read-only (see
dashboards.data). Pages (``dashboards.pages.PAGES``): ``/`` overview, ``/events?event=<id>``,
``/ticker?ticker=NVDA``, ``/sentiment``; each page's module holds its layout and its callbacks.
Shared pieces live in ``dashboards.components``, the stylesheet in ``dashboards/assets/style.css``.
Headline text goes into Dash components as text, never as HTML.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from types import ModuleType

import dash
from dash import MATCH, Input, Output, State, dcc, html

from dashboards import data
from dashboards.components import nav, parse_query
from dashboards.components import test_label as _test_label  # noqa: F401  (the dashboards' test labels; tests import it here)
from dashboards.pages import PAGES
from dashboards.security import LOOPBACK_HOSTS, harden

TITLE = "AI market impact"
ASSETS = Path(__file__).resolve().parent / "assets"

# Dash's own page template; the stylesheet comes in through {%css%} from ASSETS.
INDEX = """<!DOCTYPE html>
<html><head>{%metas%}<title>{%title%}</title>{%favicon%}{%css%}</head>
<body>{%app_entry%}<footer>{%config%}{%scripts%}{%renderer%}</footer></body></html>"""


def _routes() -> tuple[dict[str, ModuleType], ModuleType]:
    """Each page's path (with and without a trailing slash) -> its module; and the page any other path shows."""
    routes: dict[str, ModuleType] = {}
    for page in PAGES:
        module = page.load()
        routes[page.path] = routes[page.path.rstrip("/") + "/"] = module
    return routes, PAGES[0].load()


def create_app(
    warehouse_path: str | Path | None = None,
    *,
    wait_s: float = 1.5,
    poll_ms: int = 3000,
    hosts: Iterable[str] = LOOPBACK_HOSTS,
) -> dash.Dash:
    """The dashboard over ``warehouse_path`` (default: $IMPACT_WAREHOUSE or data/warehouse.duckdb), read-only,
    answering requests for ``hosts`` only, with the security headers of :mod:`dashboards.security`."""
    store = data.open_store(warehouse_path, wait_s=wait_s)
    app = dash.Dash(
        __name__,
        title=TITLE,
        suppress_callback_exceptions=True,
        update_title=None,  # type: ignore[arg-type]
        assets_folder=str(ASSETS),
    )
    app.index_string = INDEX
    app.impact_store = store  # type: ignore[attr-defined]
    app.layout = html.Div(
        [
            dcc.Location(id="url"),
            nav(TITLE, [(page.path, page.name) for page in PAGES]),
            html.Div(id="demo-banner"),
            html.Div(id="busy-banner"),
            html.Div(id="page", className="page"),
            dcc.Interval(id="poll", interval=poll_ms),
            dcc.Interval(id="page-retry", interval=2000, disabled=True),
        ]
    )
    routes, default = _routes()

    @app.callback(
        Output("page", "children"),
        Output("page-retry", "disabled"),
        Input("url", "pathname"),
        Input("page-retry", "n_intervals"),
        State("url", "search"),
    )
    def render_page(pathname: str | None, _retry: int | None, search: str | None):
        try:
            return routes.get(pathname or "", default).layout(store, parse_query(search)), True
        except data.WarehouseBusy:
            return html.Div(
                "The warehouse is being refreshed by a pipeline run — this page loads as soon as it is readable again.",
                className="card refreshing",
            ), False

    @app.callback(
        Output("demo-banner", "children"),
        Output("busy-banner", "children"),
        Input("poll", "n_intervals"),
        Input("url", "pathname"),
    )
    def banners(_n: int | None, _path: str | None):
        busy = store.busy()
        try:
            status = data.status(store).value
            demo = status["demo"]
        except data.WarehouseBusy:
            demo = False
        demo_banner = (
            html.Div(
                "SIMULATED DEMO DATA — prices and headlines in this warehouse are simulated (source = 'demo'), not market data.",
                className="banner-demo",
                id="demo-banner-text",
            )
            if demo
            else None
        )
        busy_banner = (
            html.Div(
                "A pipeline run is writing to the warehouse: showing the last data read; pages refresh "
                "when it finishes.",
                className="banner-busy",
                id="busy-banner-text",
            )
            if busy
            else None
        )
        return demo_banner, busy_banner

    @app.callback(
        Output({"type": "csv-download", "table": MATCH}, "data"),
        Input({"type": "csv-button", "table": MATCH}, "n_clicks"),
        State({"type": "csv-data", "table": MATCH}, "data"),
        prevent_initial_call=True,
    )
    def download_csv(clicks: int | None, payload: dict | None):
        """Every table's "Download CSV" button (components.table): the CSV its page stored beside it."""
        if not clicks or not payload:
            return dash.no_update
        return {"content": payload["csv"], "filename": payload["filename"], "type": "text/csv", "base64": False}

    for module in dict.fromkeys(routes.values()):
        module.register(app, store)
    harden(app, hosts)
    return app
