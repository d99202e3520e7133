"""Market data domain: the daily ``prices`` asset and its data-quality checks."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

import dagster as dg
import duckdb
import pandas as pd

from models.calendar import sessions
from pipelines import warehouse as wh
from pipelines.assets import shares
from pipelines.assets.quality import ALL_DATES, check_result, partition_scope, read_frame, row_check
from pipelines.errors import DataValidationError, ImpactError, SourceError, TransientSourceError, WarehouseError
from pipelines.partitions import NETWORK_RETRY, partition_dates, permanent_failure, price_partitions
from pipelines.resources import PriceSourceResource, WarehouseResource
from pipelines.warehouse import checks

MAX_MOVE = 0.35
"""A close-to-close move larger than this without a split is flagged as a likely bad print."""

STALE_SESSIONS = 3
"""A ticker whose last bar is this many sessions behind the warehouse's newest bar is stale."""


Scope = tuple[date, date] | None
"""The first and last date a check looks at; None: the whole table."""


@contextmanager
def writer_or_failure(warehouse: WarehouseResource) -> Iterator[duckdb.DuckDBPyConnection]:
    """The warehouse writer; a warehouse that cannot be written (read-only, full) fails the run at once.

    Only a lock still held by another writer after the wait is left to the retry policy.
    """
    try:
        with warehouse.writer() as con:
            yield con
    except WarehouseError as error:
        if wh.is_lock_error(error):
            raise
        raise permanent_failure(error) from error
    except duckdb.Error as error:
        raise permanent_failure(WarehouseError(f"cannot write warehouse {warehouse.path}: {error}")) from error


@dg.asset(
    key=["core", "prices"],
    group_name="market_data",
    partitions_def=price_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    retry_policy=NETWORK_RETRY,
    kinds={"duckdb", "python"},
    metadata={"partition_expr": "date", "key": "(ticker, date)"},
    description="Daily bars per ticker and NYSE session, staged and checked, then replaced whole per partition (range) "
    "in one transaction; with them the shares outstanding the price source states (core.shares, for the dollar marts).",
)
def prices(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, price_source: PriceSourceResource
) -> dg.MaterializeResult:
    start, end = partition_dates(context)
    open_days = sessions(start, end)
    if len(open_days) == 0:
        context.log.info(f"NYSE closed {start}..{end}: nothing to ingest")
        return dg.MaterializeResult(metadata={"rows": 0, "sessions": 0, "note": "market closed"})
    source = price_source.build()
    tickers = list(price_source.tickers)
    context.log.info(
        f"fetching {len(tickers)} tickers from '{source.name}' for {len(open_days)} sessions "
        f"{open_days[0].date()}..{open_days[-1].date()}"
    )
    try:
        frame = source.fetch_prices(tickers, open_days[0].date(), open_days[-1].date())
    except TransientSourceError as error:
        context.log.warning(f"transient source failure, the retry policy decides what follows: {error}")
        raise
    except ImpactError as error:
        raise permanent_failure(error) from error
    on_session = frame["date"].isin(open_days)
    if not on_session.all():
        dropped = frame.loc[~on_session, ["ticker", "date"]]
        context.log.warning(f"dropping {len(dropped)} rows dated on non-sessions, e.g. {dropped.iloc[0].to_dict()}")
        frame = frame.loc[on_session]
    missing = sorted(set(tickers) - set(frame["ticker"]))
    if missing:
        raise permanent_failure(SourceError(source.name, f"no rows for {start}..{end}", ticker=",".join(missing)))
    counts = shares.fetch_counts(context, source, tickers, start, end)
    try:
        with writer_or_failure(warehouse) as con:
            rows = wh.replace_prices(con, frame, start, end, tickers, run_id=context.run.run_id)
            share_metadata = shares.store_counts(con, counts, start, end, tickers, context.run.run_id)
    except DataValidationError as error:  # a bar the warehouse's blocking checks refused: nothing was written
        raise permanent_failure(error) from error
    per_ticker = frame.groupby("ticker").size()
    return dg.MaterializeResult(
        metadata={
            "rows": rows,
            "tickers": len(per_ticker),
            "sessions": len(open_days),
            "first_date": str(open_days[0].date()),
            "last_date": str(open_days[-1].date()),
            "source": source.name,
            "rows_per_ticker_min": int(per_ticker.min()),
            **share_metadata,
        }
    )


def prices_are_positive(con: duckdb.DuckDBPyConnection, scope: Scope) -> dg.AssetCheckResult:
    return row_check(con, checks.PRICES_POSITIVE, "core.prices", scope)


def ohlc_consistent(con: duckdb.DuckDBPyConnection, scope: Scope) -> dg.AssetCheckResult:
    return row_check(con, checks.OHLC_CONSISTENT, "core.prices", scope)


def no_outsized_moves(con: duckdb.DuckDBPyConnection, scope: Scope) -> dg.AssetCheckResult:
    start, end = scope or ALL_DATES
    bad = read_frame(
        con,
        f"""
        WITH before AS (  -- each ticker's last bar before the partition: the first move's previous close
            SELECT ticker, max(date) AS since FROM core.prices WHERE date < $start GROUP BY ticker
        )
        SELECT ticker, date, prev_close, close, split_ratio, round(move * 100, 2) AS move_pct FROM (
            SELECT ticker, date, close, split_ratio,
                   lag(close) OVER (PARTITION BY ticker ORDER BY date) AS prev_close,
                   close * split_ratio / lag(close) OVER (PARTITION BY ticker ORDER BY date) - 1 AS move
            FROM core.prices LEFT JOIN before USING (ticker)
            WHERE date BETWEEN coalesce(before.since, $start) AND $end
        ) WHERE date >= $start AND abs(move) > {MAX_MOVE}
        ORDER BY abs(move) DESC
        """,
        {"start": start, "end": end},
    )
    return check_result(bad, f"moves above {MAX_MOVE:.0%} without a split", scope, dg.AssetCheckSeverity.WARN)


