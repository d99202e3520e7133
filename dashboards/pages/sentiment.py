"""Sentiment vs returns (``/sentiment[?tickers=NVDA,META]``): daily sentiment against abnormal return, per-ticker fits."""

from __future__ import annotations

from datetime import date

import dash
import pandas as pd
from dash import Input, Output, dcc, html

from dashboards import data, figures
from dashboards.components import GRAPH_CONFIG, busy_figure, control, iso_day, menu, num, p_value, stamp, table
from pipelines.universe import BENCHMARKS


def layout(store: data.Store, query: dict[str, str]) -> html.Div:
    frame = data.tickers(store).value
    names = list(frame["ticker"])
    stocks = [t for t in names if t not in BENCHMARKS]
    first, last = (
        (pd.Timestamp(frame["first"].min()).date(), pd.Timestamp(frame["last"].max()).date())
        if len(frame)
        else (date.today(), date.today())
    )
    chosen = [t.strip().upper() for t in query["tickers"].split(",")] if query.get("tickers") else stocks
    return html.Div(
        [
            html.Div(
                [
                    control(
                        "Tickers",
                        menu("sentiment-tickers", names, chosen, multi=True, width="520px"),
                        "sentiment-tickers",
                    ),
                    control(
                        "Period",
                        dcc.DatePickerRange(
                            id="sentiment-dates",
                            start_date=first.isoformat(),
                            end_date=last.isoformat(),
                            min_date_allowed=first.isoformat(),
                            max_date_allowed=last.isoformat(),
                            display_format="YYYY-MM-DD",
                        ),
                    ),
                ],
                className="controls",
            ),
            html.Div(id="sentiment-note", className="muted"),
            html.Div([dcc.Graph(id="sentiment-scatter", config=GRAPH_CONFIG)], className="card"),
            html.Div([html.H3("Per ticker"), html.Div(id="sentiment-table")], className="card"),
            dcc.Interval(id="sentiment-retry", interval=2000, disabled=True),
        ],
        id="sentiment-page",
    )


def register(app: dash.Dash, store: data.Store) -> None:
    @app.callback(
        Output("sentiment-scatter", "figure"),
        Output("sentiment-table", "children"),
        Output("sentiment-note", "children"),
        Output("sentiment-retry", "disabled"),
        Input("sentiment-tickers", "value"),
        Input("sentiment-dates", "start_date"),
        Input("sentiment-dates", "end_date"),
        Input("sentiment-retry", "n_intervals"),
    )
    def update_sentiment(names: list[str] | None, start: str | None, end: str | None, _retry: int | None):
        if not names or not start or not end:
            return figures.empty_figure("pick tickers and a period"), None, "", True
        try:
            frame = data.sentiment_returns(store, names, iso_day(start), iso_day(end)).value
        except data.WarehouseBusy:
            return busy_figure(), None, "Refreshing…", False
        if frame is None:
            message = (
                "Sentiment not computed yet: run the sentiment job (core.headline_sentiment, mart.daily_sentiment)."
            )
            return (
                figures.empty_figure("sentiment not computed yet", "Daily sentiment vs abnormal return"),
                None,
                message,
                True,
            )
        model = (
            frame["model"].dropna().iloc[0]
            if frame["model"].notna().any()
            else data.status(store).value["sentiment_model"]
        )
        simulated = bool(data.status(store).value["demo"])
        return (
            stamp(figures.sentiment_scatter(frame), simulated),
            sentiment_stats(frame, simulated),
            f"{len(frame)} ticker-sessions with headlines; sentiment model {model or 'unknown'}",
            True,
        )


def sentiment_stats(frame: pd.DataFrame, simulated: bool = False) -> html.Table | html.Div:
    """Per ticker: sessions, mean sentiment, r and slope of AR on sentiment."""
    rows = []
    for ticker, part in frame.groupby("ticker"):
        fit = figures.fit_line(part["mean_score"], part["ar"])
        rows.append(
            {
                "ticker": ticker,
                "sessions": fit["n"],
                "mean sentiment": num(part["mean_score"].mean()),
                "r": num(fit["r"]),
                "p": p_value(fit["p"]),
                "slope (bp per +1 sentiment)": num(1e4 * fit["slope"], 0),
            }
        )
    return table(
        pd.DataFrame(rows),
        numeric={"sessions", "mean sentiment", "r", "p", "slope (bp per +1 sentiment)"},
        table_id="sentiment-stats",
        simulated=simulated,
        filename="sentiment-vs-returns",
    )
