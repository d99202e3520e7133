"""The ``impact`` command line: the face over ingestion, the warehouse and the Dagster UI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import warnings
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from pipelines import warehouse
from pipelines.commands import intraday as intraday_command
from pipelines.commands.dashboard import dashboard as dashboard_command
from pipelines.commands.dashboard import report as report_command
from pipelines.commands.events import events_group
from pipelines.commands.handler import ImpactGroup
from pipelines.commands.inputs import check_event, check_sessions, check_tickers
from pipelines.commands.sentiment import app as sentiment_app
from pipelines.commands.sql import schema as schema_command
from pipelines.commands.sql import sql as sql_command
from pipelines.errors import ImpactError, InputError, RunFailed, WarehouseError
from pipelines.serve import serve as serve_command
from pipelines.settings import INTRADAY_SOURCES, NEWS_SOURCES, PRICE_SOURCES
from pipelines.universe import BENCHMARKS, DEFAULT_TICKERS, MARKET, split_names

# Dagster, pandas and the sources load inside the commands that use them (tests/test_cli_imports.py):
# `impact --help` and `impact sql` start in a fraction of a second.
if TYPE_CHECKING:
    import pandas as pd

    from pipelines.runner import RunOutcome

warnings.filterwarnings("ignore", message=".*is currently in beta.*")
app = typer.Typer(help="ai-market-impact: what did this news do to these stocks, and was it significant?",
                  no_args_is_help=True, pretty_exceptions_enable=False, cls=ImpactGroup)
console = Console(width=None if sys.stdout.isatty() else 160)

DEEPSEEK_EVENT = "deepseek-r1-release"



@app.callback()
def main(
    debug: Annotated[bool, typer.Option("--debug", help="On failure, print the full trace (also IMPACT_DEBUG=1).")] = False,
) -> None:
    """Options of every command (--debug); the handler in pipelines/commands/handler.py reads them."""


WarehouseOption = Annotated[
    Path | None,
    typer.Option("--warehouse", help="DuckDB file (default: $IMPACT_WAREHOUSE or data/warehouse.duckdb)."),
]


def _parse_tickers(value: str | None) -> list[str]:
    return [t.upper() for t in split_names(value)] or list(DEFAULT_TICKERS)


Step = tuple[str, str, date, date, dict]
"""(label, job, start, end, resources) of one Dagster run."""


def _run_steps(steps: list[Step], warehouse_file: Path | None) -> list[tuple[str, RunOutcome]]:
    """Run each step as one Dagster run, with a progress line per step; stop at the first failure."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from pipelines.runner import run_job

    outcomes = []
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console) as progress:
        for label, job, start, end, resources in steps:
            task = progress.add_task(f"{label} {start}..{end}", total=1)
            try:
                # Dagster's console would print each failure's trace: the CLI says it in two lines instead.
                outcome = run_job(job, start, end, warehouse_file=warehouse_file, console_level="CRITICAL", **resources)
            except ImpactError as error:  # no run was started: nothing to record or report
                progress.update(task, completed=1, description=f"{label} {start}..{end} [red]not started[/]")
                progress.stop()
                raise RunFailed(f"{label.strip()} failed: {error}") from error
            status = "[green]ok[/]" if outcome.success else "[red]failed[/]"
            done = f"{outcome.metadata['rows']} rows" if job.startswith("ingest") and "rows" in outcome.metadata else f"{outcome.materialized} assets"
            progress.update(task, completed=1, description=f"{label} {start}..{end} {status} ({done})")
            outcomes.append((label.strip(), outcome))
            if not outcome.success:
                break
    for label, outcome in outcomes:
        for message in outcome.warnings:
            console.print(f"[yellow]{label} warning[/]: {message}", soft_wrap=True)
    return outcomes


def _fail(label: str, outcome: RunOutcome) -> NoReturn:
    """End a failed step in two lines: what failed and why (the step's own error), then what the warehouse holds
    and what to do."""
    if outcome.job == "analyze":
        advice = "The ingested data is kept; fix the cause above, then run `impact analyze`."
    else:
        advice = f"Nothing was written by this {outcome.job} run; fix the cause above and run the command again."
    raise RunFailed(f"{label} failed: {outcome.error} (Dagster run {outcome.run_id[:8]})\n{advice}")


