"""Event explorer (``/events?event=<id>&tickers=NVDA,MSFT&window=-1,1&estimation=-250,-11``): prices, per-firm
ARs/CARs and CAR paths of the focus tickers, headlines, per-firm and group tests, the verdict per window.

The query string follows the choices (shareable); a window or estimation window the stored study does not
hold is re-fitted here (``dashboards.refit``) and the page says so. The ad-hoc form studies news in no catalogue
(announced at, tickers), like `impact study --at --tickers`.
"""

from __future__ import annotations

from urllib.parse import urlencode

import dash
import pandas as pd
from dash import Input, Output, State, dcc, html

from dashboards import data, figures, refit
from dashboards.components import (
    GRAPH_CONFIG,
    busy_figure,
    control,
    headline_items,
    menu,
    num,
    p_value,
    pct,
    refreshing,
    table,
    test_label,
)
from dashboards.intraday import view_figure
from models.event_study.results import window_label
from pipelines.warehouse.read import money

SPOTLIGHT_FALLBACK = "deepseek-r1-release"
DEFAULT_WINDOW = (-1, 1)
"""The event window the explorer opens on."""
ADHOC_REASON = "an ad-hoc study of news in no catalogue, fitted on the warehouse's returns"
INPUT_STYLE = {"padding": "6px 8px", "border": "1px solid #c9d0d6", "borderRadius": "4px", "fontSize": "14px"}


def window_text(window: tuple[int, int]) -> str:
    """(-1, 1) -> "-1,+1": what the window boxes show and the URL carries."""
    return ",".join("0" if v == 0 else f"{v:+d}" for v in window)


def _default_event(store: data.Store, ids: set[str], frame: pd.DataFrame) -> str | None:
    spotlight = data.overview(store).value["spotlight"]
    return next(
        (e for e in (spotlight and spotlight["event_id"], SPOTLIGHT_FALLBACK) if e in ids),
        frame["event_id"].iloc[0] if len(frame) else None,
    )


def layout(store: data.Store, query: dict[str, str]) -> html.Div:
    frame = data.events(store).value
    options = [
        {"label": f"{pd.Timestamp(r.day0):%Y-%m-%d} · {r.name} [{r.origin}]", "value": r.event_id}
        for r in frame.itertuples()
    ]
    ids = set(frame["event_id"])
    names = list(data.tickers(store).value["ticker"])
    asked = query.get("event")
    problems = []
    if asked is not None and asked not in ids:
        chosen = None
        problems.append(f"No event {asked!r} in this warehouse: pick one of the {len(ids)} events from the menu.")
    else:
        chosen = asked or _default_event(store, ids, frame)
    if query.get("tickers"):
        wanted = [t.strip().upper() for t in query["tickers"].split(",") if t.strip()]
        unknown = [t for t in wanted if t not in names]
        if unknown:
            problems.append(f"Unknown ticker(s) {', '.join(unknown)} in the link: not in this warehouse, left out.")
        focus = [t for t in wanted if t in names]
    else:
        focus = default_focus(store, chosen, names)
    return html.Div(
        [
            dcc.Location(id="event-url", refresh=False),
            html.Div(
                [
                    control(
                        "Event",
                        menu(
                            "event-select", options, chosen, clearable=False, width="720px", placeholder="pick an event"
                        ),
                        "event-select",
                    ),
                    control(
                        "Focus tickers", menu("event-tickers", names, focus, multi=True, width="360px"), "event-tickers"
                    ),
                    control(
                        "Event window (days)",
                        dcc.Input(
                            id="event-window",
                            type="text",
                            debounce=True,
                            className="window-input",
                            value=box_window(query.get("window"), DEFAULT_WINDOW),
                        ),
                        "event-window",
                    ),
                    control(
                        "Estimation window",
                        dcc.Input(
                            id="event-estimation",
                            type="text",
                            debounce=True,
                            className="window-input",
                            value=box_window(query.get("estimation"), refit.STORED_ESTIMATION),
                        ),
                        "event-estimation",
                    ),
                    html.Div(id="event-window-error", className="control-error"),
                ],
                className="controls",
            ),
            adhoc_form(),
            html.Div([html.Div(p) for p in problems], className="error-card", id="event-error") if problems else None,
            html.Div(id="event-header", className="card"),
            html.Div(
                [
                    dcc.Graph(id="event-prices", config=GRAPH_CONFIG),
                    dcc.Graph(id="event-ar", config=GRAPH_CONFIG),
                ],
                className="grid2",
            ),
            html.Div(
                [
                    dcc.Graph(id="event-car", config=GRAPH_CONFIG),
                    html.Div(
                        [html.H3("Headlines (time order; sentiment per ticker)"), html.Div(id="event-headlines")],
                        className="card",
                        style={"maxHeight": "440px", "overflowY": "auto"},
                    ),
                ],
                className="grid2",
            ),
            dcc.Graph(id="event-intraday", config=GRAPH_CONFIG),
            html.Div(
                [
                    html.Div([html.H3("Per-firm tests"), html.Div(id="event-firm-tests")], className="card"),
                    html.Div([html.H3("Group tests"), html.Div(id="event-group-tests")], className="card"),
                ],
                className="grid2",
            ),
            dcc.Interval(id="event-retry", interval=2000, disabled=True),
        ],
        id="events-page",
    )


