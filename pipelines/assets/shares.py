"""Market value domain: shares outstanding per ticker and session (``core.shares``) and its jump check.

Daily partitions like the prices it depends on, in the same ingestion job, from the shares source that goes with
the configured price source (``pipelines.sources.shares``): a run stores what the source states up to the
partition's end (raw.shares) and derives each session's count from every observation stored so far.
"""

import dagster as dg

from models.calendar import sessions
from pipelines.assets.market import writer_or_failure
from pipelines.assets.quality import ALL_DATES, check_result, partition_scope, read_frame
from pipelines.errors import ImpactError, TransientSourceError
from pipelines.partitions import NETWORK_RETRY, partition_dates, permanent_failure, price_partitions
from pipelines.resources import PriceSourceResource, WarehouseResource
from pipelines.sources.shares import make_shares_source
from pipelines.warehouse.shares import replace_shares

PRICES = dg.AssetKey(["core", "prices"])

MAX_JUMP = 0.2
"""A session-to-session change of the share count beyond this fraction, that no split explains, is suspect
(buybacks and issuance move a count by a few percent a quarter; a unit error or a missed split by 10x)."""


@dg.asset(
    key=["core", "shares"],
    deps=[PRICES],
    group_name="market_data",
    partitions_def=price_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    retry_policy=NETWORK_RETRY,
    kinds={"duckdb", "python"},
    metadata={"partition_expr": "date", "key": "(ticker, date)"},
    description="Shares outstanding per ticker and NYSE session: the latest count stated on or before it (raw.shares), "
    "scaled by the splits since; feeds the dollar marts.",
)
def shares(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, price_source: PriceSourceResource
) -> dg.MaterializeResult:
    start, end = partition_dates(context)
    if len(sessions(start, end)) == 0:
        return dg.MaterializeResult(metadata={"rows": 0, "note": "market closed"})
    try:
        source = make_shares_source(price_source.build())
    except (ImpactError, ValueError) as error:
        raise permanent_failure(error) from error
    if source is None:
        context.log.info(f"the '{price_source.source}' price source has no share counts: dollar marts stay empty")
        return dg.MaterializeResult(metadata={"rows": 0, "note": f"no share counts from '{price_source.source}'"})
    tickers = list(price_source.tickers)
    try:
        observed = source.fetch_shares(tickers, start, end)
    except TransientSourceError as error:
        context.log.warning(f"transient shares failure, the retry policy decides what follows: {error}")
        raise
    except ImpactError as error:
        raise permanent_failure(error) from error
    for ticker, why in getattr(source, "skipped", {}).items():
        context.log.warning(f"no shares outstanding for {ticker} from '{source.name}': {why}")
    with writer_or_failure(warehouse) as con:
        rows = replace_shares(con, observed, start, end, tickers, source.name, run_id=context.run.run_id)
    without = sorted(set(tickers) - set(observed["ticker"]))
    return dg.MaterializeResult(
        metadata={
            "rows": rows,
            "observations": len(observed),
            "source": source.name,
            "tickers_without_shares": ", ".join(without) or "none",
        }
    )


@dg.asset_check(
    asset=shares,
    description=f"No share count moves by more than {MAX_JUMP:.0%} between sessions unless a split explains it.",
)
def share_jumps_explained(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
    scope = partition_scope(context)
    start, end = scope or ALL_DATES
    bad = read_frame(
        warehouse,
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


SHARES_ASSETS = [shares]
