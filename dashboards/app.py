"""The Dash app: overview, event explorer, ticker view, sentiment vs returns.

``create_app(warehouse_path)`` builds the app over one warehouse file, read-only (see
dashboards.data). Pages: ``/`` overview, ``/events?event=<id>``, ``/ticker?ticker=NVDA``,
``/sentiment``. Headline text goes into Dash components as text, never as HTML.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlencode

import dash
import numpy as np
import pandas as pd
from dash import Input, Output, State, dcc, html

from dashboards import data, figures
from pipelines.universe import BENCHMARKS


def _test_label(test: str) -> str:
    """The dashboards' label of a significance test, from the registry (its name if unregistered)."""
    from models.event_study.significance import display_label

    return display_label(test)


SPOTLIGHT_FALLBACK = "deepseek-r1-release"
GRAPH_CONFIG = {"displaylogo": False, "responsive": True}

CSS = """
body { font-family: Inter, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif; margin: 0; color: #1d2730; background: #f5f7f9; }
.top { background: #16222e; color: white; padding: 10px 24px; display: flex; align-items: center; gap: 28px; }
.top h1 { font-size: 18px; margin: 0; font-weight: 600; }
.top a { color: #cfd8e0; text-decoration: none; font-size: 14px; }
.top a:hover, .top a.active { color: white; text-decoration: underline; }
.banner-demo { background: #fff3cd; color: #6b4e00; border-bottom: 1px solid #e6c65c; padding: 8px 24px; font-size: 14px; }
.banner-busy { background: #e3f0fb; color: #1b4d7a; border-bottom: 1px solid #9cc3e6; padding: 6px 24px; font-size: 13px; }
.page { padding: 16px 24px 40px; max-width: 1500px; }
.card { background: white; border: 1px solid #dde3e8; border-radius: 6px; padding: 14px 16px; margin-bottom: 16px; }
.grid2 { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; }
.controls { display: flex; gap: 16px; align-items: flex-end; flex-wrap: wrap; margin-bottom: 12px; }
.controls label { font-size: 12px; color: #5f6b73; display: block; margin-bottom: 3px; }
.muted { color: #5f6b73; font-size: 13px; }
.spot { font-size: 20px; font-weight: 600; }
.neg { color: #c03b3b; } .pos { color: #2a9d57; }
table.tbl { border-collapse: collapse; font-size: 13px; width: 100%; }
table.tbl th { text-align: left; border-bottom: 2px solid #dde3e8; padding: 4px 8px; color: #5f6b73; font-weight: 600; }
table.tbl td { border-bottom: 1px solid #eef1f3; padding: 4px 8px; }
table.tbl td.num { text-align: right; font-variant-numeric: tabular-nums; }
ul.headlines { list-style: none; padding: 0; margin: 0; }
ul.headlines li { border-left: 5px solid #b9c0c7; padding: 5px 10px; margin-bottom: 6px; background: #fafbfc; }
ul.headlines li.negative { border-left-color: #c03b3b; } ul.headlines li.positive { border-left-color: #2a9d57; }
ul.headlines li.neutral { border-left-color: #7f8790; }
.badge { font-size: 11px; padding: 1px 6px; border-radius: 8px; color: white; background: #b9c0c7; margin-right: 6px; }
.badge.negative { background: #c03b3b; } .badge.positive { background: #2a9d57; } .badge.neutral { background: #7f8790; }
"""

INDEX = """<!DOCTYPE html>
<html><head>{%metas%}<title>{%title%}</title>{%favicon%}{%css%}<style>""" + CSS + """</style></head>
<body>{%app_entry%}<footer>{%config%}{%scripts%}{%renderer%}</footer></body></html>"""


# --- small HTML helpers --------------------------------------------------------------------------

def _pct(value: object, digits: int = 2) -> str:
    return "" if value is None or not np.isfinite(float(value)) else f"{100 * float(value):+.{digits}f}%"


def _num(value: object, digits: int = 2) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return ""
    return "" if not np.isfinite(number) else f"{number:.{digits}f}"