def _report(outcomes: list[tuple[str, RunOutcome]], warehouse_file: Path | None) -> None:
    """Print checks and the warehouse overview; exit non-zero if a run failed."""
    from pipelines.summary import analysis_line, dollar_line, event_report, warehouse_overview

    for label, outcome in outcomes:
        if not outcome.success:
            _fail(label, outcome)
    checks = Table(title="Data-quality checks")
    checks.add_column("job")
    checks.add_column("check")
    checks.add_column("result")
    for _, outcome in outcomes:
        for name, passed in sorted(outcome.checks.items()):
            checks.add_row(outcome.job, name, "[green]pass[/]" if passed else "[yellow]fail[/]")
    console.print(checks)
    overview = warehouse_overview(warehouse_file)
    _print_frame("Prices in the warehouse", overview["prices"])
    _print_frame("Headlines in the warehouse", overview["headlines"])
    if not overview["deepseek"].empty:
        _print_frame("2025-01-27, the DeepSeek-R1 sell-off: close-to-close returns", overview["deepseek"])
    if any(o.job == "analyze" for _, o in outcomes):
        console.print(analysis_line(warehouse_file), soft_wrap=True)
        report = event_report(DEEPSEEK_EVENT, warehouse_file)
        if not report["event"].empty:
            title = f"{report['event']['name'][0]} (day0 {report['event']['day0'][0]:%Y-%m-%d}): market model vs SPY"
            if report["tickers"].empty:
                console.print(f"{title}: no firm could be studied ({report['reason'] or 'none of its tickers has prices'})",
                              soft_wrap=True)
            else:
                _print_frame(title, report["tickers"])
                line = dollar_line(DEEPSEEK_EVENT, warehouse_file)
                if line:
                    console.print(line, soft_wrap=True)
                for sentence in report["verdicts"]:
                    console.print(f"Verdict {sentence}", soft_wrap=True, highlight=False)
                _print_frame("Group tests, CAR[-1,+1] (robust_to_clustering: valid when firms share day0)", report["tests"])
                if not report["sentiment"].empty:
                    _print_frame("Headline sentiment FOR each ticker, sessions -5..0 (relevance-weighted mean score, -1..1)",
                                 report["sentiment"])
    console.print(f"Warehouse: {warehouse.warehouse_path(warehouse_file)}")


def _print_frame(title: str, frame: pd.DataFrame) -> None:
    import pandas as pd

    frame = frame.copy()
    for column in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[column]) and (frame[column].dt.normalize() == frame[column]).all():
            frame[column] = frame[column].dt.strftime("%Y-%m-%d")
        elif pd.api.types.is_float_dtype(frame[column]):
            digits = 4 if str(column).startswith("p") else 2
            frame[column] = frame[column].map(lambda v, d=digits: "" if pd.isna(v) else f"{v:.{d}f}")
    table = Table(title=title)
    for column in frame.columns:
        table.add_column(str(column), justify="right" if pd.api.types.is_numeric_dtype(frame[column]) else "left")
    for row in frame.itertuples(index=False):
        table.add_row(*[str(v) for v in row])
    console.print(table)


@app.command()
def demo(warehouse_file: WarehouseOption = None) -> None:
    """Ingest the embedded SIMULATED demo market and headlines for the whole range, then summarise."""
    from pipelines.resources import NewsSourceResource, PriceSourceResource
    from pipelines.sources.demo_intraday import WINDOW as INTRADAY_WINDOW
    from pipelines.sources.demo_market import DEMO_END, DEMO_START

    console.print(f"[bold]Demo market[/]: simulated prices and headlines (source = demo), {DEMO_START}..{DEMO_END}")
    steps: list[Step] = [
        ("prices ", "ingest_prices", DEMO_START, DEMO_END, {"price_source": PriceSourceResource(source="demo")}),
        ("headlines", "ingest_news", DEMO_START, DEMO_END, {"news_source": NewsSourceResource(sources=["demo"])}),
        ("intraday ", "ingest_intraday", *INTRADAY_WINDOW, {}),
        ("analysis ", "analyze", DEMO_START, DEMO_END, {}),
    ]
    _report(_run_steps(steps, warehouse_file), warehouse_file)
    intraday_command.print_reaction(console, DEEPSEEK_EVENT, warehouse_file, required=False, compact=True)


