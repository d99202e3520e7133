"""Market value domain: shares outstanding per ticker and session (``core.shares``) and its jump check.

The ``prices`` asset stores them in the same run and partition, from the shares source that goes with its price
source (``pipelines.sources.shares``): one Dagster materialization per partition, not two (a backfill's cost is
Dagster's events per partition). A run stores what the source states up to the partition's end (raw.shares) and
derives each session's count from every observation stored so far.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import dagster as dg
import duckdb
import pandas as pd

from pipelines.assets.quality import ALL_DATES, check_result, read_frame
from pipelines.errors import ImpactError, TransientSourceError
from pipelines.partitions import permanent_failure
from pipelines.sources.base import PriceSource
from pipelines.sources.shares import make_shares_source
from pipelines.warehouse.shares import replace_shares

MAX_JUMP = 0.2
"""A session-to-session change of the share count beyond this fraction, that no split explains, is suspect
(buybacks and issuance move a count by a few percent a quarter; a unit error or a missed split by 10x)."""


@dataclass(frozen=True)
class Counts:
    """What a shares source stated for a partition: its observations and its name."""

    source: str
    observed: pd.DataFrame


def fetch_counts(
    context: dg.AssetExecutionContext, prices: PriceSource, tickers: Sequence[str], start: date, end: date
) -> Counts | None:
    """The share counts that go with ``prices`` for the partition (None when that price source has none), fetched
    and validated before anything is written; a transient failure is left to the prices' retry policy."""
    try:
        source = make_shares_source(prices)
    except (ImpactError, ValueError) as error:
        raise permanent_failure(error) from error
    if source is None:
        context.log.info(f"the '{prices.name}' price source has no share counts: dollar marts stay empty")
        return None
    try:
        observed = source.fetch_shares(list(tickers), start, end)
    except TransientSourceError as error:
        context.log.warning(f"transient shares failure, the retry policy decides what follows: {error}")
        raise
    except ImpactError as error:
        raise permanent_failure(error) from error
    for ticker, why in getattr(source, "skipped", {}).items():
        context.log.warning(f"no shares outstanding for {ticker} from '{source.name}': {why}")
    return Counts(source.name, observed)


def store_counts(
    con: duckdb.DuckDBPyConnection, counts: Counts | None, start: date, end: date, tickers: Sequence[str], run_id: str
) -> dict[str, int | str]:
    """Write ``counts`` for the partition (core.shares, raw.shares); the metadata the prices asset reports."""
    if counts is None:
        return {"share_rows": 0}
    rows = replace_shares(con, counts.observed, start, end, list(tickers), counts.source, run_id=run_id)
    without = sorted(set(tickers) - set(counts.observed["ticker"]))
    return {"share_rows": rows, "tickers_without_shares": ", ".join(without) or "none"}


JUMPS_DESCRIPTION = f"No share count moves by more than {MAX_JUMP:.0%} between sessions unless a split explains it."


def share_jumps_explained(con: duckdb.DuckDBPyConnection, scope: tuple[date, date] | None) -> dg.AssetCheckResult:
    """The share counts of ``scope`` (all when None) against the previous session's (run with the price checks)."""
    start, end = scope or ALL_DATES
    bad = read_frame(
        con,
        f"""
        SELECT ticker, date, prev_shares, shares, split_ratio, round(ratio, 4) AS ratio FROM (
            SELECT s.ticker, s.date, s.shares, coalesce(p.split_ratio, 1) AS split_ratio,
                   lag(s.shares) OVER (PARTITION BY s.ticker ORDER BY s.date) AS prev_shares,
                   s.shares / lag(s.shares) OVER (PARTITION BY s.ticker ORDER BY s.date) / coalesce(p.split_ratio, 1)
                       AS ratio
            FROM core.shares AS s LEFT JOIN core.prices AS p USING (ticker, date)
            WHERE s.date BETWEEN CAST($start AS DATE) - INTERVAL 14 DAY AND $end  -- the previous session, not the past
        ) WHERE date BETWEEN $start AND $end AND abs(ratio - 1) > {MAX_JUMP}
        ORDER BY ticker, date
        """,
        {"start": start, "end": end},
    )
    return check_result(
        bad, f"share-count jumps above {MAX_JUMP:.0%} without a split", scope, dg.AssetCheckSeverity.WARN
    )