def _p(value: object) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return ""
    if not np.isfinite(number):
        return ""
    return f"{number:.4f}{figures.stars(number)}" if number >= 1e-4 else f"<0.0001{figures.stars(number)}"


def _table(frame: pd.DataFrame, numeric: set[str] = frozenset(), table_id: str | None = None) -> html.Table:
    """A plain HTML table; every cell is text (Dash escapes it)."""
    head = html.Thead(html.Tr([html.Th(str(c)) for c in frame.columns]))
    body = html.Tbody([
        html.Tr([html.Td(str(v), className="num" if c in numeric else None) for c, v in zip(frame.columns, row, strict=True)])
        for row in frame.itertuples(index=False)
    ])
    props = {"id": table_id} if table_id else {}
    return html.Table([head, body], className="tbl", **props)


def _sentiment_class(label: object) -> str:
    return label if label in ("negative", "neutral", "positive") else "unscored"


def _score_badges(scores: list[dict]) -> list[html.Span]:
    """One badge per ticker the headline concerns: the sentiment for THAT ticker, marked when indirect."""
    badges = []
    for item in scores:
        mark = "" if item["relevance"] == "direct" else " (indirect)"
        badges.append(html.Span(f"{item['ticker']} {item['label']} {item['score']:+.2f}{mark}",
                                className=f"badge {_sentiment_class(item['label'])}",
                                title=f"sentiment for {item['ticker']}; relevance {item['relevance']}"))
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
        badges = _score_badges(scores) or [html.Span("unscored", className="badge unscored")]
        tickers = ", ".join(list(row.tickers)) if row.tickers is not None else ""
        items.append(html.Li([
            *badges,
            html.Span(row.title, className="headline-title"),
            html.Div(f"{when} · {row.publisher or ''} · {tickers} · session {pd.Timestamp(row.session_date):%Y-%m-%d}",
                     className="muted"),
        ], className=_sentiment_class(label)))
    note = [] if sentiment_ready else [html.Div("Sentiment not computed yet: headlines are shown unscored.",
                                                className="muted sentiment-missing", style={"marginBottom": "6px"})]
    return html.Div([*note, html.Ul(items, className="headlines")])


def _busy_figure(message: str = "The warehouse is being refreshed by a pipeline run — retrying…") -> object:
    return figures.empty_figure(message)


def _query(search: str | None) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs((search or "").lstrip("?")).items()}


# --- pages ---------------------------------------------------------------------------------------

