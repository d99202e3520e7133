"""Every write of source data into the warehouse: validate, then commit, one transaction per partition.

Each function takes a writer connection and a validated canonical frame and replaces exactly the
partition it covers, so re-running a range leaves identical rows. Prices and headlines are first
staged in a TEMP table with the warehouse's column types and checked there (``checks.BLOCKING``): a
bad row is refused, naming it, before raw/core are touched.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

import duckdb

from pipelines.warehouse import checks
from pipelines.warehouse.connection import transaction, write_errors

if TYPE_CHECKING:
    import pandas as pd


def _now() -> datetime:
    return datetime.now(UTC)


def _stage(con: duckdb.DuckDBPyConnection, staged: str, like: str, incoming: str, columns: str) -> None:
    """Copy the registered frame ``incoming`` into TEMP table ``staged``, cast to the types of table ``like``.

    A TEMP table lives outside the warehouse file: staging and checking a partition writes nothing to it.
    """
    with write_errors(con):
        con.execute(f"CREATE OR REPLACE TEMP TABLE {staged} AS FROM {like} LIMIT 0")
        con.execute(f"INSERT INTO {staged} BY NAME SELECT {columns} FROM {incoming}")


def replace_prices(
    con: duckdb.DuckDBPyConnection,
    prices: pd.DataFrame,
    start: date,
    end: date,
    tickers: Sequence[str],
    run_id: str | None = None,
) -> int:
    """Replace ``tickers``' bars from ``start`` to ``end`` with ``prices`` in one transaction.

    ``prices`` is a validated canonical frame (pipelines.sources.base). It is staged and checked
    first: a bar breaking a blocking check raises a DataValidationError and nothing is written.
    Re-running the same range leaves identical rows: nothing outside the range or the tickers is touched.
    """
    if prices.empty:
        raise ValueError("replace_prices needs rows; an empty answer is a source error")
    outside = prices[(prices["date"].dt.date < start) | (prices["date"].dt.date > end)]
    if not outside.empty:
        first = outside.iloc[0]
        raise ValueError(
            f"ticker {first['ticker']} date {first['date'].date()} lies outside the partition {start}..{end}"
        )
    frame = prices.assign(ingested_at=_now(), run_id=run_id)
    frame["date"] = frame["date"].dt.date
    sources = sorted(frame["source"].unique())
    con.register("incoming_prices", frame)
    try:
        _stage(
            con,
            "staged_prices",
            "raw.prices",
            "incoming_prices",
            "source, ticker, date, open, high, low, close, "
            "adj_close, volume, split_ratio, dividend, ingested_at, run_id",
        )
        checks.refuse_bad_rows(con, checks.PRICES, "staged_prices", start, end)
        with write_errors(con), transaction(con):
            con.execute(
                "DELETE FROM raw.prices WHERE source IN (SELECT unnest(?)) AND ticker IN (SELECT unnest(?)) "
                "AND date BETWEEN ? AND ?",
                [sources, list(tickers), start, end],
            )
            con.execute("INSERT INTO raw.prices BY NAME FROM staged_prices")
            con.execute(
                "DELETE FROM core.prices WHERE ticker IN (SELECT unnest(?)) AND date BETWEEN ? AND ?",
                [list(tickers), start, end],
            )
            con.execute(
                "INSERT INTO core.prices BY NAME SELECT ticker, date, open, high, low, close, adj_close, volume, "
                "split_ratio, dividend, source, ingested_at FROM staged_prices"
            )
            _log_ingestion(con, "prices", ",".join(sources), start, end, len(frame), run_id)
    finally:
        con.unregister("incoming_prices")
        con.execute("DROP TABLE IF EXISTS staged_prices")
    return len(frame)


def replace_headlines(
    con: duckdb.DuckDBPyConnection,
    headlines: pd.DataFrame,
    start: date,
    end: date,
    sources: Sequence[str],
    run_id: str | None = None,
) -> int:
    """Replace what ``sources`` delivered for New York dates ``start``..``end``, then rebuild core rows.

    ``headlines`` is a validated canonical frame; its ``source`` column may hold several names
    joined by commas when one source's duplicates were merged. core.headlines is rebuilt for the
    range from every source in raw, so a story seen by two sources is one row with both named.
    The frame is staged and checked first: a malformed headline raises a DataValidationError and
    nothing is written.
    """
    from models.calendar import align_many

    frame = headlines.copy()
    frame["ny_date"] = frame["published_at"].dt.tz_convert("America/New_York").dt.date
    frame["session_date"] = align_many(frame["published_at"]).date
    outside = frame[(frame["ny_date"] < start) | (frame["ny_date"] > end)]
    if not outside.empty:
        raise ValueError(f"headline {outside.iloc[0]['headline_id']} lies outside the partition {start}..{end}")
    frame["ingested_at"] = _now()
    frame["run_id"] = run_id
    con.register("incoming_headlines", frame)
    try:
        _stage(
            con,
            "staged_headlines",
            "raw.headlines",
            "incoming_headlines",
            "source, headline_id, ny_date, "
            "session_date, published_at, title, summary, url, publisher, tickers, ingested_at, run_id",
        )
        checks.refuse_bad_rows(con, checks.HEADLINES, "staged_headlines", start, end)
        with write_errors(con), transaction(con):
            con.execute(
                "DELETE FROM raw.headlines WHERE source IN (SELECT unnest(?)) AND ny_date BETWEEN ? AND ?",
                [list(sources), start, end],
            )
            con.execute("INSERT INTO raw.headlines BY NAME FROM staged_headlines")
            # A story's id is fixed by its UTC day, so its copies can straddle two New York dates:
            # rebuild every story touched by the range from all of its raw copies.
            con.execute(
                "CREATE OR REPLACE TEMP TABLE touched_headlines AS "
                "SELECT headline_id FROM raw.headlines WHERE ny_date BETWEEN $1 AND $2 "
                "UNION SELECT headline_id FROM core.headlines WHERE ny_date BETWEEN $1 AND $2",
                [start, end],
            )
            con.execute("DELETE FROM core.headlines WHERE headline_id IN (SELECT headline_id FROM touched_headlines)")
            con.execute(
                """
                INSERT INTO core.headlines BY NAME
                SELECT headline_id,
                       min(ny_date) AS ny_date,
                       min(session_date) AS session_date,
                       min(published_at) AS published_at,
                       arg_min(title, published_at) AS title,
                       arg_min(summary, published_at) FILTER (WHERE summary IS NOT NULL) AS summary,
                       arg_min(url, published_at) FILTER (WHERE url IS NOT NULL) AS url,
                       arg_min(publisher, published_at) FILTER (WHERE publisher IS NOT NULL) AS publisher,
                       list_sort(list_distinct(flatten(list(tickers)))) AS tickers,
                       string_agg(DISTINCT source, ',' ORDER BY source) AS source,
                       max(ingested_at) AS ingested_at
                FROM raw.headlines
                WHERE headline_id IN (SELECT headline_id FROM touched_headlines)
                GROUP BY headline_id
                """
            )
            con.execute("DROP TABLE touched_headlines")
            _log_ingestion(con, "headlines", ",".join(sorted(sources)), start, end, len(frame), run_id)
    finally:
        con.unregister("incoming_headlines")
        con.execute("DROP TABLE IF EXISTS staged_headlines")
    return len(frame)


def _log_ingestion(
    con: duckdb.DuckDBPyConnection, dataset: str, source: str, start: date, end: date, rows: int, run_id: str | None
) -> None:
    con.execute(
        "INSERT INTO raw.ingestions VALUES (?, ?, ?, ?, ?, ?, ?)",
        [dataset, source, start, end, rows, _now(), run_id],
    )


def replace_pair_sentiment(
    con: duckdb.DuckDBPyConnection, scored: pd.DataFrame, current_pairs: pd.DataFrame, model: str
) -> tuple[int, int]:
    """Upsert ``model``'s scored pairs and drop the rows that no longer apply, in one transaction.

    ``current_pairs`` (headline_id, ticker) is every pair the headlines concern today: a row of
    ``model`` outside it (the story was re-ingested away, or a company profile changed the link)
    is removed, as is any model's row whose headline left core.headlines. Returns (written, removed).
    """
    con.register("incoming_sentiment", scored)
    con.register("current_pairs", current_pairs)
    try:
        with write_errors(con), transaction(con):
            if len(scored):  # an empty frame's object columns carry no list type to insert
                con.execute(
                    "DELETE FROM core.headline_sentiment WHERE model = ? AND (headline_id, ticker) IN "
                    "(SELECT (headline_id, ticker) FROM incoming_sentiment)",
                    [model],
                )
                con.execute(
                    "INSERT INTO core.headline_sentiment BY NAME SELECT headline_id, ticker, model, model_version, "
                    "relevance, relation, via, label, p_negative, p_neutral, p_positive, score, scored_at "
                    "FROM incoming_sentiment"
                )
            removed = con.execute(
                "DELETE FROM core.headline_sentiment WHERE headline_id NOT IN (SELECT headline_id FROM core.headlines) "
                "OR (model = ? AND (headline_id, ticker) NOT IN (SELECT (headline_id, ticker) FROM current_pairs))",
                [model],
            ).fetchall()[0][0]
    finally:
        con.unregister("incoming_sentiment")
        con.unregister("current_pairs")
    return len(scored), int(removed)
