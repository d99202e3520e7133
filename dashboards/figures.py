"""Plotly figures as pure functions: a tidy frame in, a ``go.Figure`` out; no I/O, no globals mutated.

The Dash app and the static report draw the same figures. Returns and abnormal returns arrive as
fractions and are shown in percent (hover adds basis points). Any text that comes from the data
(tickers, event names, headlines) is HTML-escaped before it reaches a label or a hover box.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots
from scipy import stats

from models import calendar
from models.event_study.results import window_label

FONT = "Inter, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"
COLORWAY = [
    "#1f5fa6",
    "#e07b24",
    "#2a9d57",
    "#c03b3b",
    "#7a52a8",
    "#8c5a3c",
    "#d45aa8",
    "#5f6b73",
    "#a8a22e",
    "#1fa3b3",
    "#3d3d8f",
    "#9e2f6b",
]
LINE_COLORS = COLORWAY + [
    "#E15F99",
    "#B68100",
    "#750D86",
    "#00A08B",
    "#FB00D1",
    "#6C7C32",
    "#778AAE",
    "#862A16",
    "#A777F1",
    "#1616A7",
    "#DA60CA",
    "#6C4516",
]
"""Line colours of the event figures: 24 distinct ones, so the whole universe (13 lines and more) never repeats one."""
DEFAULT_FOCUS = ("NVDA", "MSFT", "META")
"""The tickers the event figures show besides the event's own, unless the user picks others."""
NEGATIVE, POSITIVE, NEUTRAL, MUTED = "#c03b3b", "#2a9d57", "#7f8790", "#b9c0c7"
BENCHMARK_COLOR = "#303a44"
SENTIMENT_COLORS = {"negative": NEGATIVE, "neutral": NEUTRAL, "positive": POSITIVE, None: MUTED}
SIGNIFICANCE = ((0.01, "***"), (0.05, "**"), (0.10, "*"))
BAND_Z = 1.959963984540054
"""The two-sided 95% normal quantile of the CAR bands (the read model's bands use the same)."""

TEMPLATE = go.layout.Template(
    layout=go.Layout(
        font=dict(family=FONT, size=13, color="#1d2730"),
        title=dict(font=dict(size=16), x=0.01, xanchor="left"),
        colorway=COLORWAY,
        paper_bgcolor="white",
        plot_bgcolor="white",
        hoverlabel=dict(font=dict(family=FONT, size=12)),
        xaxis=dict(showgrid=True, gridcolor="#edf0f2", zeroline=False, linecolor="#c9d0d6", ticks="outside"),
        yaxis=dict(showgrid=True, gridcolor="#edf0f2", zerolinecolor="#9aa4ad", linecolor="#c9d0d6"),
        legend=dict(bgcolor="rgba(255,255,255,0.8)", font=dict(size=12)),
        margin=dict(l=60, r=20, t=60, b=50),
    )
)


def esc(value: object) -> str:
    """Text from the data, safe inside Plotly labels (which understand a few HTML tags)."""
    return html.escape("" if value is None else str(value), quote=False)


def stars(p: float | None) -> str:
    """*** p < 1%, ** p < 5%, * p < 10%, '' otherwise (or when p is missing)."""
    if p is None or not np.isfinite(p):
        return ""
    return next((mark for level, mark in SIGNIFICANCE if p < level), "")


def _base(title: str, height: int = 420, **layout: object) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(template=TEMPLATE, title=dict(text=title), height=height, **layout)
    return fig