def overview_page(store: data.Store) -> html.Div:
    result = data.overview(store)
    status = data.status(store).value
    view = result.value
    spot = view["spotlight"]
    children = []
    if spot is not None:
        bundle = data.event_bundle(store, spot["event_id"]).value
        day0 = bundle["abnormal"].loc[bundle["abnormal"]["tau"] == 0, ["ticker", "ret", "ar"]]
        lead = ", ".join(
            f"{r.ticker} {100 * r.ret:+.2f}%" for r in day0.sort_values("ret").head(3).itertuples()
        )
        children.append(html.Div([
            html.Div("Largest event-day move in the warehouse", className="muted"),
            html.Div([
                dcc.Link(spot["name"], href=f"/events?{urlencode({'event': spot['event_id']})}", id="spotlight-link"),
                html.Span(f"  day 0 {pd.Timestamp(spot['day0']):%Y-%m-%d}", className="muted"),
            ], className="spot"),
            html.Div(f"Day-0 returns: {lead}", id="spotlight-moves"),
            dcc.Graph(id="overview-spotlight", config=GRAPH_CONFIG, figure=figures.ar_bars(
                day0, title=f"{figures.esc(spot['name'])}: return on {pd.Timestamp(spot['day0']):%Y-%m-%d}",
                value="ret", label="return", highlight=bundle["event"]["tickers"])),
        ], className="card"))
    session = view["session"]
    last = view["last_session"]
    table = pd.DataFrame({
        "ticker": session["ticker"],
        "close ($)": session["close"].map(lambda v: f"{v:,.2f}"),
        "return": session["ret"].map(_pct),
        "AR": session["ar"].map(_pct),
        "SAR": session["sar"].map(_num),
        "sentiment": session["mean_score"].map(lambda v: _num(v)) if "mean_score" in session else "not computed yet",
    }) if not session.empty else pd.DataFrame()
    children.append(html.Div([
        html.Div([
            dcc.Graph(id="overview-session", config=GRAPH_CONFIG,
                      figure=figures.session_bars(session, title=f"Last session {pd.Timestamp(last):%Y-%m-%d}" if last else "Last session")),
        ]),
        html.Div([
            html.H3(f"Universe on {pd.Timestamp(last):%Y-%m-%d}" if last else "Universe"),
            _table(table, numeric={"close ($)", "return", "AR", "SAR", "sentiment"}, table_id="overview-table")
            if not table.empty else html.Div("No prices yet.", className="muted"),
            html.Div("Sentiment not computed yet." if not status["sentiment"] else f"Sentiment model: {status['sentiment_model']}",
                     className="muted", id="overview-sentiment-note"),
        ]),
    ], className="card grid2"))
    fresh = view["freshness"]
    if not fresh.empty:
        now = pd.Timestamp.now(tz="UTC")
        fresh_table = pd.DataFrame({
            "dataset": fresh["dataset"], "source": fresh["source"],
            "data through": pd.to_datetime(fresh["data_through"]).dt.strftime("%Y-%m-%d"),
            "last ingested (UTC)": pd.to_datetime(fresh["last_ingested"], utc=True).dt.strftime("%Y-%m-%d %H:%M"),
            "age": [_age(now - pd.Timestamp(t)) for t in pd.to_datetime(fresh["last_ingested"], utc=True)],
            "rows (last run)": fresh["last_rows"], "runs": fresh["runs"],
        })
        fresh_block = _table(fresh_table, numeric={"rows (last run)", "runs"}, table_id="freshness-table")
    else:
        fresh_block = html.Div("No ingestion recorded yet.", className="muted")
    runs = [html.Li(f"{r['what']}: {pd.Timestamp(r['at']).tz_convert('UTC'):%Y-%m-%d %H:%M} UTC"
                    + (f" (run {r['run_id']})" if r.get("run_id") else "")) for r in view["runs"]]
    counts = view["counts"]
    children.append(html.Div([
        html.Div([html.H3("Data freshness per source"), fresh_block]),
        html.Div([
            html.H3("Last runs"), html.Ul(runs) if runs else html.Div("No run recorded.", className="muted"),
            html.Div(f"{counts['tickers']} tickers · {counts['headlines']} headlines · {counts['events']} events",
                     className="muted"),
        ]),
    ], className="card grid2"))
    return html.Div(children, id="overview-page")


def _age(delta: pd.Timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.0f} d"


def events_page(store: data.Store, query: dict[str, str]) -> html.Div:
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


def ticker_page(store: data.Store, query: dict[str, str]) -> html.Div:
    frame = data.tickers(store).value
    names = list(frame["ticker"])
    stocks = [t for t in names if t not in BENCHMARKS]
    chosen = query.get("ticker", "").upper()
    if chosen not in names:
        chosen = "NVDA" if "NVDA" in names else (stocks or names or [None])[0]
    first, last = (pd.Timestamp(frame["first"].min()).date(), pd.Timestamp(frame["last"].max()).date()) if len(frame) else (date.today(), date.today())
    start = max(first, last - timedelta(days=365))
    return html.Div([
        html.Div([
            html.Div([html.Label("Ticker"), dcc.Dropdown(id="ticker-select", options=names, value=chosen, clearable=False,
                                                          style={"width": "160px"})]),
            html.Div([html.Label("Date range"), dcc.DatePickerRange(
                id="ticker-dates", start_date=query.get("start", start.isoformat()), end_date=query.get("end", last.isoformat()),
                min_date_allowed=first.isoformat(), max_date_allowed=last.isoformat(), display_format="YYYY-MM-DD")]),
        ], className="controls"),
        html.Div([dcc.Graph(id="ticker-chart", config=GRAPH_CONFIG)], className="card"),
        html.Div([html.H3(id="ticker-headlines-title"), html.Div(id="ticker-headlines")], className="card"),
        dcc.Interval(id="ticker-retry", interval=2000, disabled=True),
    ], id="ticker-page")