def _day(text: str, option: str) -> date:
    """A ``YYYY-MM-DD`` option value as a date, or a usage error naming the option."""
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise typer.BadParameter(f"{option} must be YYYY-MM-DD: {error}") from error


def _dates(start: str, end: str) -> tuple[date, date]:
    """``--start``/``--end`` as dates, or a usage error saying what is wrong."""
    first, last = _day(start, "--start"), _day(end, "--end")
    if last < first:
        raise typer.BadParameter(f"--end {last} is before --start {first}")
    return first, last


ANALYSIS = "events, study marts and sentiment"


@app.command()
def ingest(
    start: Annotated[str, typer.Option(help="First date, YYYY-MM-DD.")],
    end: Annotated[str, typer.Option(help="Last date, YYYY-MM-DD (inclusive).")],
    source: Annotated[str, typer.Option(help=f"Price source: {', '.join(PRICE_SOURCES)}.")] = "demo",
    path: Annotated[Path | None, typer.Option(help="Folder or file for --source files.")] = None,
    tickers: Annotated[str | None, typer.Option(help="Comma-separated tickers (default: the AI universe + SPY QQQ SMH).")] = None,
    news_source: Annotated[str | None, typer.Option(help=f"News sources, comma-separated: {', '.join(NEWS_SOURCES)} (default: the price source if it has news, else none).")] = None,
    news_path: Annotated[Path | None, typer.Option(help="Folder or file for --news-source files.")] = None,
    intraday_source: Annotated[str | None, typer.Option(help=f"Also ingest intraday bars (pre- and post-market too): {', '.join(INTRADAY_SOURCES)}.")] = None,
    intraday_path: Annotated[Path | None, typer.Option(help="Folder or file for --intraday-source files.")] = None,
    interval: Annotated[str, typer.Option(help="Intraday bar interval, e.g. 1m or 5m (Yahoo keeps 1m bars 30 days).")] = "1m",
    run_analysis: Annotated[bool, typer.Option("--analyze/--no-analyze", help=f"Then run the analyze job ({ANALYSIS}), as `impact analyze` does.")] = True,
    warehouse_file: WarehouseOption = None,
) -> None:
    """Ingest prices (and headlines, and intraday bars) for a date range as one Dagster run per dataset, then analyse
    the warehouse."""
    from pipelines.assets.intraday import IntradaySourceResource
    from pipelines.resources import NewsSourceResource, PriceSourceResource
    from pipelines.sources.intraday import INTERVAL_MINUTES

    first, last = _dates(start, end)
    if source not in PRICE_SOURCES:
        raise typer.BadParameter(f"unknown source {source!r}; choose one of {', '.join(PRICE_SOURCES)}")
    names = _parse_tickers(tickers)
    check_sessions(first, last)
    check_tickers(source, names)
    news = split_names(news_source or (source if source in ("demo", "yahoo") else ""))
    unknown = [n for n in news if n not in NEWS_SOURCES]
    if unknown:
        raise typer.BadParameter(f"unknown news source(s) {unknown}; choose from {', '.join(NEWS_SOURCES)}")
    if intraday_source is not None and intraday_source not in INTRADAY_SOURCES:
        raise typer.BadParameter(f"unknown intraday source {intraday_source!r}; choose one of {', '.join(INTRADAY_SOURCES)}")
    if interval not in INTERVAL_MINUTES:
        raise typer.BadParameter(f"unknown interval {interval!r}; choose one of {', '.join(INTERVAL_MINUTES)}")
    steps: list[Step] = [(f"prices ({source})", "ingest_prices", first, last,
                          {"price_source": PriceSourceResource(source=source, path=str(path) if path else None, tickers=names)})]
    if news:
        steps.append((f"headlines ({', '.join(news)})", "ingest_news", first, last, {
            "news_source": NewsSourceResource(sources=news, path=str(news_path) if news_path else None, tickers=names)
        }))
    if intraday_source:
        steps.append((f"intraday ({intraday_source}, {interval})", "ingest_intraday", first, last, {
            "intraday_source": IntradaySourceResource(source=intraday_source, interval=interval, tickers=names,
                                                      path=str(intraday_path) if intraday_path else None)
        }))
    if run_analysis:
        steps.append(("analysis", "analyze", first, last, {}))
    _report(_run_steps(steps, warehouse_file), warehouse_file)
    if not run_analysis:
        console.print(f"Not analysed (--no-analyze): run `impact analyze` to compute {ANALYSIS}.")


