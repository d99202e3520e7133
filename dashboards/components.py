"""Pieces the dashboard pages share: number formatting, tables, headline lists with sentiment badges,
the navigation bar, the "busy" figure and query-string parsing.

Every text from the warehouse goes into Dash components as text (Dash escapes it), never as HTML.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any
from urllib.parse import parse_qs

import numpy as np
import pandas as pd
from dash import dcc, html

from dashboards import figures

GRAPH_CONFIG: Any = {"displaylogo": False, "responsive": True}  # Any: dcc.Graph types it as its own TypedDict
BUSY_MESSAGE = "The warehouse is being refreshed by a pipeline run — retrying…"


def iso_day(text: str) -> date:
    """The day of a date picker's value ("2025-01-27" or "2025-01-27T00:00:00")."""
    return date.fromisoformat(text[:10])


# --- numbers -------------------------------------------------------------------------------------


def pct(value: Any, digits: int = 2) -> str:
    """A fraction as a signed percentage ("-16.97%"); "" when missing."""
    return "" if value is None or not np.isfinite(float(value)) else f"{100 * float(value):+.{digits}f}%"


def num(value: Any, digits: int = 2) -> str:
    """A number with ``digits`` decimals; "" when missing or not a number."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return ""
    return "" if not np.isfinite(number) else f"{number:.{digits}f}"


def p_value(value: Any) -> str:
    """A p-value with its significance stars ("0.0123**", "<0.0001***"); "" when missing."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return ""
    if not np.isfinite(number):
        return ""
    return f"{number:.4f}{figures.stars(number)}" if number >= 1e-4 else f"<0.0001{figures.stars(number)}"


def test_label(test: str) -> str:
    """The dashboards' label of a significance test, from the registry (its name if unregistered)."""
    from models.event_study.significance import display_label

    return display_label(test)


# --- tables and headlines ------------------------------------------------------------------------


def table(
    frame: pd.DataFrame,
    numeric: Iterable[str] = frozenset(),
    table_id: str | None = None,
    *,
    export: pd.DataFrame | None = None,
    simulated: bool = False,
    filename: str | None = None,
) -> html.Table | html.Div:
    """A plain HTML table; every cell is text (Dash escapes it); ``numeric`` columns are right-aligned.

    With a ``table_id`` the table comes with a "Download CSV" button: ``export`` (default: the frame shown; pass
    the raw numbers) as CSV, marked simulated (a first column and the file name) when ``simulated``.
    """
    numeric = set(numeric)
    head = html.Thead(html.Tr([html.Th(str(c)) for c in frame.columns]))
    body = html.Tbody(
        [
            html.Tr(
                [
                    html.Td(str(v), className="num" if c in numeric else None)
                    for c, v in zip(frame.columns, row, strict=True)
                ]
            )
            for row in frame.itertuples(index=False)
        ]
    )
    if not table_id:
        return html.Table([head, body], className="tbl")
    return html.Div(
        [
            html.Table([head, body], className="tbl", id=table_id),
            *csv_download(table_id, frame if export is None else export, simulated, filename),
        ]
    )


SIMULATED_COLUMN = "data"
SIMULATED_VALUE = "SIMULATED (demo)"


def csv_payload(frame: pd.DataFrame, simulated: bool, stem: str) -> dict[str, str]:
    """The CSV text and file name of a table's export; demo data carries a first column and a file name saying so."""
    if simulated:
        frame = frame.copy()
        frame.insert(0, SIMULATED_COLUMN, SIMULATED_VALUE)
    return {"csv": frame.to_csv(index=False), "filename": f"{stem}{'-SIMULATED' if simulated else ''}.csv"}


def csv_download(table_id: str, frame: pd.DataFrame, simulated: bool, filename: str | None = None) -> list:
    """A table's "Download CSV" button, its dcc.Download and the CSV it sends (app.py's one callback serves them all)."""
    key = {"table": table_id}
    return [
        html.Button("Download CSV", id={"type": "csv-button", **key}, className="csv-button", n_clicks=0),
        dcc.Download(id={"type": "csv-download", **key}),
        dcc.Store(id={"type": "csv-data", **key}, data=csv_payload(frame, simulated, filename or table_id)),
    ]


def sentiment_class(label: object) -> str:
    """The CSS class of a sentiment label: negative, neutral, positive or unscored."""
    return label if label in ("negative", "neutral", "positive") else "unscored"


