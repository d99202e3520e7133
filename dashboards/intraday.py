"""The intraday chart of an event's session: each ticker's move from the last close before the news, minute by minute.

Pure: bars (``read.intraday_bars``) and the reaction rows (``read.intraday_reaction``) in, a figure out. The pre- and
post-market are shaded, the open is marked, and so is the announcement when it falls inside the session's day;
otherwise the title says when the news came.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go

from dashboards.figures import BENCHMARK_COLOR, COLORWAY, TEMPLATE, empty_figure, esc
from models.calendar import EXCHANGE_TZ
from models.intraday import regular_hours

SHADE = "rgba(120, 130, 140, 0.12)"


def intraday_chart(
    bars: pd.DataFrame,
    reaction: pd.DataFrame,
    day: object,
    announced_at: object = None,
    tickers: Sequence[str] | None = None,
    title: str = "The event's session, minute by minute",
) -> go.Figure:
    """Lines of ``tickers`` (default: all in ``bars``) as % moves from their reference price (the reaction's
    ``ref_price``, else the first bar's open), x in New York time; pre/post shaded, the open and the news marked."""
    if bars.empty:
        return empty_figure("No intraday bars for this session: ingest them (the ingest_intraday job).", title)
    names = list(tickers) if tickers else list(dict.fromkeys(bars["ticker"]))
    reference = {}
    if not reaction.empty:
        reference = reaction.drop_duplicates("ticker").set_index("ticker")["ref_price"].to_dict()
    benchmark = None if reaction.empty else str(reaction["benchmark"].iloc[0])
    if benchmark and benchmark not in names and benchmark in set(bars["ticker"]):
        names.append(benchmark)
    colors = {name: COLORWAY[i % len(COLORWAY)] for i, name in enumerate(names)}
    fig = go.Figure(
        layout=go.Layout(
            template=TEMPLATE,
            height=440,
            title=title,
            hovermode="x unified",
            yaxis=dict(title="move from the last close before the news", ticksuffix="%"),
            xaxis=dict(title="New York time"),
        )
    )
    for name in names:
        rows = bars[bars["ticker"] == name]
        if rows.empty:
            continue
        base = reference.get(name) or float(rows["open"].iloc[0])
        local = rows["ts"].dt.tz_convert(EXCHANGE_TZ).dt.tz_localize(None)
        fig.add_trace(
            go.Scatter(
                x=local,
                y=(rows["close"] / base - 1) * 100,
                mode="lines",
                name=esc(name),
                line=dict(
                    width=1.4,
                    color=BENCHMARK_COLOR if name == benchmark else colors[name],
                    dash="dot" if name == benchmark else "solid",
                ),
                hovertemplate=f"{esc(name)} %{{y:+.2f}}%<extra></extra>",
            )
        )
    opens, closes = (t.tz_convert(EXCHANGE_TZ).tz_localize(None) for t in regular_hours(pd.Timestamp(day)))
    first = bars["ts"].min().tz_convert(EXCHANGE_TZ).tz_localize(None)
    last = bars["ts"].max().tz_convert(EXCHANGE_TZ).tz_localize(None)
    if first < opens:
        fig.add_vrect(
            x0=first,
            x1=opens,
            fillcolor=SHADE,
            line_width=0,
            annotation_text="pre-market",
            annotation_position="top left",
        )
    if last >= closes:
        fig.add_vrect(
            x0=closes,
            x1=last,
            fillcolor=SHADE,
            line_width=0,
            annotation_text="post-market",
            annotation_position="top right",
        )
    fig.add_vline(
        x=opens, line=dict(color="#1d2730", width=1), annotation_text="open 09:30", annotation_position="bottom right"
    )
    if announced_at is not None and not pd.isna(announced_at):
        news = pd.Timestamp(announced_at).tz_convert(EXCHANGE_TZ).tz_localize(None)
        if first <= news <= last:
            fig.add_vline(
                x=news,
                line=dict(color="#c03b3b", width=2, dash="dash"),
                annotation_text=f"news {news:%H:%M}",
                annotation_position="top right",
            )
        else:
            fig.update_layout(
                title=f"{title}<br><sup>news announced {news:%Y-%m-%d %H:%M} New York time, "
                "before this session's bars</sup>"
            )
    return fig


def view_figure(view: dict | None, tickers: Sequence[str] | None = None) -> go.Figure:
    """The chart of ``read.intraday_view``'s answer (an empty figure saying why when there is nothing to draw)."""
    if view is None:
        return empty_figure("No such event.", "The event's session, minute by minute")
    day = pd.Timestamp(view["day0"])
    return intraday_chart(
        view["bars"],
        view["reaction"],
        day,
        view["announced_at"],
        tickers,
        title=f"{day:%Y-%m-%d}, minute by minute: move from the last close before the news",
    )