def _price_span(warehouse_file: Path | None) -> tuple[date, date]:
    """First and last price date in the warehouse, or an error saying to ingest first."""
    import duckdb
    import pandas as pd

    target = warehouse.warehouse_path(warehouse_file)
    try:
        span = warehouse.query("SELECT min(date) AS first, max(date) AS last FROM core.prices", path=target)
    except duckdb.Error as error:  # a DuckDB file without the project's tables
        raise WarehouseError(f"cannot read core.prices in {target} ({error}): run `impact ingest` first") from error
    if pd.isna(span["first"][0]):
        raise WarehouseError(f"no prices in {target}: run `impact ingest --start ... --end ...` first")
    return pd.Timestamp(span["first"][0]).date(), pd.Timestamp(span["last"][0]).date()


@app.command()
def analyze(
    start: Annotated[str | None, typer.Option(help="YYYY-MM-DD: refuse to run unless the warehouse has prices between --start and --end.")] = None,
    end: Annotated[str | None, typer.Option(help="YYYY-MM-DD, inclusive (see --start).")] = None,
    warehouse_file: WarehouseOption = None,
) -> None:
    """Compute events, the event-study marts and headline sentiment from what the warehouse holds.

    The analysis always covers the whole warehouse (estimation windows reach 250 sessions back);
    --start/--end make it refuse to run unless the warehouse has prices in that range.
    """
    first, last = _price_span(warehouse_file)
    lo = _day(start, "--start") if start else first
    hi = _day(end, "--end") if end else last
    if lo > last or hi < first:
        raise InputError(f"analyze failed: no prices between {lo} and {hi}; the warehouse holds {first}..{last}. "
                         f"Run `impact ingest --start {lo} --end {hi}` first.")
    if hi < lo:
        raise typer.BadParameter(f"--end {hi} is before --start {lo}")
    _report(_run_steps([("analysis", "analyze", first, last, {})], warehouse_file), warehouse_file)


def _events_frame(warehouse_file: Path | None) -> pd.DataFrame:
    """Events from the warehouse (curated + detected) when it has them, else the curated catalogue."""
    from pipelines.catalog import load_catalog
    from pipelines.warehouse import read

    if warehouse.warehouse_path(warehouse_file).exists():
        with warehouse.reader(warehouse_file) as con:
            frame = read.events(con).sort_values(["day0", "event_id"], ignore_index=True)
        if not frame.empty:
            return frame[["event_id", "name", "kind", "origin", "day0", "day0_rule", "tickers"]]
    catalog = load_catalog().assign(origin="curated")
    return catalog[["event_id", "name", "kind", "origin", "day0", "day0_rule", "tickers"]]


FORMATS = ("table", "json", "csv", "parquet")
FormatOption = Annotated[str, typer.Option("--format", help="table, json, csv or parquet (parquet needs --out).")]
OutOption = Annotated[
    Path | None, typer.Option("--out", help="Write the json, csv or parquet output to this file (default: stdout).")
]
ForceOption = Annotated[bool, typer.Option("--force", help="Replace an existing --out file.")]


def _check_format(output: str, out: Path | None) -> None:
    """Refuse an unknown --format, parquet without --out, and --out with the table format."""
    if output not in FORMATS:
        raise typer.BadParameter(f"unknown format {output!r}; use {', '.join(FORMATS)}", param_hint="--format")
    if output == "parquet" and out is None:
        raise InputError("--format parquet writes a file: add --out FILE.parquet")
    if output == "table" and out is not None:
        raise InputError("--out writes json, csv or parquet: add --format json, csv or parquet")