def no_missing_sessions(con: duckdb.DuckDBPyConnection, _scope: Scope) -> dg.AssetCheckResult:
    """The whole table (a gap is between partitions): one aggregate query unless a count is off."""
    what = "tickers with missing sessions or bars on non-sessions"
    spans = read_frame(
        con, "SELECT ticker, min(date) AS first, max(date) AS last, count(*) AS bars FROM core.prices GROUP BY ticker"
    )
    if spans.empty:
        return check_result(spans, what, None)
    calendar = sessions(spans["first"].min(), spans["last"].max())
    first = calendar.searchsorted(pd.to_datetime(spans["first"]))
    last = calendar.searchsorted(pd.to_datetime(spans["last"]), side="right")
    spans["expected"] = last - first
    dates = pd.to_datetime(read_frame(con, "SELECT DISTINCT date FROM core.prices")["date"])
    off_calendar = dates[~dates.isin(calendar)]
    suspects = spans[spans["expected"] != spans["bars"]]
    if len(off_calendar):  # a bar on a holiday can hide a missing session in the counts
        suspects = spans
    if suspects.empty:  # the common case costs one aggregate query, whatever the size of the table
        return check_result(suspects, what, None)
    bars = read_frame(
        con,
        "SELECT ticker, date FROM core.prices WHERE ticker IN ("
        + ", ".join(f"'{t}'" for t in suspects["ticker"])
        + ") ORDER BY ticker, date",
    )
    gaps = []
    for ticker, days in bars.groupby("ticker")["date"]:
        have = pd.DatetimeIndex(pd.to_datetime(days))
        expected = sessions(have[0], have[-1])
        absent, extra = expected.difference(have), have.difference(expected)
        gaps.append(
            {
                "ticker": ticker,
                "missing": len(absent),
                "non_sessions": len(extra),
                "first_missing": str(absent[0].date()) if len(absent) else "",
                "first_non_session": str(extra[0].date()) if len(extra) else "",
            }
        )
    return check_result(pd.DataFrame(gaps), what, None)


def prices_not_stale(con: duckdb.DuckDBPyConnection, _scope: Scope) -> dg.AssetCheckResult:
    """The whole table: staleness is one ticker's last bar against every other's."""
    last = read_frame(con, "SELECT ticker, max(date) AS last_date FROM core.prices GROUP BY ALL ORDER BY ticker")
    if last.empty:
        return dg.AssetCheckResult(passed=False, description="core.prices is empty")
    newest = pd.Timestamp(last["last_date"].max())
    lags = []
    for row in last.itertuples():
        behind = len(sessions(pd.Timestamp(row.last_date), newest)) - 1
        if behind >= STALE_SESSIONS:
            lags.append({"ticker": row.ticker, "last_date": str(row.last_date), "sessions_behind": behind})
    result = check_result(pd.DataFrame(lags), "stale tickers", None)
    return dg.AssetCheckResult(
        passed=result.passed,
        severity=result.severity,
        description=result.description,
        metadata={**result.metadata, "newest_bar": str(newest.date())},
    )


@dataclass(frozen=True)
class PriceCheck:
    """One check of the prices: what it asserts, whether a failure blocks what follows, the rule."""

    description: str
    run: Callable[[duckdb.DuckDBPyConnection, Scope], dg.AssetCheckResult]
    blocking: bool = False


PRICE_CHECKS = {
    "prices_are_positive": PriceCheck(checks.PRICES_POSITIVE.description, prices_are_positive, blocking=True),
    "ohlc_consistent": PriceCheck(checks.OHLC_CONSISTENT.description, ohlc_consistent, blocking=True),
    "no_outsized_moves": PriceCheck(
        f"No close-to-close move beyond {MAX_MOVE:.0%} unless a split explains it.", no_outsized_moves
    ),
    "no_missing_sessions": PriceCheck(
        "Every NYSE session between a ticker's first and last bar is present.", no_missing_sessions
    ),
    "prices_not_stale": PriceCheck(f"No ticker lags the newest bar by {STALE_SESSIONS}+ sessions.", prices_not_stale),
    "share_jumps_explained": PriceCheck(shares.JUMPS_DESCRIPTION, shares.share_jumps_explained),
}
"""The checks of ``core.prices`` by name (the names Dagster shows), run together after each write."""


def run_price_checks(con: duckdb.DuckDBPyConnection, scope: Scope) -> dict[str, dg.AssetCheckResult]:
    """Every price check on the rows of ``scope`` (the whole table when None), by name."""
    return {name: check.run(con, scope) for name, check in PRICE_CHECKS.items()}


@dg.multi_asset_check(
    specs=[
        dg.AssetCheckSpec(name, asset=prices, description=check.description, blocking=check.blocking)
        for name, check in PRICE_CHECKS.items()
    ],
    description="The price checks in one step on one connection (a Dagster step costs ~0.2 s: six cost a daily run "
    "more than its write).",
)
def price_checks(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> Iterator[dg.AssetCheckResult]:
    scope = partition_scope(context)
    with warehouse.writer() as con:
        results = run_price_checks(con, scope)
    for name, result in results.items():
        yield result._replace(asset_key=prices.key, check_name=name)
