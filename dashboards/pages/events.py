"""Event explorer (``/events?event=<id>``): prices, day-0 ARs and CAR paths, headlines, per-firm and group tests."""

from __future__ import annotations

import dash
import pandas as pd
from dash import Input, Output, dcc, html

from dashboards import data, figures
from dashboards.components import (
    GRAPH_CONFIG,
    busy_figure,
    headline_items,
    num,
    p_value,
    pct,
    refreshing,
    table,
    test_label,
)

SPOTLIGHT_FALLBACK = "deepseek-r1-release"


def layout(store: data.Store, query: dict[str, str]) -> html.Div:
    frame = data.events(store).value
    options = [{"label": f"{pd.Timestamp(r.day0):%Y-%m-%d} · {r.name} [{r.origin}]", "value": r.event_id}
               for r in frame.itertuples()]
    ids = set(frame["event_id"])
    studied = data.windows(store).value
    spotlight = data.overview(store).value["spotlight"]
    default = query.get("event")
    if default not in ids:
        default = next((e for e in (spotlight and spotlight["event_id"], SPOTLIGHT_FALLBACK) if e in ids),
                       frame["event_id"].iloc[0] if len(frame) else None)
    return html.Div([
        html.Div([
            html.Div([html.Label("Event"), dcc.Dropdown(id="event-select", options=options, value=default, clearable=False,
                                                         style={"width": "720px"})]),
            html.Div([html.Label("Test window"), dcc.Dropdown(id="event-window", options=studied,
                                                               value=data.DEFAULT_WINDOW if data.DEFAULT_WINDOW in studied else (studied or [None])[0],
                                                               clearable=False, style={"width": "140px"})]),
        ], className="controls"),
        html.Div(id="event-header", className="card"),
        html.Div([
            dcc.Graph(id="event-prices", config=GRAPH_CONFIG),
            dcc.Graph(id="event-ar", config=GRAPH_CONFIG),
        ], className="grid2"),
        html.Div([
            dcc.Graph(id="event-car", config=GRAPH_CONFIG),
            html.Div([html.H3("Headlines (time order; sentiment per ticker)"), html.Div(id="event-headlines")],
                     className="card", style={"maxHeight": "440px", "overflowY": "auto"}),
        ], className="grid2"),
        html.Div([
            html.Div([html.H3("Per-firm tests"), html.Div(id="event-firm-tests")], className="card"),
            html.Div([html.H3("Group tests"), html.Div(id="event-group-tests")], className="card"),
        ], className="grid2"),
        dcc.Interval(id="event-retry", interval=2000, disabled=True),
    ], id="events-page")


def register(app: dash.Dash, store: data.Store) -> None:
    @app.callback(
        Output("event-header", "children"), Output("event-prices", "figure"), Output("event-ar", "figure"),
        Output("event-car", "figure"), Output("event-headlines", "children"), Output("event-firm-tests", "children"),
        Output("event-group-tests", "children"), Output("event-retry", "disabled"),
        Input("event-select", "value"), Input("event-window", "value"), Input("event-retry", "n_intervals"),
    )
    def update_event(event_id: str | None, window: str | None, _retry: int | None):
        try:
            bundle = data.event_bundle(store, event_id).value if event_id else None
            sentiment_ready = data.status(store).value["sentiment_model"] is not None
        except data.WarehouseBusy:
            busy = busy_figure()
            note = refreshing()
            return note, busy, busy, busy, note, note, note, False
        if bundle is None:
            empty = figures.empty_figure("no such event")
            return html.Div("Pick an event."), empty, empty, empty, None, None, None, True
        return (*event_views(bundle, window, sentiment_ready)[:7], True)


def event_views(bundle: dict, window: str | None, sentiment_ready: bool) -> tuple:
    """Header, figures (prices, ar, car), headlines, per-firm and group tables and the window options of one event."""
    event = bundle["event"]
    windows = bundle["windows"]
    options = [{"label": w, "value": w} for w in dict.fromkeys(windows["window"])] if not windows.empty else []
    if window not in {o["value"] for o in options} and options:
        window = data.DEFAULT_WINDOW if data.DEFAULT_WINDOW in {o["value"] for o in options} else options[0]["value"]
    header = html.Div([
        html.Div(event["name"], className="spot", id="event-title"),
        html.Div(f"day 0 {pd.Timestamp(event['day0']):%Y-%m-%d} ({event['day0_rule']}) · {event['kind']} · {event['origin']} · "
                 f"tickers {', '.join(event['tickers'])} · benchmark {bundle['benchmark']}", className="muted"),
        html.Div(event.get("description") or "", style={"marginTop": "4px"}),
    ])
    figs = figures.event_figures(bundle)
    firm = windows.loc[windows["window"] == window] if window else windows.iloc[0:0]
    ar0 = windows.loc[windows["window"] == "[0,0]"].set_index("ticker")["car"]
    firm_table = pd.DataFrame({
        "ticker": firm["ticker"],
        "AR(0)": firm["ticker"].map(ar0).map(pct),
        f"CAR{window}": firm["car"].map(pct),
        "t": firm["car_t"].map(num),
        "p": firm["car_p"].map(p_value),
    }).assign(_order=firm["car"].to_numpy()).sort_values("_order").drop(columns="_order") if not firm.empty else pd.DataFrame()
    tests = bundle["tests"]
    tests = tests.loc[tests["window"] == window] if window else tests.iloc[0:0]
    aggregates = bundle["aggregates"]
    caar = aggregates.loc[aggregates["window"] == window, "caar"] if not aggregates.empty else pd.Series(dtype=float)
    group_table = pd.DataFrame({
        "test": tests["test"].map(test_label),
        "statistic": tests["statistic"].map(num),
        "p": tests["p_value"].map(p_value),
        "n": tests["n"],
        "robust to cross-correlation": tests["adjusts_cross_correlation"].map(lambda b: "yes" if b else "no"),
    }) if not tests.empty else pd.DataFrame()
    firm_block = table(firm_table, numeric={"AR(0)", f"CAR{window}", "t", "p"}, table_id="firm-table") if not firm_table.empty \
        else html.Div("No per-firm results.", className="muted")
    group_block = html.Div([
        html.Div(f"CAAR{window} = {pct(caar.iloc[0])} · *** p<0.01 ** p<0.05 * p<0.10" if len(caar) else "", className="muted"),
        table(group_table, numeric={"statistic", "p", "n"}, table_id="group-table"),
    ]) if not group_table.empty else html.Div("No group tests.", className="muted")
    headlines = headline_items(bundle["headlines"], sentiment_ready)
    return header, figs["prices"], figs["ar"], figs["car"], headlines, firm_block, group_block, options
