"""Shares outstanding writes: a source's observations into raw.shares, then one count per session into core.shares.

core.shares is derived in SQL from every observation the source ever gave (so a one-day partition still knows the
count filed months before) and from core.prices (its sessions, and the splits between an observation and a session).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

import duckdb

from pipelines.warehouse.connection import transaction, write_errors

if TYPE_CHECKING:
    import pandas as pd

DAILY_SHARES_SQL = """
INSERT INTO core.shares BY NAME
WITH sessions AS (
    SELECT ticker, date FROM core.prices
    WHERE ticker IN (SELECT unnest($tickers)) AND date BETWEEN $start AND $end
),
observed AS (SELECT ticker, date AS as_of, shares, source FROM raw.shares WHERE source = $source),
latest AS (
    SELECT s.ticker, s.date, o.as_of, o.shares, o.source
    FROM sessions AS s ASOF JOIN observed AS o ON s.ticker = o.ticker AND s.date >= o.as_of
),
splits AS (SELECT ticker, date, split_ratio FROM core.prices WHERE split_ratio <> 1)
SELECT l.ticker, l.date, l.as_of, l.source, $now AS ingested_at,
       l.shares * coalesce((SELECT product(p.split_ratio) FROM splits AS p
                            WHERE p.ticker = l.ticker AND p.date > l.as_of AND p.date <= l.date), 1) AS shares
FROM latest AS l
"""
"""Each session's count: the latest observation on or before it, times the splits that took effect after it."""


def replace_shares(
    con: duckdb.DuckDBPyConnection,
    observations: pd.DataFrame,
    start: date,
    end: date,
    tickers: Sequence[str],
    source: str,
    run_id: str | None = None,
) -> int:
    """Upsert ``source``'s validated observations into raw.shares and replace ``tickers``' core.shares rows for
    sessions ``start``..``end``, in one transaction; returns the core rows written. Re-running leaves identical rows."""
    frame = observations.assign(ingested_at=datetime.now(UTC), run_id=run_id)
    frame["date"] = frame["date"].dt.date
    con.register("incoming_shares", frame)
    try:
        with write_errors(con), transaction(con):
            if len(frame):  # an empty frame's object columns carry no types to compare or insert
                con.execute(
                    "DELETE FROM raw.shares AS r USING incoming_shares AS i "
                    "WHERE r.source = i.source AND r.ticker = i.ticker AND r.date = i.date"
                )
                con.execute(
                    "INSERT INTO raw.shares BY NAME SELECT source, ticker, date, shares, ingested_at, run_id "
                    "FROM incoming_shares"
                )
            con.execute(
                "DELETE FROM core.shares WHERE ticker IN (SELECT unnest(?)) AND date BETWEEN ? AND ?",
                [list(tickers), start, end],
            )
            params = {"tickers": list(tickers), "start": start, "end": end, "source": source, "now": datetime.now(UTC)}
            con.execute(DAILY_SHARES_SQL, params)
            return int(
                con.execute(
                    "SELECT count(*) FROM core.shares WHERE ticker IN (SELECT unnest(?)) AND date BETWEEN ? AND ?",
                    [list(tickers), start, end],
                ).fetchall()[0][0]
            )
    finally:
        con.unregister("incoming_shares")
