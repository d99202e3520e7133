"""Ticker view (``/ticker?ticker=NVDA[&start=...&end=...]``): candles with events, sentiment and headline counts;
a clicked session's headlines."""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import urlencode

import dash
import pandas as pd
from dash import Input, Output, dcc, html

from dashboards import data, figures
from dashboards.components import GRAPH_CONFIG, busy_figure, control, headline_items, iso_day, menu, refreshing
from pipelines.errors import did_you_mean
from pipelines.universe import BENCHMARKS


def layout(store: data.Store, query: dict[str, str]) -> html.Div:
    frame = data.tickers(store).value
    names = list(frame["ticker"])
    stocks = [t for t in names if t not in BENCHMARKS]
    asked = query.get("ticker", "").upper()
    chosen = asked if asked in names else "NVDA" if "NVDA" in names else (stocks or names or [None])[0]
    problem = (
        f"No ticker {asked!r} in this warehouse; {did_you_mean(asked, names)}showing {chosen}."
        if asked and asked != chosen
        else None
    )
    first, last = (
        (pd.Timestamp(frame["first"].min()).date(), pd.Timestamp(frame["last"].max()).date())
        if len(frame)
        else (date.today(), date.today())
    )
    start = max(first, last - timedelta(days=365))
    return html.Div(
        [
            dcc.Location(id="ticker-url", refresh=False),
            html.Div(problem, className="error-card", id="ticker-error") if problem else None,
            html.Div(
                [
                    control("Ticker", menu("ticker-select", names, chosen, clearable=False), "ticker-select"),
                    control(
                        "Date range",
                        dcc.DatePickerRange(
                            id="ticker-dates",
                            start_date=query.get("start", start.isoformat()),
                            end_date=query.get("end", last.isoformat()),
                            min_date_allowed=first.isoformat(),
                            max_date_allowed=last.isoformat(),
                            display_format="YYYY-MM-DD",
                        ),
                    ),
                ],
                className="controls",
            ),
            html.Div([dcc.Graph(id="ticker-chart", config=GRAPH_CONFIG)], className="card"),
            html.Div([html.H3(id="ticker-headlines-title"), html.Div(id="ticker-headlines")], className="card"),
            dcc.Interval(id="ticker-retry", interval=2000, disabled=True),
        ],
        id="ticker-page",
    )


def register(app: dash.Dash, store: data.Store) -> None:
    @app.callback(
        Output("ticker-url", "search"),
        Input("ticker-select", "value"),
        Input("ticker-dates", "start_date"),
        Input("ticker-dates", "end_date"),
    )
    def url_follows(ticker: str | None, start: str | None, end: str | None):
        """The address says what is shown (``?ticker=&start=&end=``), so a copied link restores it."""
        if not ticker or not start or not end:
            return dash.no_update
        return "?" + urlencode({"ticker": ticker, "start": iso_day(start).isoformat(), "end": iso_day(end).isoformat()})

    @app.callback(
        Output("ticker-chart", "figure"),
        Output("ticker-retry", "disabled"),
        Input("ticker-select", "value"),
        Input("ticker-dates", "start_date"),
        Input("ticker-dates", "end_date"),
        Input("ticker-retry", "n_intervals"),
    )
    def update_ticker(ticker: str | None, start: str | None, end: str | None, _retry: int | None):
        if not ticker or not start or not end:
            return figures.empty_figure("pick a ticker and a date range"), True
        try:
            bundle = data.ticker_bundle(store, ticker, iso_day(start), iso_day(end)).value
        except data.WarehouseBusy:
            return busy_figure(), False
        fig = figures.ticker_chart(
            bundle["prices"], ticker, bundle["events"], bundle["sentiment"], bundle["headline_counts"]
        )
        return (figures.mark_simulated(fig) if data.status(store).value["demo"] else fig), True

    @app.callback(
        Output("ticker-headlines-title", "children"),
        Output("ticker-headlines", "children"),
        Input("ticker-chart", "clickData"),
        Input("ticker-select", "value"),
        Input("ticker-dates", "start_date"),
        Input("ticker-dates", "end_date"),
    )
    def update_ticker_headlines(click: dict | None, ticker: str | None, start: str | None, end: str | None):
        if not ticker or not start or not end:
            return "Headlines", None
        try:
            day = None
            if click and dash.ctx.triggered_id == "ticker-chart":
                day = clicked_day(click)
            if day is None:
                day = data.latest_headline_day(store, ticker, iso_day(start), iso_day(end)).value
            if day is None:
                return f"Headlines about {ticker}", html.Div("No headlines in this range.", className="muted")
            frame = data.day_headlines(store, ticker, day).value
            ready = data.status(store).value["sentiment_model"] is not None
        except data.WarehouseBusy:
            return "Headlines", refreshing()
        title = f"Headlines about {ticker} for the session of {pd.Timestamp(day):%Y-%m-%d}"
        if not click or dash.ctx.triggered_id != "ticker-chart":
            title += " (latest with news; click a day on the chart for its headlines)"
        return title, headline_items(frame, ready)


def clicked_day(click: dict) -> date | None:
    """The session a click on the chart means: the candle's (trace 0) point, whatever other traces the unified
    hover put first (the headline dots report their nearest day with news, which may be a neighbour)."""
    points = click.get("points") or []
    point = next((p for p in points if p.get("curveNumber") == 0), points[0] if points else None)
    return pd.Timestamp(str(point["x"])[:10]).date() if point else None