def _emit(
    output: str,
    out: Path | None,
    force: bool,
    warehouse_file: Path | None,
    *,
    payload: dict | None = None,
    frame: pd.DataFrame | None = None,
) -> None:
    """Print or write (through pipelines.outputs, never over data) the JSON ``payload`` or the tidy ``frame``."""
    from pipelines.outputs import output_file, write_output

    if output == "json":
        text = json.dumps(payload, indent=2, allow_nan=False, ensure_ascii=False) + "\n"
    elif output == "csv":
        assert frame is not None
        text = frame.to_csv(index=False)
    else:
        assert frame is not None and out is not None
        with output_file(out, force=force, warehouse_file=warehouse_file) as temporary:
            frame.to_parquet(temporary, index=False)
        typer.echo(f"wrote {len(frame)} rows to {out}", err=True)
        return
    if out is None:
        typer.echo(text, nl=False)
    else:
        write_output(out, text, force=force, warehouse_file=warehouse_file)
        typer.echo(f"wrote {out}", err=True)


def events(
    detected: Annotated[bool, typer.Option(help="Include events detected from abnormal returns.")] = False,
    output: FormatOption = "table",
    out: OutOption = None,
    force: ForceOption = False,
    warehouse_file: WarehouseOption = None,
) -> None:
    """List the event catalogue with each event's aligned day0 (full ids: `impact study --event ID` takes them)."""
    import pandas as pd

    _check_format(output, out)
    frame = _events_frame(warehouse_file)
    if not detected:
        frame = frame[frame["origin"] != "detected"]
    frame = frame.assign(day0=pd.to_datetime(frame["day0"]).dt.strftime("%Y-%m-%d")).reset_index(drop=True)
    frame["tickers"] = frame["tickers"].map(list)
    if output == "json":
        records = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
        _emit(output, out, force, warehouse_file, payload={"schema_version": "events.v1", "events": records})
    elif output in ("csv", "parquet"):
        _emit(output, out, force, warehouse_file, frame=frame.assign(tickers=frame["tickers"].map(" ".join)))
    else:
        table = Table(title=f"{len(frame)} events")
        widest = int(frame["event_id"].str.len().max()) if len(frame) else 8
        table.add_column("event_id", no_wrap=True, min_width=widest)
        for column in ("name", "kind", "origin", "day0", "day0_rule", "tickers"):
            table.add_column(column, no_wrap=column in ("day0", "kind", "origin"))
        for row in frame.itertuples(index=False):
            table.add_row(row.event_id, row.name, row.kind, row.origin, row.day0, str(row.day0_rule), " ".join(row.tickers))
        console.print(table)


def _parse_window(text: str) -> tuple[int, int]:
    try:
        start, end = (int(part) for part in text.split(","))
    except ValueError as error:
        raise typer.BadParameter(f"a window is START,END in trading days, e.g. -1,1; got {text!r}") from error
    if end < start:
        raise typer.BadParameter(f"window {text!r} ends before it starts")
    return start, end


def _adhoc_event(at: str | None, tickers: str | None, stocks: list[str]) -> dict:
    """The event of `impact study --at ... --tickers ...`: day 0 by the catalogue's rule (the first session at or
    after the news; after the close, the next)."""
    from models.calendar import align_to_session
    from pipelines.catalog import parse_announced
    from pipelines.study_answer import check_stock_tickers

    if not at or not tickers:
        raise InputError(f"an ad-hoc study needs both --at and --tickers (missing {'--tickers' if at else '--at'})")
    try:
        announced = parse_announced(at)
        day0 = align_to_session(announced, "next")
    except ValueError as error:
        raise InputError(f"--at {at!r}: {error}") from None
    firms = check_stock_tickers(tickers, stocks, "--tickers")
    return {"event_id": None, "name": f"news at {at} about {', '.join(firms)}", "day0": day0.date(),
            "day0_rule": "next", "announced_at": announced.tz_convert("UTC").isoformat(), "tickers": firms,
            "origin": "ad-hoc"}


