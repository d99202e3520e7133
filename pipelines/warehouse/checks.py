"""The blocking data-quality rules of the warehouse, in one place: SQL predicates over a table's rows.

The writes run them on a partition's staged rows before anything is committed (``writes``), and the
Dagster asset checks run them on the partition a run just wrote (``pipelines.assets``), so a bad row
is refused with its ticker, date and field instead of poisoning every later ingest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import duckdb

from pipelines.errors import DataValidationError

if TYPE_CHECKING:  # pandas loads inside the reads that use it: `impact sql` stays cheap
    import pandas as pd

PRICE_FIELDS = ("open", "high", "low", "close", "adj_close")
OHLC_TOLERANCE = 1e-9
"""Rounding slack allowed when comparing a bar's low/high with its open and close."""


@dataclass(frozen=True)
class Dataset:
    """How a dataset's rows are named in messages and which date column holds its partition."""

    name: str
    key: str
    partition_column: str


PRICES = Dataset("prices", "ticker", "date")
HEADLINES = Dataset("headlines", "headline_id", "ny_date")


@dataclass(frozen=True)
class RowCheck:
    """A rule every row of ``dataset`` keeps; ``cases`` pairs a SQL predicate a bad row meets with the field it names
    (the first match is reported), ``shown`` is a SQL text showing the row's values, ``rule`` says it to a person."""

    name: str
    dataset: Dataset
    description: str
    failures: str
    rule: str
    cases: tuple[tuple[str, str], ...]
    shown: str

    @property
    def field_sql(self) -> str:
        """SQL naming the first field the row breaks, NULL when it keeps the rule (a NULL value breaks it)."""
        whens = " ".join(f"WHEN coalesce({predicate}, true) THEN '{field}'" for predicate, field in self.cases)
        return f"CASE {whens} END"


def _show(*columns: str) -> str:
    """SQL text 'name value ...' of ``columns``, NULL shown as NULL (DuckDB's format() would turn the whole text NULL)."""
    return "concat_ws(' ', " + ", ".join(f"'{c}', coalesce(CAST({c} AS VARCHAR), 'NULL')" for c in columns) + ")"


_BAR = _show(*PRICE_FIELDS, "volume")

PRICES_POSITIVE = RowCheck(
    "prices_are_positive",
    PRICES,
    "Prices are finite and positive; volume is not negative.",
    "rows with NaN, infinite or non-positive prices or negative volume",
    "prices must be finite and > 0, volume >= 0",
    (*((f"NOT isfinite({f}) OR {f} <= 0", f) for f in PRICE_FIELDS), ("volume < 0", "volume")),
    _BAR,
)

OHLC_CONSISTENT = RowCheck(
    "ohlc_consistent",
    PRICES,
    "low <= open, close <= high on every bar.",
    "bars with inconsistent OHLC (low <= open, close <= high)",
    "a bar needs low <= open, close <= high",
    (
        (f"high < greatest(open, close) - {OHLC_TOLERANCE}", "high"),
        (f"low > least(open, close) + {OHLC_TOLERANCE}", "low"),
        ("low > high", "low"),
    ),
    _BAR,
)

HEADLINES_WELL_FORMED = RowCheck(
    "headlines_well_formed",
    HEADLINES,
    "Every headline has a title, a timestamp not in the future, and its New York date.",
    "malformed headlines",
    "a headline needs a title, a timestamp at most a day ahead and the New York date of that timestamp",
    (
        ("trim(title) = ''", "title"),
        ("published_at > now() + INTERVAL 1 DAY", "published_at"),
        ("ny_date <> CAST(timezone('America/New_York', published_at) AS DATE)", "ny_date"),
    ),
    _show("published_at", "ny_date") + " || ' title ' || coalesce('''' || left(title, 80) || '''', 'NULL')",
)

BLOCKING: dict[str, tuple[RowCheck, ...]] = {
    PRICES.name: (PRICES_POSITIVE, OHLC_CONSISTENT),
    HEADLINES.name: (HEADLINES_WELL_FORMED,),
}
"""The checks a dataset's partition must pass before it is committed, and that block its Dagster run."""


def _violations_sql(check: RowCheck, table: str, scoped: bool, limit: int | None) -> str:
    """The offending rows, first by date; ``shown`` is built for those rows only."""
    key, column = check.dataset.key, check.dataset.partition_column
    where = f"WHERE {column} BETWEEN $start AND $end" if scoped else ""
    return (
        f"SELECT {key}, {column}, source, field, {check.shown} AS shown, count(*) OVER () AS failures FROM ("
        f"SELECT *, {check.field_sql} AS field FROM {table} {where}"
        f") WHERE field IS NOT NULL ORDER BY {column}, {key}" + (f" LIMIT {limit}" if limit else "")
    )


def violations(
    con: duckdb.DuckDBPyConnection, check: RowCheck, table: str, start: date | None = None, end: date | None = None
) -> pd.DataFrame:
    """The rows of ``table`` that break ``check`` (within partition dates ``start``..``end`` when given)."""
    scoped = start is not None and end is not None
    frame = con.execute(
        _violations_sql(check, table, scoped, None), {"start": start, "end": end} if scoped else {}
    ).df()
    return frame.drop(columns="failures")


def refuse_bad_rows(con: duckdb.DuckDBPyConnection, dataset: Dataset, table: str, start: date, end: date) -> None:
    """Raise a DataValidationError naming the first row of staged ``table`` that breaks a blocking check."""
    for check in BLOCKING[dataset.name]:
        first = con.execute(_violations_sql(check, table, False, 1)).fetchall()
        if not first:
            continue
        key, day, source, field, shown, failures = first[0]
        where = {"ticker": key} if dataset is PRICES else {}
        origin = f"{dataset.name} from source '{source}'" + ("" if dataset is PRICES else f", headline {key}")
        raise DataValidationError(
            origin,
            f"{check.rule} ({check.name}), got {shown}; {failures} bad row(s) in the partition {start}..{end}, "
            "nothing was written",
            date=day,
            field=field,
            **where,
        )