def empty_figure(message: str, title: str = "", height: int = 320) -> go.Figure:
    """A blank figure that says why it is blank ("sentiment not computed yet", "no data in range")."""
    fig = _base(title, height=height)
    fig.add_annotation(
        text=esc(message), x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False, font=dict(size=15, color=NEUTRAL)
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


# --- event explorer ------------------------------------------------------------------------------


def ticker_colors(names: Sequence[str]) -> dict[str, str]:
    """One distinct colour per ticker, in the order given (the same ticker keeps its colour across an event's figures)."""
    return {name: LINE_COLORS[i % len(LINE_COLORS)] for i, name in enumerate(dict.fromkeys(names))}


def price_paths(
    prices: pd.DataFrame,
    benchmark: str | None = None,
    title: str = "Prices around day 0",
    colors: dict[str, str] | None = None,
    window: tuple[int, int] | None = None,
) -> go.Figure:
    """Normalised price paths: columns ticker, tau, date, index (100 at the close of day -1), ret.

    One line per ticker (``colors``: ticker -> colour; default distinct ones); the benchmark dashed and dark;
    a vertical line on day 0; the event ``window`` (tau start, end) shaded.
    """
    if prices.empty:
        return empty_figure("no prices around this event", title)
    fig = _base(title, height=440)
    ordered = sorted(prices["ticker"].unique(), key=lambda t: (t == benchmark, t))
    colors = colors or ticker_colors([t for t in ordered if t != benchmark])
    for ticker in ordered:
        rows = prices.loc[prices["ticker"] == ticker].sort_values("tau")
        is_bench = ticker == benchmark
        ret = rows["ret"] if "ret" in rows else pd.Series(np.nan, index=rows.index)
        fig.add_trace(
            go.Scatter(
                x=rows["tau"],
                y=rows["index"],
                mode="lines+markers",
                name=esc(ticker) + (" (benchmark)" if is_bench else ""),
                line=dict(
                    width=3 if is_bench else 2,
                    dash="dash" if is_bench else "solid",
                    color=BENCHMARK_COLOR if is_bench else colors.get(ticker, MUTED),
                ),
                marker=dict(size=4),
                customdata=np.column_stack(
                    [pd.to_datetime(rows["date"]).dt.strftime("%Y-%m-%d"), 100 * ret.to_numpy(dtype=float)]
                ),
                hovertemplate=f"<b>{esc(ticker)}</b> day %{{x}} (%{{customdata[0]}})<br>index %{{y:.1f}}"
                "<br>return %{customdata[1]:+.2f}%<extra></extra>",
            )
        )
    if window is not None:
        fig.add_vrect(
            x0=window[0] - 0.5,
            x1=window[1] + 0.5,
            fillcolor=MUTED,
            opacity=0.18,
            line_width=0,
            layer="below",
            name="event window",
        )
    fig.add_vline(x=0, line=dict(color=NEUTRAL, dash="dot"))
    fig.add_hline(y=100, line=dict(color=MUTED, width=1))
    fig.update_xaxes(title_text="trading days relative to day 0", dtick=2)
    fig.update_yaxes(title_text="price index (close of day −1 = 100)")
    return fig


def ar_bars(
    frame: pd.DataFrame,
    title: str = "Abnormal return on day 0",
    value: str = "ar",
    label: str = "AR",
    highlight: Sequence[str] = (),
) -> go.Figure:
    """Bars per ticker: columns ticker, ``value`` (fraction) and optionally t and p.

    Sorted from the most negative; bars significant at 5% are solid, the rest pale; stars mark
    the level (*** 1%, ** 5%, * 10%). ``highlight`` tickers get a dark outline.
    """
    if frame.empty:
        return empty_figure("no abnormal returns for this event", title)
    rows = frame.sort_values(value).reset_index(drop=True)
    pct = 100 * rows[value].to_numpy(dtype=float)
    p = rows["p"].to_numpy(dtype=float) if "p" in rows else np.full(len(rows), np.nan)
    t = rows["t"].to_numpy(dtype=float) if "t" in rows else np.full(len(rows), np.nan)
    significant = np.isfinite(p) & (p < 0.05)
    has_p = np.isfinite(p).any()
    colors = [(NEGATIVE if v < 0 else POSITIVE) for v in pct]
    opacity = [1.0 if (s or not has_p) else 0.45 for s in significant]
    marks = [stars(x) for x in p]
    text = [f"{v:+.2f}%{m}" for v, m in zip(pct, marks, strict=True)]
    outline = [2.5 if tk in set(highlight) else 0 for tk in rows["ticker"]]
    fig = _base(title, height=420)
    fig.add_trace(
        go.Bar(
            x=[esc(tk) for tk in rows["ticker"]],
            y=pct,
            text=text,
            textposition="outside",
            cliponaxis=False,
            marker=dict(color=colors, opacity=opacity, line=dict(color=BENCHMARK_COLOR, width=outline)),
            customdata=np.column_stack([pct * 100, t, p]),
            hovertemplate=f"<b>%{{x}}</b><br>{label} %{{y:+.2f}}% (%{{customdata[0]:+.0f}} bp)"
            + ("<br>t %{customdata[1]:.2f}, p %{customdata[2]:.4f}" if has_p else "")
            + "<extra></extra>",
            name=label,
        )
    )
    span = np.nanmax(np.abs(pct)) if len(pct) else 1.0
    fig.update_yaxes(
        title_text=f"{label} (%)",
        range=[-1.25 * span if pct.min() < 0 else 0, 1.25 * span if pct.max() > 0 else 0.2 * span],
    )
    if has_p:
        fig.add_annotation(
            text="solid: p < 0.05 · *** p<0.01 ** p<0.05 * p<0.10 (firm t-test)",
            x=1,
            y=1.02,
            xref="paper",
            yref="paper",
            xanchor="right",
            yanchor="bottom",
            showarrow=False,
            font=dict(size=11, color=NEUTRAL),
        )
    fig.update_layout(showlegend=False, bargap=0.25)
    return fig


def car_paths(
    abnormal: pd.DataFrame,
    tickers: Sequence[str] | None = None,
    title: str = "Cumulative abnormal return with 95% band",
    colors: dict[str, str] | None = None,
) -> go.Figure:
    """CAR(τ) per ticker with its 95% band: columns ticker, tau, car, car_lo, car_hi (fractions).

    ``tickers`` chooses and orders the lines (default: all). The band is ±1.96·σ̂·√L, L the days
    cumulated so far.
    """
    if abnormal.empty:
        return empty_figure("no abnormal returns for this event", title)
    names = list(tickers) if tickers else sorted(abnormal["ticker"].unique())
    colors = colors or ticker_colors(names)
    fig = _base(title, height=440)
    for ticker in names:
        rows = abnormal.loc[abnormal["ticker"] == ticker].sort_values("tau")
        if rows.empty:
            continue
        color = colors.get(ticker, MUTED)
        group = f"car-{ticker}"
        if {"car_lo", "car_hi"} <= set(rows.columns) and rows["car_hi"].notna().any():
            fig.add_trace(
                go.Scatter(
                    x=rows["tau"],
                    y=100 * rows["car_hi"],
                    mode="lines",
                    line=dict(width=0, color=color),
                    legendgroup=group,
                    showlegend=False,
                    hoverinfo="skip",
                    name=f"{esc(ticker)} upper",
                )
            )
            fig.add_trace(
                go.Scatter(
                    x=rows["tau"],
                    y=100 * rows["car_lo"],
                    mode="lines",
                    line=dict(width=0, color=color),
                    fill="tonexty",
                    fillcolor=_rgba(color, 0.12),
                    legendgroup=group,
                    showlegend=False,
                    hoverinfo="skip",
                    name=f"{esc(ticker)} lower",
                )
            )
        fig.add_trace(
            go.Scatter(
                x=rows["tau"],
                y=100 * rows["car"],
                mode="lines+markers",
                name=esc(ticker),
                legendgroup=group,
                line=dict(color=color, width=2),
                marker=dict(size=5),
                customdata=np.column_stack(
                    [
                        100 * rows.get("ar", pd.Series(np.nan, index=rows.index)).to_numpy(dtype=float),
                        100 * rows.get("car_lo", pd.Series(np.nan, index=rows.index)).to_numpy(dtype=float),
                        100 * rows.get("car_hi", pd.Series(np.nan, index=rows.index)).to_numpy(dtype=float),
                    ]
                ),
                hovertemplate=f"<b>{esc(ticker)}</b> day %{{x}}<br>CAR %{{y:+.2f}}% (95%: %{{customdata[1]:+.1f}} … %{{customdata[2]:+.1f}})"
                "<br>AR %{customdata[0]:+.2f}%<extra></extra>",
            )
        )
    fig.add_vline(x=0, line=dict(color=NEUTRAL, dash="dot"))
    fig.add_hline(y=0, line=dict(color=MUTED, width=1))
    fig.update_xaxes(title_text="trading days relative to day 0", dtick=1)
    fig.update_yaxes(title_text="CAR (%)")
    return fig


# Titles of the event figures: the app's say more (it has the room); the static report keeps its own.
EVENT_TITLES = {
    "app": {
        "prices": "Prices, day {lo}…{hi} (index, close of day −1 = 100)",
        "ar": "Abnormal return on day 0 ({day0}), market model vs {benchmark}",
        "car_window": "CAR{window} per firm, day 0 {day0}, market model vs {benchmark}",
        "car": "CAR over {window} with 95% band (±1.96·σ̂·√days)",
    },
    "report": {
        "prices": "Prices, day {lo}…{hi} (close of day −1 = 100)",
        "ar": "Abnormal return on day 0 ({day0}) vs {benchmark}",
        "car_window": "CAR{window} per firm, day 0 {day0}, vs {benchmark}",
        "car": "CAR over {window} with 95% band",
    },
}


def default_focus(bundle: dict) -> list[str]:
    """The tickers an event's figures show unless the user picks others: DEFAULT_FOCUS plus the event's own,
    those the event's data holds."""
    held = set(bundle["abnormal"]["ticker"]) | set(bundle["prices"]["ticker"])
    names = [t for t in dict.fromkeys([*DEFAULT_FOCUS, *bundle["event"]["tickers"]]) if t in held]
    return names or list(bundle["event"]["tickers"])


def window_car(abnormal: pd.DataFrame, window: tuple[int, int]) -> pd.DataFrame:
    """The abnormal returns of ``window`` (tau start, end) with CAR cumulated from its first day and the 95% band
    ±1.96·σ̂·√L (L the days cumulated so far; needs a sigma_e column, else no band)."""
    rows = abnormal.loc[abnormal["tau"].between(*window)].sort_values(["ticker", "tau"]).copy()
    rows["car"] = rows.groupby("ticker")["ar"].cumsum()
    days = rows.groupby("ticker").cumcount() + 1
    if "sigma_e" in rows:
        half = BAND_Z * rows["sigma_e"].astype(float) * np.sqrt(days)
        rows["car_lo"], rows["car_hi"] = rows["car"] - half, rows["car"] + half
    else:
        rows = rows.drop(columns=["car_lo", "car_hi"], errors="ignore")
    return rows.reset_index(drop=True)


def event_figures(
    bundle: dict, titles: str = "app", focus: Sequence[str] | None = None, window: tuple[int, int] | None = None
) -> dict[str, go.Figure]:
    """One event's figures, named prices, ar, car: the event explorer and the static report draw these.

    ``bundle`` is ``dashboards.data.event_bundle``'s (or a re-fitted view of it); ``titles`` picks the wording
    (a key of EVENT_TITLES). ``focus``: the tickers drawn, in this order and colour (default: ``default_focus``,
    every one of them kept, never only the largest moves). ``window``: the event window; the bars then show
    each firm's CAR over it (with t and p) and the CAR chart cumulates over it; without one, the day-0 ARs and
    the CAR over every stored day.
    """
    event, windows, abnormal = bundle["event"], bundle["windows"], bundle["abnormal"]
    text = EVENT_TITLES[titles]
    names = list(focus) if focus else default_focus(bundle)
    colors = ticker_colors(names)
    day0_text = f"{pd.Timestamp(event['day0']):%Y-%m-%d}"
    label = window_label(*window) if window else "[0,0]"
    bars = windows.loc[windows["window"] == label, ["ticker", "car", "car_t", "car_p"]].rename(
        columns={"car": "ar", "car_t": "t", "car_p": "p"}
    )
    if bars.empty and not abnormal.empty and label == "[0,0]":
        bars = abnormal.loc[abnormal["tau"] == 0, ["ticker", "ar"]]
    bars = bars.loc[bars["ticker"].isin(names)]
    if label == "[0,0]":
        bar_title = text["ar"].format(day0=day0_text, benchmark=bundle["benchmark"])
    else:
        bar_title = text["car_window"].format(window=label, day0=day0_text, benchmark=bundle["benchmark"])
    if window is not None and not abnormal.empty:
        path = window_car(abnormal, window)
        car_span = label
    else:
        path = abnormal
        car_span = window_label(int(abnormal["tau"].min()), int(abnormal["tau"].max())) if not abnormal.empty else label
    prices = bundle["prices"]
    shown = prices.loc[prices["ticker"].isin([*names, bundle["benchmark"]])] if not prices.empty else prices
    lo, hi = (int(prices["tau"].min()), int(prices["tau"].max())) if not prices.empty else (0, 0)
    return {
        "prices": price_paths(
            shown,
            bundle["benchmark"],
            title=text["prices"].format(lo=_signed(lo), hi=_signed(hi)),
            colors=colors,
            window=window,
        ),
        "ar": ar_bars(
            bars, title=bar_title, label="AR" if label == "[0,0]" else f"CAR{label}", highlight=event["tickers"]
        ),
        "car": car_paths(
            path.loc[path["ticker"].isin(names)] if not path.empty else path,
            tickers=names,
            title=text["car"].format(window=car_span),
            colors=colors,
        ),
    }


def _signed(value: int) -> str:
    return "0" if value == 0 else f"{value:+d}".replace("-", "−")


SIMULATED_MARK = "SIMULATED DATA"


def mark_simulated(fig: go.Figure) -> go.Figure:
    """Stamp a figure of demo data "SIMULATED DATA" (a faint watermark and a note under the axis title, in a wider
    bottom margin), so no PNG of it passes as market data; returns the figure."""
    fig.add_annotation(
        text=SIMULATED_MARK,
        name="simulated",
        x=0.5,
        y=0.5,
        xref="paper",
        yref="paper",
        showarrow=False,
        textangle=-20,
        opacity=0.16,
        font=dict(size=44, color=NEGATIVE),
    )
    fig.add_annotation(
        text="simulated demo data, not market prices",
        name="simulated-note",
        x=1,
        y=0,
        xref="paper",
        yref="paper",
        xanchor="right",
        yanchor="top",
        yshift=-52,
        showarrow=False,
        font=dict(size=10, color=NEGATIVE),
    )
    # Room for the note under the axis title (the template's bottom margin holds the tick labels and the title).
    fig.update_layout(margin=dict(b=max(fig.layout.margin.b or 0, 50) + 22))
    return fig


def _rgba(hex_color: str, alpha: float) -> str:
    h = hex_color.lstrip("#")
    return f"rgba({int(h[0:2], 16)},{int(h[2:4], 16)},{int(h[4:6], 16)},{alpha})"


# --- ticker view ---------------------------------------------------------------------------------

EVENT_COLORS = {"curated": "#e07b24", "detected": "#7a52a8"}
NOON = pd.Timedelta(hours=12)
"""The ticker view draws each session at noon, inside its day: at midnight a Monday or a day after a holiday sits on
the edge of a range break, where Plotly finds nothing to hover or click."""
EVENT_STEP = 0.05
"""How far (a fraction of the day's high) each further event of the same day sits above the one below."""


def closed_days(first: object, last: object) -> list[dict]:
    """Plotly rangebreaks hiding the days the NYSE was closed between ``first`` and ``last``: weekends and
    the holidays of models.calendar (so a holiday leaves no gap between candles)."""
    start, end = pd.Timestamp(first).normalize(), pd.Timestamp(last).normalize()
    weekdays = pd.bdate_range(start, end)
    holidays = weekdays.difference(calendar.sessions(start, end))
    breaks: list[dict] = [dict(bounds=["sat", "mon"])]
    if len(holidays):
        breaks.append(dict(values=[f"{d:%Y-%m-%d}" for d in holidays]))
    return breaks


def _day_notes(
    dates: pd.Series, ret: np.ndarray, ar: np.ndarray, events: pd.DataFrame | None, headline_counts: pd.DataFrame | None
) -> list[str]:
    """Each session's hover text: return and AR, its headline count and its events (names escaped)."""
    counts = (
        {}
        if headline_counts is None or headline_counts.empty
        else dict(zip(pd.to_datetime(headline_counts["date"]), headline_counts["n_headlines"], strict=True))
    )
    named: dict[pd.Timestamp, list[str]] = {}
    for row in events.itertuples() if events is not None else ():
        named.setdefault(pd.Timestamp(row.day0), []).append(f"<b>event</b>: {esc(row.name)} [{esc(row.origin)}]")
    notes = []
    for day, r, a in zip(dates, ret, ar, strict=True):
        parts = [f"return {r:+.2f}% · AR {a:+.2f}%" if np.isfinite(a) else f"return {r:+.2f}%"]
        if day in counts:
            parts.append(f"{counts[day]} headline(s): click for them")
        parts.extend(named.get(day, []))
        notes.append("<br>".join(parts))
    return notes


def ticker_chart(
    prices: pd.DataFrame,
    ticker: str,
    events: pd.DataFrame | None = None,
    sentiment: pd.DataFrame | None = None,
    headline_counts: pd.DataFrame | None = None,
) -> go.Figure:
    """Candlesticks (split-adjusted), volume and the daily sentiment index of one ticker.

    ``prices``: date, open, high, low, close, volume (+ ret, ar); ``events``: day0, name, origin;
    ``sentiment``: date, mean_score, n_headlines, or None when sentiment is not computed yet;
    ``headline_counts``: date, n_headlines (days with news get a dot under the candles).
    """
    if prices.empty:
        return empty_figure(f"no prices for {ticker} in this range", f"{ticker}")
    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.05, row_heights=[0.56, 0.2, 0.24])
    fig.update_layout(
        template=TEMPLATE,
        height=680,
        title=dict(text=f"{esc(ticker)} — daily bars (split- and dividend-adjusted)"),
        xaxis_rangeslider_visible=False,
        hovermode="x unified",
        showlegend=True,
        legend=dict(orientation="h", y=1.02, x=1, xanchor="right", yanchor="bottom"),
    )
    dates = pd.to_datetime(prices["date"])
    ret = 100 * prices["ret"].to_numpy(dtype=float) if "ret" in prices else np.full(len(prices), np.nan)
    ar = 100 * prices["ar"].to_numpy(dtype=float) if "ar" in prices else np.full(len(prices), np.nan)
    fig.add_trace(
        go.Candlestick(
            x=dates + NOON,
            open=prices["open"],
            high=prices["high"],
            low=prices["low"],
            close=prices["close"],
            name="price",
            increasing=dict(line=dict(color=POSITIVE)),
            decreasing=dict(line=dict(color=NEGATIVE)),
            hovertext=_day_notes(dates, ret, ar, events, headline_counts),
        ),
        row=1,
        col=1,
    )
    # The dots and markers do not take part in the hover: the candle's day is the one hovered and clicked (a dot
    # within reach of the pointer would otherwise win and a click would select its day, a neighbour with news).
    if headline_counts is not None and not headline_counts.empty:
        days = pd.to_datetime(headline_counts["date"])
        lows = prices.set_index(dates)["low"].reindex(days)
        keep = lows.notna().to_numpy()
        fig.add_trace(
            go.Scatter(
                x=days[keep] + NOON,
                y=0.97 * lows[keep].to_numpy(),
                mode="markers",
                name="headlines (click a day)",
                marker=dict(symbol="circle", size=6, color="#1f5fa6"),
                customdata=headline_counts["n_headlines"].to_numpy()[keep],
                hoverinfo="skip",
            ),
            row=1,
            col=1,
        )
    if events is not None and not events.empty:
        # Events of one day stack upwards, curated first, so none hides under another.
        stacked = events.assign(day0=pd.to_datetime(events["day0"]), _curated=events["origin"] != "curated")
        stacked = stacked.sort_values(["day0", "_curated"], kind="stable")
        stacked["level"] = stacked.groupby("day0").cumcount()
        highs = prices.set_index(dates)["high"].reindex(stacked["day0"])
        keep = highs.notna().to_numpy()
        shown = stacked.loc[keep]
        fig.add_trace(
            go.Scatter(
                x=shown["day0"] + NOON,
                y=highs[keep].to_numpy() * (1.04 + EVENT_STEP * shown["level"].to_numpy()),
                mode="markers",
                name="events",
                marker=dict(
                    symbol="triangle-down",
                    size=12,
                    color=[EVENT_COLORS.get(o, EVENT_COLORS["detected"]) for o in shown["origin"]],
                    line=dict(color="white", width=1),
                ),
                text=[f"{esc(n)} [{esc(o)}]" for n, o in zip(shown["name"], shown["origin"], strict=True)],
                hoverinfo="skip",
            ),
            row=1,
            col=1,
        )
    fig.add_trace(
        go.Bar(
            x=dates + NOON,
            y=prices["volume"],
            name="volume",
            marker=dict(color=MUTED),
            showlegend=False,
            hovertemplate="volume %{y:,.0f}<extra></extra>",
        ),
        row=2,
        col=1,
    )
    # A zero line over every session keeps the sentiment row's date axis (shared by all rows) on the data.
    fig.add_trace(
        go.Scatter(
            x=dates + NOON,
            y=np.zeros(len(dates)),
            mode="lines",
            line=dict(color=MUTED, width=1),
            hoverinfo="skip",
            showlegend=False,
            name="sentiment zero",
        ),
        row=3,
        col=1,
    )
    if sentiment is None:
        fig.add_annotation(
            text="sentiment not computed yet",
            x=0.5,
            y=0.5,
            xref="x3 domain",
            yref="y3 domain",
            showarrow=False,
            font=dict(color=NEUTRAL, size=13),
        )
    elif sentiment.empty:
        fig.add_annotation(
            text="no scored headlines in this range",
            x=0.5,
            y=0.5,
            xref="x3 domain",
            yref="y3 domain",
            showarrow=False,
            font=dict(color=NEUTRAL, size=13),
        )
    else:
        score = sentiment["mean_score"].to_numpy(dtype=float)
        fig.add_trace(
            go.Bar(
                x=pd.to_datetime(sentiment["date"]) + NOON,
                y=score,
                name="sentiment index",
                showlegend=False,
                marker=dict(color=[NEGATIVE if s < 0 else POSITIVE for s in score]),
                customdata=sentiment["n_headlines"].to_numpy() if "n_headlines" in sentiment else None,
                hovertemplate="sentiment %{y:+.2f} (%{customdata} headline(s))<extra></extra>",
            ),
            row=3,
            col=1,
        )
    fig.update_yaxes(title_text="price ($)", row=1, col=1)
    fig.update_yaxes(title_text="volume", title_font=dict(size=11), row=2, col=1)
    fig.update_yaxes(title_text="sentiment", title_font=dict(size=11), range=[-1.05, 1.05], row=3, col=1)
    # Every row is a date axis (the sentiment row may hold no trace); weekends and NYSE holidays fall away.
    fig.update_xaxes(type="date", rangebreaks=closed_days(dates.min(), dates.max()), hoverformat="%a %b %-d, %Y")
    fig.update_xaxes(showticklabels=True, row=3, col=1)
    return fig


