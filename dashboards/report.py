"""Static event report: one self-contained HTML file (plotly.js embedded, works offline) or PNG images.

Draws the event explorer's figures (``figures.event_figures``) from the same read model as the app.
Every text from the warehouse is HTML-escaped.
"""

from __future__ import annotations

import html
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from plotly.offline import get_plotlyjs

from dashboards import data, figures

FORMATS = ("html", "png")
SENTIMENT_SESSIONS = (-1, 1)
"""Sessions around day0 of the per-ticker sentiment table: those of the headlines the report lists."""
STYLE = """
body { font-family: Inter, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif; color: #1d2730; margin: 24px auto; max-width: 1200px; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 17px; margin-top: 28px; }
.muted { color: #5f6b73; font-size: 13px; }
.demo { background: #fff3cd; color: #6b4e00; border: 1px solid #e6c65c; padding: 8px 12px; border-radius: 4px; }
table { border-collapse: collapse; font-size: 13px; margin: 8px 0; }
th { text-align: left; border-bottom: 2px solid #dde3e8; padding: 4px 8px; color: #5f6b73; }
td { border-bottom: 1px solid #eef1f3; padding: 4px 8px; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.negative td:first-child { border-left: 5px solid #c03b3b; } tr.positive td:first-child { border-left: 5px solid #2a9d57; }
tr.neutral td:first-child { border-left: 5px solid #7f8790; } tr.unscored td:first-child { border-left: 5px solid #b9c0c7; }
"""


class ReportError(ValueError):
    """The report cannot be written (unknown event, empty warehouse, no image engine)."""


def _cell(value: object) -> str:
    if isinstance(value, float):
        return "" if not np.isfinite(value) else f"{value:.4f}"
    return html.escape(str(value))


