"""Intraday bars in the warehouse: the partition write (staged, deduplicated, checked, swapped) and their checks.

A partition is the New York trading days ``start``..``end`` of some tickers at one interval. Duplicated
(ticker, ts) rows are dropped (the last delivered wins) and counted, the bars are staged in a TEMP table, a
bar with high/low inconsistent with its open/close refuses the whole partition, and only then raw and core
are replaced in one transaction: a re-run leaves identical rows. The tables have no primary key on purpose:
a partition arrives deduplicated and replaces its rows whole, and an index over 500 tickers' minutes would
cost more than the load itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, NamedTuple

import duckdb

from pipelines.errors import DataValidationError
from pipelines.warehouse.connection import transaction, write_errors

if TYPE_CHECKING:
    import pandas as pd

RANGE_TOLERANCE = 1e-6
"""Relative slack when comparing a regular-hours bar with the day's daily high and low."""


class Written(NamedTuple):
    """What a partition write kept: bars written and duplicated minutes dropped."""

    rows: int
    duplicates: int


def replace_bars_intraday(
    con: duckdb.DuckDBPyConnection,
    bars: pd.DataFrame,
    start: date,
    end: date,
    tickers: Sequence[str],
    interval: str,
    run_id: str | None = None,
) -> Written:
    """Replace ``tickers``' ``interval`` bars on trading days ``start``..``end`` with ``bars`` (a validated frame).

    Raises ValueError for a bar outside the partition or of another interval, DataValidationError (nothing
    written) for a bar whose high/low do not hold its open and close.
    """
    if bars.empty:
        raise ValueError("replace_bars_intraday needs bars; an empty answer is a source error")
    days = bars["date"].dt.date
    outside = bars[(days < start) | (days > end) | (bars["interval"] != interval)]
    if not outside.empty:
        first = outside.iloc[0]
        raise ValueError(
            f"ticker {first['ticker']} bar {first['ts']} ({first['interval']}) lies outside the partition "
            f"{start}..{end} at {interval}"
        )
    repeated = bars.duplicated(["ticker", "ts"], keep="last")  # a duplicated minute: the last delivered wins
    unique = bars[~repeated] if repeated.any() else bars
    con.register("incoming_bars", unique)
    try:
        with write_errors(con):
            con.execute("CREATE OR REPLACE TEMP TABLE staged_bars AS FROM raw.bars_intraday LIMIT 0")
            con.execute(
                'INSERT INTO staged_bars BY NAME SELECT source, ticker, "interval", ts, date, session, open, high, '
                "low, close, volume, now() AS ingested_at, $run_id AS run_id FROM incoming_bars",
                {"run_id": run_id},
            )
        rows = len(unique)
        _refuse_inconsistent(con, start, end)
        sources = sorted(bars["source"].unique())
        with write_errors(con), transaction(con):
            con.execute(
                "DELETE FROM raw.bars_intraday WHERE source IN (SELECT unnest($sources)) AND ticker IN "
                '(SELECT unnest($tickers)) AND "interval" = $interval AND date BETWEEN $start AND $end',
                {"sources": sources, "tickers": list(tickers), "interval": interval, "start": start, "end": end},
            )
            con.execute("INSERT INTO raw.bars_intraday BY NAME FROM staged_bars")
            con.execute(
                'DELETE FROM core.bars_intraday WHERE ticker IN (SELECT unnest($tickers)) AND "interval" = $interval '
                "AND date BETWEEN $start AND $end",
                {"tickers": list(tickers), "interval": interval, "start": start, "end": end},
            )
            con.execute(
                'INSERT INTO core.bars_intraday BY NAME SELECT ticker, ts, "interval", open, high, low, close, volume, '
                "session, date, source, ingested_at FROM staged_bars"
            )
            con.execute(
                "INSERT INTO raw.ingestions VALUES (?, ?, ?, ?, ?, ?, ?)",
                [f"bars_intraday {interval}", ",".join(sources), start, end, rows, datetime.now(UTC), run_id],
            )
    finally:
        con.unregister("incoming_bars")
        con.execute("DROP TABLE IF EXISTS staged_bars")
    return Written(rows, int(repeated.sum()))


def _refuse_inconsistent(con: duckdb.DuckDBPyConnection, start: date, end: date) -> None:
    """A DataValidationError naming the first staged bar whose low/high do not hold its open and close."""
    bad = con.execute(
        "SELECT ticker, ts, open, high, low, close, source, count(*) OVER () FROM staged_bars "
        "WHERE high < greatest(open, close) - 1e-9 OR low > least(open, close) + 1e-9 ORDER BY ts, ticker LIMIT 1"
    ).fetchall()
    if bad:
        ticker, ts, o, h, lo, c, source, failures = bad[0]
        raise DataValidationError(
            f"intraday bars from source '{source}'",
            f"a bar needs low <= open, close <= high, got open {o} high {h} low {lo} close {c} at {ts}; "
            f"{failures} bad bar(s) in the partition {start}..{end}, nothing was written",
            ticker=ticker,
            field="high" if h < max(o, c) else "low",
        )


OUTSIDE_DAILY_RANGE_SQL = f"""
SELECT b.ticker, b.date, b."interval", b.ts, b.low, b.high, p.low AS day_low, p.high AS day_high
FROM core.bars_intraday AS b JOIN core.prices AS p USING (ticker, date)
WHERE b.session = 'regular' AND b.date BETWEEN $start AND $end
  AND (b.high > p.high * (1 + {RANGE_TOLERANCE}) OR b.low < p.low * (1 - {RANGE_TOLERANCE}))
ORDER BY b.ticker, b.ts
"""
"""Regular-hours bars reaching outside their day's daily high/low (pre- and post-market may: the daily bar is the session's)."""

REGULAR_GAPS_SQL = """
WITH days AS (
    SELECT ticker, date, "interval", count(*) AS bars, max(ts) AS last_bar,
           CASE WHEN "interval" = '1h' THEN 60 ELSE CAST(rtrim("interval", 'm') AS INTEGER) END AS minutes
    FROM core.bars_intraday WHERE session = 'regular' AND date BETWEEN $start AND $end GROUP BY ALL
)
SELECT ticker, date, "interval", bars, last_bar,
       CAST(epoch(last_bar - timezone('America/New_York', date + INTERVAL '9 hours 30 minutes')) / 60 / minutes
            AS BIGINT) + 1 - bars AS missing
FROM days WHERE missing > 0 ORDER BY ticker, date
"""
"""Trading days whose regular-hours bars skip an interval between the open (09:30 New York) and their last bar."""


def check_frame(con: duckdb.DuckDBPyConnection, sql: str, start: date, end: date) -> pd.DataFrame:
    """The offending rows of one of the checks above, for trading days ``start``..``end``."""
    return con.execute(sql, {"start": start, "end": end}).df()


def replace_reaction(con: duckdb.DuckDBPyConnection, frame: pd.DataFrame) -> int:
    """Replace every row of mart.intraday_reaction with ``frame`` in one transaction; returns the rows written."""
    if frame.empty:  # DuckDB cannot register a frame without columns (no event had bars)
        with write_errors(con), transaction(con):
            con.execute("DELETE FROM mart.intraday_reaction")
        return 0
    con.register("incoming_reaction", frame)
    try:
        with write_errors(con), transaction(con):
            con.execute("DELETE FROM mart.intraday_reaction")
            con.execute("INSERT INTO mart.intraday_reaction BY NAME SELECT * FROM incoming_reaction")
    finally:
        con.unregister("incoming_reaction")
    return len(frame)
