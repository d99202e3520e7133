"""Static event report: one self-contained HTML file (plotly.js embedded, works offline) or PNG images.

A summary (the verdict, ``read.event_verdicts``), a methods paragraph (model, windows, which tests count and why),
the event explorer's figures (``figures.event_figures``, stamped "simulated" on demo data) and the tables, with the
tests' human names and one formatting of %, t and p (stars at 10/5/1 %). Every text from the warehouse is
HTML-escaped.
"""

from __future__ import annotations

import html
import inspect
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import SupportsFloat, TypeGuard

import numpy as np
import pandas as pd
from plotly.offline import get_plotlyjs

from dashboards import data, figures
from dashboards.intraday import view_figure
from models.event_study import significance
from models.event_study.study import EventStudy
from pipelines.warehouse.read import money

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
#summary li, #methods li { margin: 4px 0; }
"""
STARS = ((0.01, "***"), (0.05, "**"), (0.10, "*"))
"""p below each level gets its stars: *** 1 %, ** 5 %, * 10 %."""
MODELS = {
    "market": "the market model (each stock's OLS alpha and beta on {benchmark})",
    "market-adjusted": "market-adjusted returns (the stock's return minus {benchmark}'s)",
    "constant-mean": "the constant-mean model (each stock's mean return)",
    "factors": "a two-factor model (SPY and SMH)",
}


class ReportError(ValueError):
    """The report cannot be written (unknown event, empty warehouse, no image engine)."""


def _finite(value: object) -> TypeGuard[SupportsFloat]:
    """A number that is not NaN or infinite (booleans are not numbers here)."""
    return isinstance(value, (int, float, np.number)) and not isinstance(value, bool) and bool(np.isfinite(value))


def fmt_pct(fraction: object) -> str:
    """A return as signed percent with two decimals, "+1.23%" ("" when missing)."""
    return f"{100 * float(fraction):+.2f}%" if _finite(fraction) else ""


def fmt_stat(value: object) -> str:
    """A test statistic with two decimals, "-3.41" ("" when missing)."""
    return f"{float(value):.2f}" if _finite(value) else ""


def stars(p: object) -> str:
    """*** below 1 %, ** below 5 %, * below 10 %, else nothing."""
    return next((mark for level, mark in STARS if _finite(p) and float(p) < level), "")


def fmt_p(p: object) -> str:
    """A p-value with three decimals and its stars, "0.012 **", "<0.001 ***" ("" when missing)."""
    if not _finite(p):
        return ""
    shown = "<0.001" if float(p) < 0.001 else f"{float(p):.3f}"
    return f"{shown} {stars(p)}".rstrip()


def _cell(value: object) -> str:
    if isinstance(value, float):
        return "" if not np.isfinite(value) else f"{value:.2f}"
    return html.escape(str(value))


def _html_table(
    frame: pd.DataFrame,
    row_classes: list[str] | None = None,
    numeric: tuple[str, ...] = (),
    titles: dict[str, list[str]] | None = None,
) -> str:
    """``frame`` as a table: ``numeric`` columns (and numbers) right-aligned, ``titles`` per column a hover text per row."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for i, row in enumerate(frame.itertuples(index=False)):
        cls = f' class="{row_classes[i]}"' if row_classes else ""
        cells = []
        for column, v in zip(frame.columns, row, strict=True):
            number = column in numeric or (isinstance(v, (int, float, np.number)) and not isinstance(v, bool))
            title = (titles or {}).get(column)
            hover = f' title="{html.escape(title[i])}"' if title else ""
            align = ' class="num"' if number else ""
            cells.append(f"<td{align}{hover}>{_cell(v)}</td>")
        rows.append(f"<tr{cls}>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _tables(bundle: dict) -> dict[str, pd.DataFrame]:
    """The report's tables with every number already formatted (% and t two decimals, p three with stars)."""
    windows = bundle["windows"]
    per_firm = pd.DataFrame()
    if not windows.empty:
        firm = windows.pivot_table(index="ticker", columns="window", values=["car", "car_t", "car_p"], sort=False)
        labels = list(dict.fromkeys(windows["window"]))
        firm = firm.sort_values(("car", labels[0]))
        per_firm = pd.DataFrame({"ticker": firm.index})
        for label in labels:
            per_firm[f"CAR{label}"] = [fmt_pct(v) for v in firm[("car", label)]]
            per_firm[f"t{label}"] = [fmt_stat(v) for v in firm[("car_t", label)]]
            per_firm[f"p{label}"] = [fmt_p(v) for v in firm[("car_p", label)]]
        for column, values in _dollar_columns(bundle, labels).items():
            per_firm[column] = per_firm["ticker"].map(values).fillna("")
    tests = _ordered_tests(bundle["tests"])
    group = (
        pd.DataFrame(
            {
                "window": tests["window"],
                "test": [significance.display_label(t) for t in tests["test"]],
                "statistic": [fmt_stat(v) for v in tests["statistic"]],
                "p": [fmt_p(v) for v in tests["p_value"]],
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
    if "mean score" in sentiment:
        sentiment["mean score"] = [f"{v:+.2f}" if _finite(v) else "" for v in sentiment["mean score"]]
    return {"per_firm": per_firm, "group": group, "headlines": news, "sentiment": sentiment}


def _ordered_tests(tests: pd.DataFrame) -> pd.DataFrame:
    """The group tests, windows in the study's order and tests in the registry's within each."""
    if tests.empty:
        return tests
    windows = {w: i for i, w in enumerate(dict.fromkeys(tests["window"]))}
    rank = [(windows[w], significance.order(t)) for w, t in zip(tests["window"], tests["test"], strict=True)]
    return tests.iloc[sorted(range(len(tests)), key=rank.__getitem__)].reset_index(drop=True)


def _model(bundle: dict) -> str:
    """The expected-return model of the stored study (market when none is stored)."""
    estimates = bundle["estimates"]
    return str(next(iter(estimates["model"].dropna()), "market")) if "model" in estimates else "market"


def summary_html(verdicts: pd.DataFrame) -> str:
    """The verdict: one sentence per window (``read.event_verdicts``), or why there is none."""
    if verdicts is None or verdicts.empty:
        return (
            "<p class='muted'>No verdict: the event has no stored study (run <code>impact analyze</code>, or its "
            "tickers have no prices around day 0).</p>"
        )
    items = "".join(f"<li>{html.escape(str(sentence))}</li>" for sentence in verdicts["sentence"])
    return f"<ul>{items}</ul>"


def methods_html(bundle: dict) -> str:
    """How the numbers were made: the expected-return model and its estimation window, the event windows, and
    each test with when it is valid (firms sharing day 0: only cross-correlation-robust tests count)."""
    parameters = inspect.signature(EventStudy).parameters
    lo, hi = parameters["estimation_window"].default
    minimum = parameters["min_estimation_obs"].default
    described = MODELS.get(_model(bundle), _model(bundle)).format(benchmark=bundle["benchmark"])
    windows = list(dict.fromkeys(bundle["windows"]["window"])) if not bundle["windows"].empty else []
    aggregates = bundle["aggregates"]
    clustered = bool(aggregates["clustered"].any()) if "clustered" in aggregates and len(aggregates) else None
    if clustered is None:
        dependence = ""
    elif clustered:
        dependence = (
            " The event's firms share day 0, so their abnormal returns are cross-correlated: tests that ignore that "
            "overstate significance, and only the tests robust to cross-correlation below count for the group."
        )
    else:
        dependence = (
            " The event's firms have different day 0s, so cross-correlation does not bias the tests and all of them "
            "are valid."
        )
    robust = [t.display_label for t in significance.REGISTRY.values() if t.robust_to_clustering]
    plain = [t.display_label for t in significance.REGISTRY.values() if not t.robust_to_clustering]
    return (
        f"<p>Abnormal returns are daily returns minus {html.escape(described)}, estimated over trading days "
        f"[{lo},{hi}] before day 0 (at least {minimum} valid returns, else the firm is left out). Cumulative "
        f"abnormal returns (CAR) are summed over the event windows {html.escape(', '.join(windows) or 'none')}; each "
        f"firm's t uses the forecast-error-corrected variance, and p is two-sided.{html.escape(dependence)}</p>"
        f"<ul><li>Valid when firms share day 0 (robust to cross-correlation): {html.escape('; '.join(robust))}.</li>"
        f"<li>Valid only when the firms' event days differ (independent firms): {html.escape('; '.join(plain))}.</li>"
        "<li>p-values: *** below 1 %, ** below 5 %, * below 10 %.</li></ul>"
    )


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
    """The event's bundle (with ``sentiment``: per ticker over SENTIMENT_SESSIONS, and ``verdicts``) and the warehouse
    status, or ReportError naming what is missing."""
    store = data.open_store(warehouse_path, wait_s=30.0)
    try:
        bundle = data.event_bundle(store, event_id).value
        status = data.status(store).value
        if bundle is not None:
            bundle = {
                **bundle,
                "sentiment": data.event_sentiment(store, event_id, *SENTIMENT_SESSIONS).value,
                "verdicts": data.event_verdicts(store, event_id),
                "intraday": data.event_intraday(store, event_id).value,
            }
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
    figs = _figures(bundle, status)
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
        f"tickers {html.escape(', '.join(event['tickers']))} · {html.escape(_model(bundle))} model vs "
        f"{html.escape(bundle['benchmark'])}</p>",
        f"<p>{html.escape(event.get('description') or '')}</p>",
        "<h2>Summary</h2>",
        f"<div id='summary'>{summary_html(bundle.get('verdicts', pd.DataFrame()))}</div>",
        "<h2>Methods</h2>",
        f"<div id='methods'>{methods_html(bundle)}</div>",
    ]
    for name, fig in figs.items():
        parts.append(
            f"<h2>{html.escape({'prices': 'Price paths', 'ar': 'Day-0 abnormal returns', 'car': 'CAR paths', 'intraday': 'The event session, minute by minute'}[name])}</h2>"
        )
        parts.append(
            fig.to_html(
                full_html=False,
                include_plotlyjs=False,
                div_id=f"fig-{name}",
                config={"displaylogo": False, "responsive": True},
            )
        )
    parts.append("<h2>Per-firm cumulative abnormal returns (CAR, t, p)</h2>")
    numeric = tuple(c for c in tables["per_firm"].columns if c != "ticker")
    parts.append(
        _html_table(tables["per_firm"], numeric=numeric)
        if not tables["per_firm"].empty
        else "<p class='muted'>none</p>"
    )
    parts.append(dollar_total_html(bundle))
    parts.append("<h2>Group tests (robust to cross-correlation: valid when the firms share day 0)</h2>")
    stored = _ordered_tests(bundle["tests"])["test"] if len(bundle["tests"]) else []
    ids = {"test": [f"{t} (mart.event_tests.test)" for t in stored]} if len(stored) else {}
    parts.append(
        _html_table(tables["group"], numeric=("statistic", "p"), titles=ids)
        if not tables["group"].empty
        else "<p class='muted'>none</p>"
    )
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


def _figures(bundle: dict, status: dict) -> dict:
    """The event's figures as the report draws them, stamped "simulated" when the data is the demo's."""
    figs = {**figures.event_figures(bundle, titles="report"), "intraday": view_figure(bundle.get("intraday"))}
    return {name: figures.mark_simulated(fig) for name, fig in figs.items()} if status.get("demo") else figs


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
    for name, fig in _figures(bundle, status).items():
        path = folder / f"{stem}-{name}.png"
        try:
            fig.write_image(str(path), width=1100, height=fig.layout.height or 440, scale=1)
        except Exception as error:  # kaleido missing, or no browser for it
            raise ReportError(f"cannot write {path}: {error} (install kaleido and chromium)") from error
        written.append(path)
    return written


def _dollar_columns(bundle: dict, labels: list[str]) -> dict[str, pd.Series]:
    """Per ticker, formatted: the day-0 dollar change and each stored window's CAR in dollars (the dollar marts)."""
    columns: dict[str, pd.Series] = {}
    dollars, windows = bundle.get("dollars"), bundle.get("dollar_windows")
    if dollars is not None:
        columns["$ day 0"] = dollars.set_index("ticker")["dollar_change"].map(money)
    if windows is not None:
        for label in labels:
            chosen = windows.loc[windows["window"] == label]
            if len(chosen):
                columns[f"$ CAR{label}"] = chosen.set_index("ticker")["dollar_abnormal"].map(money)
    return columns


def dollar_total_html(bundle: dict) -> str:
    """The event's own tickers together on day 0: market value moved and its abnormal part, or why it is unknown."""
    dollars = bundle.get("dollars")
    own = dollars[dollars["own"]] if dollars is not None else pd.DataFrame()
    if own.empty or own["dollar_change"].isna().all():
        return "<p class='muted' id='dollar-total'>Market value: shares outstanding unknown for these tickers.</p>"
    valued = own.dropna(subset=["dollar_change"])
    text = (
        f"Total of the event's {len(valued)} of {len(own)} tickers with a market value: day 0 "
        f"{money(valued['dollar_change'].sum())} ({money(valued['dollar_abnormal'].sum())} abnormal)"
    )
    missing = own[own["dollar_change"].isna()]
    if len(missing):
        text += "; no market value for " + ", ".join(f"{r.ticker} ({r.reason})" for r in missing.itertuples())
    return f"<p id='dollar-total'>{html.escape(text)}.</p>"