@app.command()
def study(
    event: Annotated[str | None, typer.Option(help="event_id (see `impact events`); or --at with --tickers.")] = None,
    at: Annotated[
        str | None,
        typer.Option(help="Ad-hoc study of news in no catalogue: when it became public, e.g. "
                          "'2025-01-27 09:00 America/New_York' (day 0 aligned like the catalogue's)."),
    ] = None,
    tickers: Annotated[str | None, typer.Option(help="Ad-hoc study: the stocks the news is about, e.g. NVDA,MSFT.")] = None,
    sample: Annotated[
        str,
        typer.Option(help="event: the event's tickers (other stocks reported apart as spillovers); universe: every "
                          "stock as one sample; or T1,T2: those tickers."),
    ] = "event",
    model: Annotated[str, typer.Option(help="market, market-adjusted, constant-mean or factors (SPY + SMH).")] = "market",
    benchmark: Annotated[str, typer.Option(help="Benchmark ticker for market / market-adjusted.")] = MARKET,
    window: Annotated[list[str] | None, typer.Option(help="START,END in trading days; repeatable. Default: 0,0 and -1,1.")] = None,
    output: FormatOption = "table",
    out: OutOption = None,
    force: ForceOption = False,
    intraday: Annotated[bool, typer.Option("--intraday", help="The reaction in event time from intraday bars, per ticker.")] = False,
    warehouse_file: WarehouseOption = None,
) -> None:
    """Event study of one event on the warehouse's prices: a verdict per window, per-ticker AR(0), CARs with t and p,
    group tests; the event's own tickers, the other stocks reported apart (spillovers).

    Read from the stored study (the event-study marts) when it holds the model, benchmark, windows and sample asked
    for; otherwise re-fitted from core.prices, and the output says why.
    """
    import pandas as pd

    from pipelines import study as studies
    from pipelines import study_answer as answers
    from pipelines.warehouse import read

    if intraday:
        if event is None:
            raise InputError("--intraday needs --event ID (see `impact events`)")
        return intraday_command.print_reaction(console, event, warehouse_file)
    if model not in ("market", "market-adjusted", "constant-mean", "factors"):
        raise typer.BadParameter(f"unknown model {model!r}")
    _check_format(output, out)
    windows = [_parse_window(w) for w in (window or ["0,0", "-1,1"])]
    studies.check_windows(windows)
    adhoc = at is not None or tickers is not None
    if adhoc and event is not None:
        raise InputError("give --event ID, or --at and --tickers for news in no catalogue, not both")
    if not adhoc and event is None:
        raise InputError("give --event ID (see `impact events`), or --at and --tickers for news in no catalogue")
    if event is not None:
        catalogue = _events_frame(warehouse_file).set_index("event_id")
        check_event(event, catalogue.index)
    with warehouse.reader(warehouse_file) as con:
        stocks = [t for t in read.tickers(con)["ticker"] if t not in BENCHMARKS]
        if adhoc:
            info = _adhoc_event(at, tickers, stocks)
        else:
            row = catalogue.loc[event]
            info = {"event_id": event, "name": row["name"], "day0": pd.Timestamp(row["day0"]).date(),
                    "day0_rule": row["day0_rule"], "announced_at": None, "tickers": list(row["tickers"]),
                    "origin": row["origin"]}
        kind, chosen = answers.parse_sample(sample, stocks)
        plan = answers.plan_samples(kind, chosen, info["tickers"], stocks, info["origin"] != "detected")
        stored = read.event_study(con, event) if event else None
        if adhoc:
            refit: str | None = "ad-hoc study: news in no catalogue has no stored study"
        elif stored is None and read.study_predates_samples(con):
            refit = "the stored study predates samples (the next `impact analyze` re-computes it)"
        else:
            refit = studies.refit_reason(stored, model, benchmark, windows, read.last_price_ingest(con))
            refit = refit or answers.sample_reason(stored, plan)
        returns = studies.load_returns(con) if refit else None
        dollars = read.event_dollar_windows(con, event) if event else None
    if returns is not None:
        if model in ("market", "market-adjusted") and benchmark not in returns.columns:
            raise typer.BadParameter(f"benchmark {benchmark!r} is not in core.prices")
        parts = answers.refit(returns, pd.Timestamp(info["day0"]), plan, model=model, benchmark=benchmark,
                              windows=windows, event_id=event or "ad-hoc", dollars=dollars)
        source, detail = "refit", f"re-fitted: {refit}"
    else:
        assert stored is not None  # refit_reason names a reason whenever nothing is stored
        parts = answers.from_stored(stored, windows, dollars)
        source, detail = "stored", f"stored study (event-study marts, computed {stored.computed_at:%Y-%m-%d %H:%M} UTC)"
    main = parts[0]
    if not main.studied:
        studies.check_studied(event or info["name"], main.windows, main.excluded, windows, _price_span(warehouse_file))
    info.pop("origin")
    uses_benchmark = model in ("market", "market-adjusted")
    answer = answers.StudyAnswer(info, model, benchmark if uses_benchmark else None, windows, source, detail, parts)
    if output == "json":
        _emit(output, out, force, warehouse_file, payload=answers.payload(answer))
        return
    if output in ("csv", "parquet"):
        typer.echo(detail, err=True)
        _emit(output, out, force, warehouse_file, frame=answers.tidy(answer))
        return
    label = benchmark if uses_benchmark else "SPY + SMH" if model == "factors" else "-"
    console.print(detail, soft_wrap=True)
    console.print(f"{info['name']} (day0 {info['day0']:%Y-%m-%d}), {model} model, benchmark {label}", soft_wrap=True)
    for part in parts:
        if not part.tickers:
            continue
        count = f"{len(part.tickers)} firm{'s' if len(part.tickers) != 1 else ''}"
        heading = f"{part.sample} sample: {answers.SAMPLE_TITLES.get(part.sample, part.sample)}, {count}"
        console.print(f"\nVerdict, {heading}", style="bold", soft_wrap=True)
        for sentence in part.verdicts["sentence"]:
            console.print(f"  {sentence}", soft_wrap=True, highlight=False)
        if part.studied:
            _print_frame(f"Firms, {heading}", studies.ticker_table(part.abnormal, part.windows))
        if part.studied and len(part.tickers) > 1:
            _print_frame(f"Group tests, {part.sample} sample (robust_to_clustering: valid when firms share day0)",
                         studies.tests_table(part.tests))
        if len(part.excluded):
            _print_frame(f"Excluded firm-events, {part.sample} sample", part.excluded)