# --- sentiment vs returns ------------------------------------------------------------------------


def fit_line(x: Sequence[float], y: Sequence[float]) -> dict[str, float]:
    """OLS of y on x with Pearson's r and its two-sided p-value (NaN when fewer than 3 points)."""
    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    ok = np.isfinite(xs) & np.isfinite(ys)
    xs, ys = xs[ok], ys[ok]
    n = int(len(xs))
    if n < 3 or np.ptp(xs) == 0 or np.ptp(ys) == 0:
        return {"n": n, "slope": np.nan, "intercept": np.nan, "r": np.nan, "p": np.nan}
    fit = stats.linregress(xs, ys)
    return {
        "n": n,
        "slope": float(fit.slope),
        "intercept": float(fit.intercept),
        "r": float(fit.rvalue),
        "p": float(fit.pvalue),
    }


def sentiment_scatter(
    frame: pd.DataFrame, title: str = "Daily sentiment vs abnormal return", max_points: int = 10_000
) -> go.Figure:
    """Columns ticker, date, mean_score (-1..1), ar (fraction), n_headlines: one colour per ticker,
    one OLS line over all points, r / p / n in the title.

    Beyond ``max_points`` sessions a fixed random sample is drawn (the fit and r use every point).
    """
    rows = frame.dropna(subset=["mean_score", "ar"]) if not frame.empty else frame
    if rows.empty:
        return empty_figure("no sessions with both a sentiment index and an abnormal return", title)
    fit = fit_line(rows["mean_score"], rows["ar"])
    many = len(rows) > 2000
    kind = go.Scattergl if many else go.Scatter
    suffix = ""
    shown = rows
    if len(rows) > max_points:
        shown = rows.sample(n=max_points, random_state=0)
        suffix = f"<br><sup>showing a random {max_points:,} of {len(rows):,} sessions; fit and r use all</sup>"
    fig = _base(f"{title} — r = {fit['r']:+.2f} (p = {fit['p']:.3g}, n = {fit['n']}){suffix}", height=480)
    for i, (ticker, part) in enumerate(shown.groupby("ticker", sort=True)):
        counts = part["n_headlines"].to_numpy() if "n_headlines" in part else np.full(len(part), np.nan)
        fig.add_trace(
            kind(
                x=part["mean_score"],
                y=100 * part["ar"],
                mode="markers",
                name=esc(ticker),
                marker=dict(size=6 if many else 8, opacity=0.75, color=COLORWAY[i % len(COLORWAY)]),
                customdata=np.column_stack([pd.to_datetime(part["date"]).dt.strftime("%Y-%m-%d"), counts]),
                hovertemplate=f"<b>{esc(ticker)}</b> %{{customdata[0]}}<br>sentiment %{{x:+.2f}} (%{{customdata[1]}} headline(s))"
                "<br>AR %{y:+.2f}%<extra></extra>",
            )
        )
    if np.isfinite(fit["slope"]):
        xs = np.array([rows["mean_score"].min(), rows["mean_score"].max()], dtype=float)
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=100 * (fit["intercept"] + fit["slope"] * xs),
                mode="lines",
                name="OLS fit",
                line=dict(color=BENCHMARK_COLOR, width=2, dash="dash"),
                hovertemplate=f"AR = {100 * fit['intercept']:+.2f}% + {100 * fit['slope']:+.2f}% × sentiment<extra></extra>",
            )
        )
    fig.add_hline(y=0, line=dict(color=MUTED, width=1))
    fig.add_vline(x=0, line=dict(color=MUTED, width=1))
    fig.update_xaxes(title_text="daily sentiment index (mean headline score, −1 … +1)", range=[-1.05, 1.05])
    fig.update_yaxes(title_text="abnormal return (%)")
    return fig


# --- overview ------------------------------------------------------------------------------------


def session_bars(session: pd.DataFrame, title: str = "Last session") -> go.Figure:
    """Return and AR (%) per ticker on one session, grouped bars: columns ticker, ret, ar."""
    if session.empty:
        return empty_figure("no prices yet", title)
    rows = session.sort_values("ret")
    fig = _base(
        title, height=380, barmode="group", legend=dict(orientation="h", y=1.02, x=1, xanchor="right", yanchor="bottom")
    )
    x = [esc(t) for t in rows["ticker"]]
    for column, name, color in (("ret", "return", "#1f5fa6"), ("ar", "abnormal return", "#e07b24")):
        if column in rows and rows[column].notna().any():
            values = 100 * rows[column].to_numpy(dtype=float)
            fig.add_trace(
                go.Bar(
                    x=x,
                    y=values,
                    name=name,
                    marker=dict(color=color),
                    customdata=values * 100,
                    hovertemplate=f"<b>%{{x}}</b> {name} %{{y:+.2f}}% (%{{customdata:+.0f}} bp)<extra></extra>",
                )
            )
    fig.update_yaxes(title_text="%")
    return fig
