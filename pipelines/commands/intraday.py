"""``impact study --intraday``: an event's reaction in event time, one table per ticker, from the analysis' mart."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from pipelines import warehouse
from pipelines.errors import InputError

if TYPE_CHECKING:  # pandas loads inside the command: `impact --help` stays cheap
    import pandas as pd

LABELS = {
    "premarket_low": "pre-market low",
    "open": "open",
    "first_30m": "first 30 min",
    "first_60m": "first 60 min",
    "close": "close",
}


def _pct(value: float | None) -> str:
    return "" if value is None or value != value else f"{float(value) * 100:+.2f}%"  # NaN != NaN


def _time(value: object) -> str:
    import pandas as pd

    return (
        "" if value is None or pd.isna(value) else f"{pd.Timestamp(value).tz_convert('America/New_York'):%m-%d %H:%M}"
    )


def reaction_tables(frame: pd.DataFrame) -> list[Table]:
    """One rich table per ticker of an event's reaction rows (``read.intraday_reaction``)."""
    tables = []
    for ticker, rows in frame.groupby("ticker", sort=False):
        first = rows.iloc[0]
        table = Table(
            title=f"{ticker} from {first['ref_price']:.2f} ({_time(first['ref_at'])} New York), "
            f"vs {first['benchmark']} x beta {first['beta']:.2f} ({first['beta_source']})"
        )
        for column in ("measure", "at (New York)", "price", "move", "benchmark", "abnormal"):
            table.add_column(column, justify="left" if column == "measure" else "right")
        for row in rows.itertuples():
            price = "" if row.price != row.price else f"{row.price:.2f}"
            table.add_row(
                LABELS.get(row.measure, row.measure),
                _time(row.at),
                price,
                _pct(row.ret),
                _pct(row.bench_ret),
                _pct(row.abnormal),
            )
        tables.append(table)
    return tables


def summary_table(frame: pd.DataFrame) -> Table:
    """One row per ticker: the move at each measure and the abnormal move at the open and the close."""
    table = Table(title="Reaction in event time: move from the last close before the news (abnormal vs the benchmark)")
    table.add_column("ticker")
    for label in (*LABELS.values(), "abnormal at open", "abnormal at close"):
        table.add_column(label, justify="right")
    for ticker, rows in frame.groupby("ticker", sort=False):
        by = rows.set_index("measure")
        table.add_row(
            ticker,
            *(_pct(by["ret"].get(m)) for m in LABELS),
            _pct(by["abnormal"].get("open")),
            _pct(by["abnormal"].get("close")),
        )
    return table


def print_reaction(
    console: Console, event_id: str | None, warehouse_file: Path | None, *, required: bool = True, compact: bool = False
) -> None:
    """Print the event's timing note and its per-ticker tables (``compact``: one summary table); without a
    reaction, an InputError (or nothing when not ``required``) saying how to get one."""
    from pipelines.warehouse import read

    if not event_id:
        raise InputError("--intraday needs --event ID (see `impact events`)")
    with warehouse.reader(warehouse_file) as con:
        frame = read.intraday_reaction(con, event_id)
        known = (
            frame.empty
            and required
            and "core.events" in read.tables(con)
            and con.execute("SELECT count(*) FROM core.events WHERE event_id = ?", [event_id]).fetchall()[0][0] > 0
        )
    if frame.empty:
        if not required:
            return
        if not known:
            raise InputError(f"unknown event {event_id!r}: see `impact events --detected` for the ids")
        raise InputError(
            f"no intraday reaction for event {event_id!r}: ingest intraday bars of its day0 "
            "(the ingest_intraday job; IMPACT_INTRADAY_SOURCE) and run `impact analyze`"
        )
    first = frame.iloc[0]
    console.print(f"[bold]Intraday reaction[/] ({first['timing']}): {first['note']}", soft_wrap=True)
    for table in [summary_table(frame)] if compact else reaction_tables(frame):
        console.print(table)