def sentiment_page(store: data.Store, query: dict[str, str]) -> html.Div:
    frame = data.tickers(store).value
    names = list(frame["ticker"])
    stocks = [t for t in names if t not in BENCHMARKS]
    first, last = (pd.Timestamp(frame["first"].min()).date(), pd.Timestamp(frame["last"].max()).date()) if len(frame) else (date.today(), date.today())
    chosen = [t.strip().upper() for t in query["tickers"].split(",")] if query.get("tickers") else stocks
    return html.Div([
        html.Div([
            html.Div([html.Label("Tickers"), dcc.Dropdown(id="sentiment-tickers", options=names, value=chosen, multi=True,
                                                           style={"minWidth": "520px"})]),
            html.Div([html.Label("Period"), dcc.DatePickerRange(
                id="sentiment-dates", start_date=first.isoformat(), end_date=last.isoformat(),
                min_date_allowed=first.isoformat(), max_date_allowed=last.isoformat(), display_format="YYYY-MM-DD")]),
        ], className="controls"),
        html.Div(id="sentiment-note", className="muted"),
        html.Div([dcc.Graph(id="sentiment-scatter", config=GRAPH_CONFIG)], className="card"),
        html.Div([html.H3("Per ticker"), html.Div(id="sentiment-table")], className="card"),
        dcc.Interval(id="sentiment-retry", interval=2000, disabled=True),
    ], id="sentiment-page")


# --- the app -------------------------------------------------------------------------------------

NAV = (("/", "Overview"), ("/events", "Event explorer"), ("/ticker", "Ticker"), ("/sentiment", "Sentiment vs returns"))