def adhoc_form() -> html.Div:
    """The ad-hoc study's form: when the news became public (with its zone), the stocks it is about, a button."""
    return html.Div(
        [
            control(
                "Ad-hoc study: announced at",
                dcc.Input(
                    id="event-adhoc-at",
                    type="text",
                    placeholder="2025-01-27 09:00 America/New_York",
                    style={**INPUT_STYLE, "width": "280px"},
                ),
                "event-adhoc-at",
            ),
            control(
                "Tickers",
                dcc.Input(
                    id="event-adhoc-tickers",
                    type="text",
                    placeholder="NVDA,MSFT",
                    style={**INPUT_STYLE, "width": "160px"},
                ),
                "event-adhoc-tickers",
            ),
            html.Button("Study", id="event-adhoc-run", n_clicks=0, style={**INPUT_STYLE, "alignSelf": "flex-end"}),
            html.Div(id="event-adhoc-error", className="control-error"),
            dcc.Store(id="event-adhoc"),
        ],
        className="controls",
        id="event-adhoc-form",
    )


def default_focus(store: data.Store, event_id: str | None, names: list[str]) -> list[str]:
    """DEFAULT_FOCUS plus the event's tickers, those the warehouse has prices for."""
    info = data.event_bundle(store, event_id).value if event_id else None
    own = list(info["event"]["tickers"]) if info else []
    return [t for t in dict.fromkeys([*figures.DEFAULT_FOCUS, *own]) if t in names]


def url_window(text: str | None) -> str:
    """A typed window as the URL carries it: "-1,1" (no "+", which a query string reads as a space)."""
    try:
        start, end = refit.parse_window(text, "window")
    except refit.WindowError:
        return (text or "").replace(" ", "")
    return f"{start},{end}"


def box_window(text: str | None, default: tuple[int, int]) -> str:
    """A window from the URL as its text box shows it ("-1,+1"); the URL's text as is when it does not parse."""
    if text is None:
        return window_text(default)
    try:
        return window_text(refit.parse_window(text, "window"))
    except refit.WindowError:
        return text


def query_string(event_id: str | None, focus: list[str], window: str | None, estimation: str | None) -> str:
    """The URL's query for the choices (the estimation window only when not the stored one)."""
    params = {"event": event_id or "", "tickers": ",".join(focus), "window": url_window(window)}
    if estimation and url_window(estimation) != url_window(window_text(refit.STORED_ESTIMATION)):
        params["estimation"] = url_window(estimation)
    return "?" + urlencode(params, safe=",-")


