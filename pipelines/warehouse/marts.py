"""Every write of derived tables (the events, the event-study and sentiment marts): whole-table replacements,
one transaction each, failures named like the source writes (``pipelines.warehouse.writes``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import duckdb

from pipelines.warehouse.connection import transaction, write_errors

if TYPE_CHECKING:
    import pandas as pd

REPLACEABLE = frozenset(
    {
        "core.events",
        "mart.daily_abnormal_returns",
        "mart.event_estimates",
        "mart.abnormal_returns",
        "mart.event_windows",
        "mart.event_aggregates",
        "mart.event_tests",
    }
)
"""The tables recomputed whole from the others, which :func:`replace_tables` may replace."""

DAILY_SENTIMENT_SQL = """
DELETE FROM mart.daily_sentiment;
INSERT INTO mart.daily_sentiment BY NAME
WITH per_ticker AS (
    SELECT s.ticker, h.session_date, s.model, s.model_version, s.label, s.score,
           s.relevance, core.relevance_weight(s.relevance) AS weight
    FROM core.headline_sentiment AS s JOIN core.headlines AS h USING (headline_id)
    WHERE s.relevance <> 'none'
)
SELECT p.ticker, p.session_date AS date, p.model, any_value(p.model_version) AS model_version,
       count(*) AS headlines,
       count(*) FILTER (WHERE p.relevance = 'direct') AS direct_headlines,
       count(*) FILTER (WHERE p.relevance = 'indirect') AS indirect_headlines,
       sum(p.weight * p.score) / sum(p.weight) AS mean_score,
       sum(p.weight * CASE WHEN p.label = 'negative' THEN 1.0 ELSE 0.0 END) / sum(p.weight) AS share_negative,
       sum(p.weight * CASE WHEN p.label = 'positive' THEN 1.0 ELSE 0.0 END) / sum(p.weight) AS share_positive,
       any_value(r.ar) AS ar, any_value(r.sar) AS sar
FROM per_ticker AS p
LEFT JOIN mart.daily_abnormal_returns AS r ON r.ticker = p.ticker AND r.date = p.session_date
GROUP BY p.ticker, p.session_date, p.model
"""
"""mart.daily_sentiment recomputed from the scored pairs (relevance-weighted) and the daily abnormal returns."""


def replace_tables(con: duckdb.DuckDBPyConnection, frames: Mapping[str, pd.DataFrame]) -> None:
    """Replace every row of each table in ``frames`` (``schema.table`` -> its new rows) in one transaction.

    Readers see all the tables' old rows or all the new ones; a failure leaves every table as it was
    and raises a WarehouseError naming the file.
    """
    unknown = sorted(set(frames) - REPLACEABLE)
    if unknown:
        raise ValueError(f"replace_tables replaces only {', '.join(sorted(REPLACEABLE))}; not {', '.join(unknown)}")
    # Registered outside the transaction: unregistering inside one that failed would hide the failure.
    incoming = {table: f"incoming_mart_{i}" for i, (table, frame) in enumerate(frames.items()) if not frame.empty}
    for table, name in incoming.items():
        con.register(name, frames[table])
    try:
        with write_errors(con), transaction(con):
            for table in frames:
                con.execute(f"DELETE FROM {table}")
                if table in incoming:  # an empty frame's object columns carry no types to insert
                    con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM {incoming[table]}")
    finally:
        for name in incoming.values():
            con.unregister(name)


def replace_table(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> None:
    """Replace every row of ``table`` with ``frame`` in one transaction (see :func:`replace_tables`)."""
    replace_tables(con, {table: frame})


def rebuild_daily_sentiment(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    """Recompute mart.daily_sentiment in one transaction; returns (rows, rows with an abnormal return)."""
    with write_errors(con), transaction(con):
        con.execute(DAILY_SENTIMENT_SQL)
    rows, with_ar = con.execute("SELECT count(*), count(ar) FROM mart.daily_sentiment").fetchall()[0]
    return int(rows), int(with_ar)