def create_app(warehouse_path: str | Path | None = None, *, wait_s: float = 1.5, poll_ms: int = 3000) -> dash.Dash:
    """The dashboard over ``warehouse_path`` (default: $IMPACT_WAREHOUSE or data/warehouse.duckdb), read-only."""
    store = data.Store(warehouse_path, wait_s=wait_s)
    app = dash.Dash(__name__, title="AI market impact", suppress_callback_exceptions=True, update_title=None)
    app.index_string = INDEX
    app.impact_store = store  # type: ignore[attr-defined]
    app.layout = html.Div([
        dcc.Location(id="url"),
        html.Div([html.H1("AI market impact"),
                  *[dcc.Link(label, href=href, id=f"nav-{label.split()[0].lower()}") for href, label in NAV]],
                 className="top"),
        html.Div(id="demo-banner"),
        html.Div(id="busy-banner"),
        html.Div(id="page", className="page"),
        dcc.Interval(id="poll", interval=poll_ms),
        dcc.Interval(id="page-retry", interval=2000, disabled=True),
    ])

    @app.callback(Output("page", "children"), Output("page-retry", "disabled"),
                  Input("url", "pathname"), Input("page-retry", "n_intervals"), State("url", "search"))
    def render_page(pathname: str | None, _retry: int | None, search: str | None):
        query = _query(search)
        try:
            if pathname in ("/events", "/events/"):
                return events_page(store, query), True
            if pathname in ("/ticker", "/ticker/"):
                return ticker_page(store, query), True
            if pathname in ("/sentiment", "/sentiment/"):
                return sentiment_page(store, query), True
            return overview_page(store), True
        except data.WarehouseBusy:
            return html.Div("The warehouse is being refreshed by a pipeline run — this page loads as soon as it is "
                            "readable again.", className="card refreshing"), False

    @app.callback(Output("demo-banner", "children"), Output("busy-banner", "children"),
                  Input("poll", "n_intervals"), Input("url", "pathname"))
    def banners(_n: int | None, _path: str | None):
        busy = store.busy()
        try:
            status = data.status(store).value
            demo = status["demo"]
        except data.WarehouseBusy:
            demo = False
        demo_banner = html.Div(
            "SIMULATED DEMO DATA — prices and headlines in this warehouse are simulated (source = 'demo'), not market data.",
            className="banner-demo", id="demo-banner-text") if demo else None
        busy_banner = html.Div("A pipeline run is writing to the warehouse: showing the last data read; pages refresh "
                               "when it finishes.", className="banner-busy", id="busy-banner-text") if busy else None
        return demo_banner, busy_banner

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
            busy = _busy_figure()
            note = html.Div("Refreshing…", className="muted refreshing")
            return note, busy, busy, busy, note, note, note, False
        if bundle is None:
            empty = figures.empty_figure("no such event")
            return html.Div("Pick an event."), empty, empty, empty, None, None, None, True
        return (*event_views(bundle, window, sentiment_ready)[:7], True)

    @app.callback(
        Output("ticker-chart", "figure"), Output("ticker-retry", "disabled"),
        Input("ticker-select", "value"), Input("ticker-dates", "start_date"), Input("ticker-dates", "end_date"),
        Input("ticker-retry", "n_intervals"),
    )
    def update_ticker(ticker: str | None, start: str | None, end: str | None, _retry: int | None):
        if not ticker or not start or not end:
            return figures.empty_figure("pick a ticker and a date range"), True
        try:
            bundle = data.ticker_bundle(store, ticker, start, end).value
        except data.WarehouseBusy:
            return _busy_figure(), False
        return figures.ticker_chart(bundle["prices"], ticker, bundle["events"], bundle["sentiment"],
                                    bundle["headline_counts"]), True

    @app.callback(
        Output("ticker-headlines-title", "children"), Output("ticker-headlines", "children"),
        Input("ticker-chart", "clickData"), Input("ticker-select", "value"), Input("ticker-dates", "start_date"),
        Input("ticker-dates", "end_date"),
    )
    def update_ticker_headlines(click: dict | None, ticker: str | None, start: str | None, end: str | None):
        if not ticker or not start or not end:
            return "Headlines", None
        try:
            day = None
            if click and dash.ctx.triggered_id == "ticker-chart":
                day = pd.Timestamp(str(click["points"][0]["x"])[:10]).date()
            if day is None:
                day = data.latest_headline_day(store, ticker, start, end).value
            if day is None:
                return f"Headlines about {ticker}", html.Div("No headlines in this range.", className="muted")
            frame = data.day_headlines(store, ticker, day).value
            ready = data.status(store).value["sentiment_model"] is not None
        except data.WarehouseBusy:
            return "Headlines", html.Div("Refreshing…", className="muted refreshing")
        title = f"Headlines about {ticker} for the session of {pd.Timestamp(day):%Y-%m-%d}"
        if not click or dash.ctx.triggered_id != "ticker-chart":
            title += " (latest with news; click a day on the chart for its headlines)"
        return title, headline_items(frame, ready)

    @app.callback(
        Output("sentiment-scatter", "figure"), Output("sentiment-table", "children"), Output("sentiment-note", "children"),
        Output("sentiment-retry", "disabled"),
        Input("sentiment-tickers", "value"), Input("sentiment-dates", "start_date"), Input("sentiment-dates", "end_date"),
        Input("sentiment-retry", "n_intervals"),
    )
    def update_sentiment(names: list[str] | None, start: str | None, end: str | None, _retry: int | None):
        if not names or not start or not end:
            return figures.empty_figure("pick tickers and a period"), None, "", True
        try:
            frame = data.sentiment_returns(store, names, start, end).value
        except data.WarehouseBusy:
            return _busy_figure(), None, "Refreshing…", False
        if frame is None:
            message = "Sentiment not computed yet: run the sentiment job (core.headline_sentiment, mart.daily_sentiment)."
            return figures.empty_figure("sentiment not computed yet", "Daily sentiment vs abnormal return"), None, message, True
        model = frame["model"].dropna().iloc[0] if frame["model"].notna().any() else data.status(store).value["sentiment_model"]
        return figures.sentiment_scatter(frame), sentiment_stats(frame), \
            f"{len(frame)} ticker-sessions with headlines; sentiment model {model or 'unknown'}", True

    return app