def score_badges(scores: list[dict]) -> list[html.Span]:
    """One badge per ticker the headline concerns: the sentiment for THAT ticker, marked when indirect."""
    badges = []
    for item in scores:
        mark = "" if item["relevance"] == "direct" else " (indirect)"
        badges.append(
            html.Span(
                f"{item['ticker']} {item['label']} {item['score']:+.2f}{mark}",
                className=f"badge {sentiment_class(item['label'])}",
                title=f"sentiment for {item['ticker']}; relevance {item['relevance']}",
            )
        )
    return badges


def headline_items(headlines: pd.DataFrame, sentiment_ready: bool) -> html.Div:
    """Headlines in time order, each with its sentiment for every ticker in view (grey when unscored)."""
    if headlines is None or headlines.empty:
        return html.Div("No headlines for this selection.", className="muted")
    items = []
    for row in headlines.itertuples(index=False):
        when = pd.Timestamp(row.published_at).tz_convert("America/New_York").strftime("%Y-%m-%d %H:%M ET")
        label = getattr(row, "sentiment", None)
        scores = list(getattr(row, "scores", None) or [])
        badges = score_badges(scores) or [html.Span("unscored", className="badge unscored")]
        tickers = ", ".join(list(row.tickers)) if row.tickers is not None else ""
        items.append(
            html.Li(
                [
                    *badges,
                    headline_title(row.title, getattr(row, "url", None)),
                    html.Div(
                        f"{when} · {row.publisher or ''} · {tickers} · session {pd.Timestamp(row.session_date):%Y-%m-%d}",
                        className="muted",
                    ),
                ],
                className=sentiment_class(label),
            )
        )
    note = (
        []
        if sentiment_ready
        else [
            html.Div(
                "Sentiment not computed yet: headlines are shown unscored.",
                className="muted sentiment-missing",
                style={"marginBottom": "6px"},
            )
        ]
    )
    return html.Div([*note, html.Ul(items, className="headlines")])


def headline_title(title: str, url: object) -> html.A | html.Span:
    """The headline's title, a link to its story when the URL is http(s) (never a javascript: or data: URL)."""
    if isinstance(url, str) and url.lower().startswith(("https://", "http://")):
        return html.A(title, href=url, target="_blank", rel="noopener noreferrer", className="headline-title")
    return html.Span(title, className="headline-title")


# --- page furniture ------------------------------------------------------------------------------


def nav_id(label: str) -> str:
    """The id of a page's navigation link: nav-<first word of its label, lower case>."""
    return f"nav-{label.split()[0].lower()}"


def nav(title: str, links: Iterable[tuple[str, str]]) -> html.Div:
    """The top bar: the app's title, then one link per (path, label)."""
    return html.Div(
        [html.H1(title), *[dcc.Link(label, href=href, id=nav_id(label)) for href, label in links]], className="top"
    )


MENU_MAX_HEIGHT = 480
"""Pixels of an open menu: 10+ options in view (Dash's default, 200, shows about six)."""


def control(label: str, child: Any, control_id: str | None = None) -> html.Div:
    """One labelled control of a page's control bar (the label's class keeps the CSS off Dash's option labels)."""
    return html.Div([html.Label(label, className="control-label", htmlFor=control_id), child])


def menu(
    menu_id: str, options: list, value: Any, *, multi: bool = False, width: str = "160px", **extra: Any
) -> dcc.Dropdown:
    """A dcc.Dropdown with room for 10+ options; its search box gets the focus when it opens (assets/menus.js)."""
    return dcc.Dropdown(
        id=menu_id,
        options=options,
        value=value,
        multi=multi,
        maxHeight=MENU_MAX_HEIGHT,
        style={"width": width} if not multi else {"minWidth": width},
        **extra,
    )


def busy_figure(message: str = BUSY_MESSAGE) -> object:
    """The figure a chart shows while a pipeline run holds the warehouse (its callback retries)."""
    return figures.empty_figure(message)


def stamp(fig: Any, simulated: bool) -> Any:
    """The figure, marked "SIMULATED DATA" when the warehouse holds demo data (status()["demo"])."""
    return figures.mark_simulated(fig) if simulated else fig


def refreshing(text: str = "Refreshing…") -> html.Div:
    """The note a text block shows while a pipeline run holds the warehouse."""
    return html.Div(text, className="muted refreshing")


def parse_query(search: str | None) -> dict[str, str]:
    """``?a=1&b=2`` -> {"a": "1", "b": "2"} (the last value of a repeated key)."""
    return {k: v[-1] for k, v in parse_qs((search or "").lstrip("?")).items()}