def register(app: dash.Dash, store: data.Store) -> None:
    @app.callback(
        Output("event-adhoc", "data"),
        Input("event-adhoc-run", "n_clicks"),
        Input("event-select", "value"),
        State("event-adhoc-at", "value"),
        State("event-adhoc-tickers", "value"),
        prevent_initial_call=True,
    )
    def choose_adhoc(_clicks: int | None, _event_id: str | None, at: str | None, tickers: str | None):
        """The button: study what the form holds; picking an event from the menu: back to the catalogue's."""
        if dash.ctx.triggered_id == "event-adhoc-run":
            return {"at": at or "", "tickers": tickers or ""}
        return None

    @app.callback(
        Output("event-tickers", "value"),
        Input("event-select", "value"),
        State("event-tickers", "options"),
        prevent_initial_call=True,
    )
    def focus_follows_event(event_id: str | None, options: list | None):
        """Another event: its default focus (NVDA, MSFT, META and the event's tickers)."""
        if not event_id:
            return dash.no_update
        names = [o if isinstance(o, str) else o["value"] for o in options or []]
        try:
            return default_focus(store, event_id, names)
        except data.WarehouseBusy:
            return dash.no_update

    @app.callback(
        Output("event-header", "children"),
        Output("event-prices", "figure"),
        Output("event-ar", "figure"),
        Output("event-car", "figure"),
        Output("event-headlines", "children"),
        Output("event-firm-tests", "children"),
        Output("event-group-tests", "children"),
        Output("event-retry", "disabled"),
        Output("event-window-error", "children"),
        Output("event-url", "search"),
        Output("event-adhoc-error", "children"),
        Input("event-select", "value"),
        Input("event-tickers", "value"),
        Input("event-window", "value"),
        Input("event-estimation", "value"),
        Input("event-retry", "n_intervals"),
        Input("event-adhoc", "data"),
    )
    def update_event(
        event_id: str | None,
        focus: list[str] | None,
        window_typed: str | None,
        estimation_typed: str | None,
        _retry: int | None,
        adhoc: dict | None,
    ):
        focus = list(focus or [])
        search = query_string(event_id, focus, window_typed, estimation_typed) if event_id else dash.no_update
        problem = ""
        try:
            window = refit.parse_window(window_typed, "event window")
            estimation = refit.parse_window(estimation_typed, "estimation window")
            refit.check_choice(window, estimation)
        except refit.WindowError as error:
            problem = f"{error}; showing {window_label(*DEFAULT_WINDOW)}"
            window, estimation = DEFAULT_WINDOW, refit.STORED_ESTIMATION
        try:
            sentiment_ready = data.status(store).value["sentiment_model"] is not None
            simulated = bool(data.status(store).value["demo"])
            bundle, reason, adhoc_problem = None, None, ""
            if adhoc is not None:
                try:
                    choice = refit.Choice(window, estimation, tuple(focus))
                    bundle, reason = data.adhoc_view(store, adhoc["at"], adhoc["tickers"], choice), ADHOC_REASON
                    focus = list(dict.fromkeys([*bundle["event"]["tickers"], *focus]))
                except refit.AdhocError as error:
                    adhoc_problem = str(error)
            if bundle is None and event_id:
                try:
                    bundle, reason = data.event_view(store, event_id, refit.Choice(window, estimation, tuple(focus)))
                except refit.WindowError as error:
                    problem = f"{error}; showing the stored study"
                    window, estimation = DEFAULT_WINDOW, refit.STORED_ESTIMATION
                    bundle, reason = data.event_view(store, event_id, refit.Choice(window, estimation, tuple(focus)))
            verdicts = data.event_verdicts(store, event_id) if event_id and reason is None else None
        except data.WarehouseBusy:
            busy = busy_figure()
            note = refreshing()
            return note, busy, busy, busy, note, note, note, False, problem, search, ""
        if bundle is None:
            empty = figures.empty_figure("pick an event from the menu")
            return (
                html.Div("Pick an event."),
                empty,
                empty,
                empty,
                None,
                None,
                None,
                True,
                problem,
                search,
                adhoc_problem,
            )
        views = event_views(
            bundle, window, sentiment_ready, focus=focus, reason=reason, simulated=simulated, verdicts=verdicts
        )
        return (*views, True, problem, search, adhoc_problem)

    @app.callback(
        Output("event-intraday", "figure"),
        Input("event-select", "value"),
        Input("event-tickers", "value"),
        Input("event-adhoc", "data"),
    )
    def update_intraday(event_id: str | None, focus: list[str] | None, adhoc: dict | None):
        """The event session minute by minute (the focus tickers that have bars, and the benchmark)."""
        if adhoc is not None:
            return figures.empty_figure("no minute bars for an ad-hoc study: pick a catalogued event")
        if not event_id:
            return figures.empty_figure("pick an event from the menu")
        try:
            view = data.event_intraday(store, event_id).value
            simulated = bool(data.status(store).value["demo"])
        except data.WarehouseBusy:
            return busy_figure()
        fig = view_figure(view, list(focus or []) or None)
        return figures.mark_simulated(fig) if simulated else fig