@app.command()
def ui(
    port: Annotated[int, typer.Option(help="Port of the Dagster UI on 127.0.0.1.")] = 3000,
    warehouse_file: WarehouseOption = None,
) -> None:
    """Start the Dagster UI (dagster dev) on this warehouse; Ctrl-C stops it."""
    from pipelines.runner import dagster_home

    env = {**os.environ, "DAGSTER_HOME": str(dagster_home(warehouse_file)),
           warehouse.WAREHOUSE_ENV: str(warehouse.warehouse_path(warehouse_file))}
    command = [sys.executable, "-m", "dagster", "dev", "-m", "pipelines.definitions", "-h", "127.0.0.1", "-p", str(port)]
    # Shells start background jobs with SIGINT ignored, and the child would inherit that: restore it
    # there, and forward SIGINT/SIGTERM from here so `kill -INT <pid>` or Ctrl-C stops the whole UI.
    process = subprocess.Popen(command, env=env, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))

    def forward(signum: int, frame: object) -> None:
        process.send_signal(signal.SIGINT)

    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    raise typer.Exit(process.wait())


app.command("dashboard")(dashboard_command)
app.command("report")(report_command)
app.command("sql")(sql_command)
app.add_typer(events_group(events), name="events", help="List the events (curated, yours, detected); `add` adds yours.")
app.add_typer(sentiment_app, name="sentiment", help="Headline sentiment: classify, evaluate, train.")
app.command("schema")(schema_command)
app.command("serve")(serve_command)

if __name__ == "__main__":
    app()
