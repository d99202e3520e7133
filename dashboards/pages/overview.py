"""Overview (``/``): the largest event-day move, the last session, data freshness and the last runs."""

from __future__ import annotations

from urllib.parse import urlencode

import dash
import pandas as pd
from dash import dcc, html

from dashboards import data, figures
from dashboards.components import GRAPH_CONFIG, num, pct, stamp, table
from pipelines.warehouse.read import money


def layout(store: data.Store, query: dict[str, str]) -> html.Div:
    result = data.overview(store)
    status = data.status(store).value
    view = result.value
    spot = view["spotlight"]
    children = []
    if spot is not None:
        bundle = data.event_bundle(store, spot["event_id"]).value
        day0 = bundle["abnormal"].loc[bundle["abnormal"]["tau"] == 0, ["ticker", "ret", "ar"]]
        lead = ", ".join(f"{r.ticker} {100 * r.ret:+.2f}%" for r in day0.sort_values("ret").head(3).itertuples())
        children.append(
            html.Div(
                [
                    html.Div("Largest event-day move in the warehouse", className="muted"),
                    html.Div(
                        [
                            dcc.Link(
                                spot["name"],
                                href=f"/events?{urlencode({'event': spot['event_id']})}",
                                id="spotlight-link",
                            ),
                            html.Span(f"  day 0 {pd.Timestamp(spot['day0']):%Y-%m-%d}", className="muted"),
                        ],
                        className="spot",
                    ),
                    html.Div(f"Day-0 returns: {lead}", id="spotlight-moves"),
                    html.Div(spot_dollars(spot), id="spotlight-dollars"),
                    dcc.Graph(
                        id="overview-spotlight",
                        config=GRAPH_CONFIG,
                        figure=stamp(
                            figures.ar_bars(
                                day0,
                                title=f"{figures.esc(spot['name'])}: return on {pd.Timestamp(spot['day0']):%Y-%m-%d}",
                                value="ret",
                                label="return",
                                highlight=bundle["event"]["tickers"],
                            ),
                            status["demo"],
                        ),
                    ),
                ],
                className="card",
            )
        )
    session = view["session"]
    last = view["last_session"]
    frame = (
        pd.DataFrame(
            {
                "ticker": session["ticker"],
                "close ($)": session["close"].map(lambda v: f"{v:,.2f}"),
                "return": session["ret"].map(pct),
                "AR": session["ar"].map(pct),
                "SAR": session["sar"].map(num),
                "sentiment": session["mean_score"].map(lambda v: num(v))
                if "mean_score" in session
                else "not computed yet",
            }
        )
        if not session.empty
        else pd.DataFrame()
    )
    children.append(
        html.Div(
            [
                html.Div(
                    [
                        dcc.Graph(
                            id="overview-session",
                            config=GRAPH_CONFIG,
                            figure=stamp(
                                figures.session_bars(
                                    session,
                                    title=f"Last session {pd.Timestamp(last):%Y-%m-%d}" if last else "Last session",
                                ),
                                status["demo"],
                            ),
                        ),
                    ]
                ),
                html.Div(
                    [
                        html.H3(f"Universe on {pd.Timestamp(last):%Y-%m-%d}" if last else "Universe"),
                        table(
                            frame,
                            numeric={"close ($)", "return", "AR", "SAR", "sentiment"},
                            table_id="overview-table",
                            export=session,
                            simulated=status["demo"],
                            filename=f"universe-{pd.Timestamp(last):%Y-%m-%d}" if last else None,
                        )
                        if not frame.empty
                        else html.Div("No prices yet.", className="muted"),
                        html.Div(
                            "Sentiment not computed yet."
                            if not status["sentiment"]
                            else f"Sentiment model: {status['sentiment_model']}",
                            className="muted",
                            id="overview-sentiment-note",
                        ),
                    ]
                ),
            ],
            className="card grid2",
        )
    )
    fresh = view["freshness"]
    if not fresh.empty:
        now = pd.Timestamp.now(tz="UTC")
        fresh_table = pd.DataFrame(
            {
                "dataset": fresh["dataset"],
                "source": fresh["source"],
                "data through": pd.to_datetime(fresh["data_through"]).dt.strftime("%Y-%m-%d"),
                "last ingested (UTC)": pd.to_datetime(fresh["last_ingested"], utc=True).dt.strftime("%Y-%m-%d %H:%M"),
                "age": [age(now - pd.Timestamp(t)) for t in pd.to_datetime(fresh["last_ingested"], utc=True)],
                "rows (last run)": fresh["last_rows"],
                "runs": fresh["runs"],
            }
        )
        fresh_block: html.Table | html.Div = table(
            fresh_table,
            numeric={"rows (last run)", "runs"},
            table_id="freshness-table",
            export=fresh,
            simulated=status["demo"],
            filename="freshness",
        )
    else:
        fresh_block = html.Div("No ingestion recorded yet.", className="muted")
    runs = [
        html.Li(
            f"{r['what']}: {pd.Timestamp(r['at']).tz_convert('UTC'):%Y-%m-%d %H:%M} UTC"
            + (f" (run {r['run_id']})" if r.get("run_id") else "")
        )
        for r in view["runs"]
    ]
    counts = view["counts"]
    children.append(
        html.Div(
            [
                html.Div([html.H3("Data freshness per source"), fresh_block]),
                html.Div(
                    [
                        html.H3("Last runs"),
                        html.Ul(runs) if runs else html.Div("No run recorded.", className="muted"),
                        html.Div(
                            f"{counts['tickers']} tickers · {counts['headlines']} headlines · {counts['events']} events",
                            className="muted",
                        ),
                    ]
                ),
            ],
            className="card grid2",
        )
    )
    return html.Div(children, id="overview-page")


def age(delta: pd.Timedelta) -> str:
    """ "3.5 h" under two days, else "12 d"."""
    hours = delta.total_seconds() / 3600
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.0f} d"


def register(app: dash.Dash, store: data.Store) -> None:
    """The overview is drawn whole by its layout: no callbacks of its own."""


def spot_dollars(spot: dict) -> str:
    """The spotlight's market value moved on day 0, from the dollar marts (read.spotlight), not the description."""
    total = spot.get("total")
    if spot.get("dollar_change") is None and total is None:
        return "Market value moved: unknown (no shares outstanding stored)."
    parts = []
    if spot.get("dollar_change") is not None:
        parts.append(f"{spot['ticker']} {money(spot['dollar_change'])} of market value on day 0")
    if total is not None and total["valued"]:
        parts.append(
            f"its {total['valued']} valued tickers together {money(total['dollar_change'])} "
            f"({money(total['dollar_abnormal'])} abnormal)"
        )
    return "; ".join(parts) + "."