def _verdict_block(verdicts: pd.DataFrame | None, window: tuple[int, int]) -> html.Div | None:
    """One sentence per stored window (the chosen one first), from the read model's verdicts."""
    if verdicts is None or verdicts.empty:
        return None
    rows = verdicts.assign(
        _chosen=[
            (int(s), int(e)) != tuple(window) for s, e in zip(verdicts["tau_start"], verdicts["tau_end"], strict=True)
        ]
    )
    rows = rows.sort_values("_chosen", kind="stable")
    return html.Div(
        [
            html.Div([html.B(f"{w}: "), html.Span(str(sentence))], className="verdict")
            for w, sentence in zip(rows["window"], rows["sentence"], strict=True)
        ],
        id="event-verdict",
    )


def event_views(
    bundle: dict,
    window: tuple[int, int],
    sentiment_ready: bool,
    *,
    focus: list[str] | None = None,
    reason: str | None = None,
    simulated: bool = False,
    verdicts: pd.DataFrame | None = None,
) -> tuple:
    """Header, figures (prices, ar, car), headlines, per-firm and group tables of one event for ``window``."""
    event = bundle["event"]
    windows = bundle["windows"]
    label = window_label(*window)
    header = html.Div(
        [
            html.Div(event["name"], className="spot", id="event-title"),
            html.Div(
                f"day 0 {pd.Timestamp(event['day0']):%Y-%m-%d} ({event['day0_rule']}) · {event['kind']} · {event['origin']} · "
                f"tickers {', '.join(event['tickers'])} · benchmark {bundle['benchmark']}",
                className="muted",
            ),
            html.Div(event.get("description") or "", style={"marginTop": "4px"}),
            html.Div(f"Re-fitted here for these choices: {reason}.", className="refit-note", id="event-refit")
            if reason
            else html.Div("From the stored study (the analyze job's marts).", className="muted", id="event-stored"),
            _verdict_block(verdicts, window),
        ]
    )
    focus = list(focus or figures.default_focus(bundle))
    figs = figures.event_figures(bundle, focus=focus, window=window)
    if simulated:
        figs = {name: figures.mark_simulated(fig) for name, fig in figs.items()}
    firm = windows.loc[windows["window"] == label]
    ar0 = windows.loc[windows["window"] == "[0,0]"].set_index("ticker")["car"]
    firm = firm.assign(ar0=firm["ticker"].map(ar0)).sort_values("car")
    firm = _with_dollars(firm, bundle, label, stored=reason is None)
    stem = f"{event['event_id']}_{window[0]}_{window[1]}"
    firm_table = pd.DataFrame(
        {
            "ticker": firm["ticker"],
            "AR(0)": firm["ar0"].map(pct),
            f"CAR{label}": firm["car"].map(pct),
            "$ day 0": firm["usd0"].map(money),
            f"$ CAR{label}": firm["car_usd"].map(money),
            "t": firm["car_t"].map(num),
            "p": firm["car_p"].map(p_value),
            "sample": firm["ticker"].map(lambda t: "focus" if t in focus else ""),
        }
    )
    firm_export = firm.assign(event_id=event["event_id"])[
        ["event_id", "ticker", "window", "tau_start", "tau_end", "ar0", "car", "car_t", "car_p", "usd0", "car_usd"]
    ].rename(
        columns={"ar0": "ar_day0", "car_t": "t", "car_p": "p", "usd0": "dollar_change_day0", "car_usd": "dollar_car"}
    )
    tests = bundle["tests"]
    tests = tests.loc[tests["window"] == label]
    aggregates = bundle["aggregates"]
    caar = aggregates.loc[aggregates["window"] == label, "caar"] if not aggregates.empty else pd.Series(dtype=float)
    group_table = pd.DataFrame(
        {
            "test": tests["test"].map(test_label),
            "statistic": tests["statistic"].map(num),
            "p": tests["p_value"].map(p_value),
            "n": tests["n"],
            "robust to cross-correlation": tests["adjusts_cross_correlation"].map(lambda b: "yes" if b else "no"),
        }
    )
    group_export = tests.assign(event_id=event["event_id"], label=tests["test"].map(test_label))[
        ["event_id", "window", "test", "label", "statistic", "p_value", "n", "adjusts_cross_correlation"]
    ]
    firm_block = (
        html.Div(
            [
                table(
                    firm_table,
                    numeric={"AR(0)", f"CAR{label}", "$ day 0", f"$ CAR{label}", "t", "p"},
                    table_id="firm-table",
                    export=firm_export,
                    simulated=simulated,
                    filename=f"firm-tests-{stem}",
                ),
                _dollar_total(bundle, firm, label),
            ]
        )
        if not firm.empty
        else html.Div(f"No per-firm results for {label}.", className="muted")
    )
    group_block = (
        html.Div(
            [
                html.Div(
                    f"CAAR{label} = {pct(caar.iloc[0])} · *** p<0.01 ** p<0.05 * p<0.10" if len(caar) else "",
                    className="muted",
                ),
                table(
                    group_table,
                    numeric={"statistic", "p", "n"},
                    table_id="group-table",
                    export=group_export,
                    simulated=simulated,
                    filename=f"group-tests-{stem}",
                ),
            ]
        )
        if not tests.empty
        else html.Div(f"No group tests for {label}.", className="muted")
    )
    headlines = headline_items(bundle["headlines"], sentiment_ready)
    return header, figs["prices"], figs["ar"], figs["car"], headlines, firm_block, group_block