def _html_table(frame: pd.DataFrame, row_classes: list[str] | None = None) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for i, row in enumerate(frame.itertuples(index=False)):
        cls = f' class="{row_classes[i]}"' if row_classes else ""
        cells = "".join(
            f'<td class="num">{_cell(v)}</td>'
            if isinstance(v, (int, float, np.number)) and not isinstance(v, bool)
            else f"<td>{_cell(v)}</td>"
            for v in row
        )
        rows.append(f"<tr{cls}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _tables(bundle: dict) -> dict[str, pd.DataFrame]:
    windows = bundle["windows"]
    firm = (
        windows.pivot_table(index="ticker", columns="window", values=["car", "car_t", "car_p"], sort=False)
        if not windows.empty
        else None
    )
    per_firm = pd.DataFrame()
    if firm is not None:
        for label in dict.fromkeys(windows["window"]):
            per_firm[f"CAR{label} %"] = (100 * firm[("car", label)]).round(2)
            per_firm[f"t{label}"] = firm[("car_t", label)].round(2)
            per_firm[f"p{label}"] = firm[("car_p", label)].round(4)
        per_firm = per_firm.sort_values(per_firm.columns[0]).rename_axis("ticker").reset_index()
    tests = bundle["tests"]
    group = (
        pd.DataFrame(
            {
                "window": tests["window"],
                "test": tests["test"],
                "statistic": tests["statistic"].round(3),
                "p": tests["p_value"].round(4),
                "n": tests["n"],
                "robust to cross-correlation": tests["adjusts_cross_correlation"].map(lambda b: "yes" if b else "no"),
            }
        )
        if not tests.empty
        else pd.DataFrame()
    )
    headlines = bundle["headlines"]
    news = (
        pd.DataFrame(
            {
                "published (ET)": pd.to_datetime(headlines["published_at"], utc=True)
                .dt.tz_convert("America/New_York")
                .dt.strftime("%Y-%m-%d %H:%M"),
                "session": pd.to_datetime(headlines["session_date"]).dt.strftime("%Y-%m-%d"),
                "sentiment per ticker": [format_scores(scores) for scores in headlines["scores"]],
                "headline": headlines["title"],
                "publisher": headlines["publisher"].fillna(""),
                "tickers": [", ".join(t) for t in headlines["tickers"]],
            }
        )
        if not headlines.empty
        else pd.DataFrame()
    )
    sentiment = bundle["sentiment"].rename(columns={"mean_score": "mean score"})
    sentiment["mean score"] = sentiment["mean score"].round(3)
    return {"per_firm": per_firm, "group": group, "headlines": news, "sentiment": sentiment}


def format_scores(scores: list[dict]) -> str:
    """ "NVDA negative -0.82; META positive +0.40 (indirect)": each ticker's own sentiment, or "unscored"."""
    return (
        "; ".join(
            f"{s['ticker']} {s['label']} {s['score']:+.2f}" + ("" if s["relevance"] == "direct" else " (indirect)")
            for s in scores
        )
        or "unscored"
    )


def load_event(event_id: str, warehouse_path: str | Path | None = None) -> tuple[dict, dict]:
    """The event's bundle (with ``sentiment``: per ticker over SENTIMENT_SESSIONS) and the warehouse status, or
    ReportError naming what is missing."""
    store = data.open_store(warehouse_path, wait_s=30.0)
    try:
        bundle = data.event_bundle(store, event_id).value
        status = data.status(store).value
        if bundle is not None:
            bundle = {**bundle, "sentiment": data.event_sentiment(store, event_id, *SENTIMENT_SESSIONS).value}
    except data.WarehouseBusy as error:
        raise ReportError(str(error)) from error
    if bundle is None:
        known = data.events(store).value["event_id"].tolist()
        if not known:
            raise ReportError(
                f"no events in {store.path}: run `impact analyze` (or `impact ingest`, which ends with it)"
            )
        raise ReportError(
            f"no event {event_id!r} in {store.path}; known events: {', '.join(known[:20])}"
            f"{' ...' if len(known) > 20 else ''} (all of them: `impact events`)"
        )
    return bundle, status


def render_html(bundle: dict, status: dict) -> str:
    """The report as one HTML document with plotly.js inline."""
    event = bundle["event"]
    figs = figures.event_figures(bundle, titles="report")
    tables = _tables(bundle)
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(event['name'])} — event report</title><style>{STYLE}</style>",
        f"<script type='text/javascript'>{get_plotlyjs()}</script></head><body>",
    ]
    if status.get("demo"):
        parts.append(
            "<p class='demo' id='demo-banner'>SIMULATED DEMO DATA — prices and headlines are simulated "
            "(source = 'demo'), not market data.</p>"
        )
    parts += [
        f"<h1>{html.escape(event['name'])}</h1>",
        f"<p class='muted'>event {html.escape(event['event_id'])} · day 0 {pd.Timestamp(event['day0']):%Y-%m-%d} "
        f"({html.escape(str(event['day0_rule']))}) · {html.escape(str(event['kind']))} · {html.escape(str(event['origin']))} · "
        f"tickers {html.escape(', '.join(event['tickers']))} · market model vs {html.escape(bundle['benchmark'])}</p>",
        f"<p>{html.escape(event.get('description') or '')}</p>",
    ]
    for name, fig in figs.items():
        parts.append(
            f"<h2>{html.escape({'prices': 'Price paths', 'ar': 'Day-0 abnormal returns', 'car': 'CAR paths'}[name])}</h2>"
        )
        parts.append(
            fig.to_html(
                full_html=False,
                include_plotlyjs=False,
                div_id=f"fig-{name}",
                config={"displaylogo": False, "responsive": True},
            )
        )
    parts.append("<h2>Per-firm CAR tests (market model, forecast-error-corrected t)</h2>")
    parts.append(_html_table(tables["per_firm"]) if not tables["per_firm"].empty else "<p class='muted'>none</p>")
    parts.append("<h2>Group tests</h2>")
    parts.append(_html_table(tables["group"]) if not tables["group"].empty else "<p class='muted'>none</p>")
    lo, hi = SENTIMENT_SESSIONS
    parts.append(
        f"<h2>Headline sentiment per ticker, sessions {lo:+d}..{hi:+d} (each headline scored for each company it "
        "concerns)</h2>"
    )
    parts.append(
        _html_table(tables["sentiment"]) if not tables["sentiment"].empty else "<p class='muted'>none scored</p>"
    )
    parts.append("<h2>Headlines (time order)</h2>")
    if not status.get("sentiment_model"):
        parts.append("<p class='muted'>Sentiment not computed yet: headlines are unscored.</p>")
    labels = [x if x in ("negative", "neutral", "positive") else "unscored" for x in bundle["headlines"]["sentiment"]]
    parts.append(
        _html_table(tables["headlines"], labels) if not tables["headlines"].empty else "<p class='muted'>none</p>"
    )
    parts.append(
        f"<p class='muted'>Generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by ai-market-impact.</p></body></html>"
    )
    return "".join(parts)


def _image_engine_env() -> None:
    """Point kaleido (choreographer) at Debian's chromium when no browser is configured."""
    if not os.environ.get("BROWSER_PATH"):
        for candidate in ("chromium", "chromium-browser", "google-chrome"):
            found = shutil.which(candidate)
            if found:
                os.environ["BROWSER_PATH"] = found
                break


def build_report(
    event_id: str, out: str | Path, format: str = "html", warehouse_path: str | Path | None = None
) -> list[Path]:
    """Write the report of ``event_id``; returns the files written.

    html: ``out`` is the HTML file. png: one image per figure, ``<out stem>-<figure>.png`` beside
    ``out`` (or inside ``out`` when it is a folder).
    """
    if format not in FORMATS:
        raise ReportError(f"unknown format {format!r}; choose one of {', '.join(FORMATS)}")
    bundle, status = load_event(event_id, warehouse_path)
    target = Path(out)
    if format == "html":
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(render_html(bundle, status), encoding="utf-8")
        return [target]
    folder, stem = (target, event_id) if target.is_dir() or not target.suffix else (target.parent, target.stem)
    folder.mkdir(parents=True, exist_ok=True)
    _image_engine_env()
    written = []
    for name, fig in figures.event_figures(bundle, titles="report").items():
        path = folder / f"{stem}-{name}.png"
        try:
            fig.write_image(str(path), width=1100, height=fig.layout.height or 440, scale=1)
        except Exception as error:  # kaleido missing, or no browser for it
            raise ReportError(f"cannot write {path}: {error} (install kaleido and chromium)") from error
        written.append(path)
    return written