def event_views(bundle: dict, window: str | None, sentiment_ready: bool) -> tuple:
    """Header, figures, headlines and tables of one event (shared by the callback and the tests)."""
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
    prices = figures.price_paths(bundle["prices"], bundle["benchmark"],
                                 title="Prices, day −10…+10 (index, close of day −1 = 100)")
    day0 = windows.loc[windows["window"] == "[0,0]", ["ticker", "car", "car_t", "car_p"]].rename(
        columns={"car": "ar", "car_t": "t", "car_p": "p"})
    if day0.empty and not bundle["abnormal"].empty:
        day0 = bundle["abnormal"].loc[bundle["abnormal"]["tau"] == 0, ["ticker", "ar"]]
    ar = figures.ar_bars(day0, title=f"Abnormal return on day 0 ({pd.Timestamp(event['day0']):%Y-%m-%d}), market model vs {bundle['benchmark']}",
                         highlight=event["tickers"])
    abnormal = bundle["abnormal"]
    order = []
    if not abnormal.empty:
        focus = abnormal.loc[abnormal["ticker"].isin(event["tickers"])] if set(event["tickers"]) & set(abnormal["ticker"]) else abnormal
        final = focus.sort_values("tau").groupby("ticker")["car"].last()
        order = list(final.abs().sort_values(ascending=False).index)
    car = figures.car_paths(abnormal.loc[abnormal["ticker"].isin(order)] if order else abnormal, tickers=order[:6] or None,
                            title="CAR from day −5 with 95% band (±1.96·σ̂·√days)")
    firm = windows.loc[windows["window"] == window] if window else windows.iloc[0:0]
    ar0 = windows.loc[windows["window"] == "[0,0]"].set_index("ticker")["car"]
    firm_table = pd.DataFrame({
        "ticker": firm["ticker"],
        "AR(0)": firm["ticker"].map(ar0).map(_pct),
        f"CAR{window}": firm["car"].map(_pct),
        "t": firm["car_t"].map(_num),
        "p": firm["car_p"].map(_p),
    }).assign(_order=firm["car"].to_numpy()).sort_values("_order").drop(columns="_order") if not firm.empty else pd.DataFrame()
    tests = bundle["tests"]
    tests = tests.loc[tests["window"] == window] if window else tests.iloc[0:0]
    aggregates = bundle["aggregates"]
    caar = aggregates.loc[aggregates["window"] == window, "caar"] if not aggregates.empty else pd.Series(dtype=float)
    group_table = pd.DataFrame({
        "test": tests["test"].map(_test_label),
        "statistic": tests["statistic"].map(_num),
        "p": tests["p_value"].map(_p),
        "n": tests["n"],
        "robust to cross-correlation": tests["adjusts_cross_correlation"].map(lambda b: "yes" if b else "no"),
    }) if not tests.empty else pd.DataFrame()
    firm_block = _table(firm_table, numeric={"AR(0)", f"CAR{window}", "t", "p"}, table_id="firm-table") if not firm_table.empty \
        else html.Div("No per-firm results.", className="muted")
    group_block = html.Div([
        html.Div(f"CAAR{window} = {_pct(caar.iloc[0])} · *** p<0.01 ** p<0.05 * p<0.10" if len(caar) else "", className="muted"),
        _table(group_table, numeric={"statistic", "p", "n"}, table_id="group-table"),
    ]) if not group_table.empty else html.Div("No group tests.", className="muted")
    headlines = headline_items(bundle["headlines"], sentiment_ready)
    return header, prices, ar, car, headlines, firm_block, group_block, options


def sentiment_stats(frame: pd.DataFrame) -> html.Table:
    """Per ticker: sessions, mean sentiment, r and slope of AR on sentiment."""
    rows = []
    for ticker, part in frame.groupby("ticker"):
        fit = figures.fit_line(part["mean_score"], part["ar"])
        rows.append({"ticker": ticker, "sessions": fit["n"], "mean sentiment": _num(part["mean_score"].mean()),
                     "r": _num(fit["r"]), "p": _p(fit["p"]),
                     "slope (bp per +1 sentiment)": _num(1e4 * fit["slope"], 0)})
    return _table(pd.DataFrame(rows), numeric={"sessions", "mean sentiment", "r", "p", "slope (bp per +1 sentiment)"},
                  table_id="sentiment-stats")