def _with_dollars(firm: pd.DataFrame, bundle: dict, label: str, *, stored: bool) -> pd.DataFrame:
    """``firm`` with ``usd0`` (day-0 dollar change, read.event_dollars) and ``car_usd`` (the CAR in dollars of the stored
    window; none for a study re-fitted here, whose CARs the stored dollars do not match)."""
    dollars, windows = bundle.get("dollars"), bundle.get("dollar_windows")
    day0 = dollars.set_index("ticker")["dollar_change"] if dollars is not None else pd.Series(dtype=float)
    car = (
        windows.loc[windows["window"] == label].set_index("ticker")["dollar_abnormal"]
        if windows is not None and stored
        else pd.Series(dtype=float)
    )
    return firm.assign(usd0=firm["ticker"].map(day0), car_usd=firm["ticker"].map(car))


def _dollar_total(bundle: dict, firm: pd.DataFrame, label: str) -> html.Div:
    """The event's own tickers together: market value moved on day 0 (and its abnormal part), the CAR in dollars."""
    dollars = bundle.get("dollars")
    own = dollars[dollars["own"]] if dollars is not None else pd.DataFrame()
    if own.empty or own["dollar_change"].isna().all():
        return html.Div(
            "No market values: shares outstanding unknown for these tickers.",
            className="muted",
            id="event-dollar-total",
        )
    valued = own.dropna(subset=["dollar_change"])
    text = (
        f"Total, {len(valued)} of {len(own)} tickers with a market value: day 0 {money(valued['dollar_change'].sum())}"
        f" ({money(valued['dollar_abnormal'].sum())} abnormal)"
    )
    if firm["car_usd"].notna().any():
        text += f" · CAR{label} {money(firm['car_usd'].sum())}"
    missing = own[own["dollar_change"].isna()]
    if len(missing):
        text += " · no market value for " + ", ".join(missing["ticker"])
    return html.Div(text, className="muted", id="event-dollar-total")
