"""Intraday domain: the daily-partitioned ``bars_intraday`` asset, its checks, and the event-time reaction mart."""

from datetime import UTC, datetime

import dagster as dg
import duckdb
import pandas as pd

from models.calendar import previous_session, sessions
from models.intraday import reaction
from pipelines.assets.market import writer_or_failure
from pipelines.assets.quality import ALL_DATES, check_result, partition_scope, read_frame
from pipelines.errors import DataValidationError, ImpactError, TransientSourceError
from pipelines.partitions import NETWORK_RETRY, partition_dates, permanent_failure, price_partitions
from pipelines.resources import WarehouseResource
from pipelines.settings import Settings
from pipelines.sources import make_intraday_source
from pipelines.universe import DEFAULT_TICKERS, MARKET
from pipelines.warehouse import intraday as store

BARS = dg.AssetKey(["core", "bars_intraday"])
DUPLICATES_CHECK = "duplicated_minutes_dropped"


class IntradaySourceResource(dg.ConfigurableResource):
    """Which intraday source feeds ``bars_intraday``, at which interval, for which tickers."""

    source: str = "demo"
    path: str | None = None
    interval: str = "1m"
    tickers: list[str] = list(DEFAULT_TICKERS)

    def build(self):  # noqa: ANN201  (an IntradaySource: pipelines/sources/intraday.py)
        return make_intraday_source(self.source, self.path)


def intraday_resource_from_env(settings: Settings) -> IntradaySourceResource:
    """The resource from IMPACT_INTRADAY_SOURCE / _PATH / _INTERVAL and IMPACT_TICKERS."""
    return IntradaySourceResource(
        source=settings.intraday_source,
        path=str(settings.intraday_path) if settings.intraday_path else None,
        interval=settings.intraday_interval,
        tickers=list(settings.tickers or DEFAULT_TICKERS),
    )


@dg.asset(
    key=BARS,
    group_name="market_data",
    partitions_def=price_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    retry_policy=NETWORK_RETRY,
    kinds={"duckdb", "python"},
    metadata={"partition_expr": "date", "key": "(ticker, interval, ts)"},
    check_specs=[
        dg.AssetCheckSpec(
            DUPLICATES_CHECK,
            asset=BARS,
            description="Duplicated minutes the source delivered, dropped before the write.",
        )
    ],
    description="Intraday bars (pre, regular, post) per ticker and trading day, deduplicated, checked and replaced whole "
    "per partition (range) in one transaction.",
)
def bars_intraday(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, intraday_source: IntradaySourceResource
) -> dg.MaterializeResult:
    start, end = partition_dates(context)
    open_days = sessions(start, end)
    if len(open_days) == 0:
        return dg.MaterializeResult(
            metadata={"rows": 0, "note": "market closed"},
            check_results=[dg.AssetCheckResult(check_name=DUPLICATES_CHECK, passed=True, metadata={"duplicates": 0})],
        )
    tickers, interval = list(intraday_source.tickers), intraday_source.interval
    try:
        source = intraday_source.build()
        bars = source.fetch_bars(tickers, open_days[0].date(), open_days[-1].date(), interval)
    except TransientSourceError as error:
        context.log.warning(f"transient source failure, the retry policy decides what follows: {error}")
        raise
    except (ImpactError, ValueError) as error:
        raise permanent_failure(error) from error
    try:
        with writer_or_failure(warehouse) as con:
            written = store.replace_bars_intraday(con, bars, start, end, tickers, interval, run_id=context.run.run_id)
    except (DataValidationError, ValueError) as error:
        raise permanent_failure(error) from error
    if written.duplicates:
        context.log.warning(f"{written.duplicates} duplicated {interval} bar(s) dropped (the last delivered kept)")
    return dg.MaterializeResult(
        metadata={
            "rows": written.rows,
            "duplicates": written.duplicates,
            "tickers": len(tickers),
            "interval": interval,
            "sessions": len(open_days),
            "source": source.name,
        },
        check_results=[
            dg.AssetCheckResult(
                check_name=DUPLICATES_CHECK,
                passed=written.duplicates == 0,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={"duplicates": written.duplicates},
                description=f"{written.duplicates} duplicated minutes dropped"
                if written.duplicates
                else "no duplicated minutes",
            )
        ],
    )


def _scoped(
    context: dg.AssetCheckExecutionContext,
    warehouse: WarehouseResource,
    sql: str,
    what: str,
) -> dg.AssetCheckResult:
    scope = partition_scope(context)
    start, end = scope or ALL_DATES
    with warehouse.writer() as con:
        return check_result(read_frame(con, sql, {"start": start, "end": end}), what, scope)


@dg.asset_check(asset=bars_intraday, description="Regular-hours bars stay inside the day's daily high and low.")
def bars_inside_daily_range(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
) -> dg.AssetCheckResult:
    return _scoped(context, warehouse, store.OUTSIDE_DAILY_RANGE_SQL, "regular-hours bars outside the daily high/low")


@dg.asset_check(asset=bars_intraday, description="No bar is missing in regular hours from the open to the last bar.")
def no_regular_hours_gaps(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
    return _scoped(context, warehouse, store.REGULAR_GAPS_SQL, "trading days with gaps in regular hours")


def event_reaction(con: duckdb.DuckDBPyConnection, event: pd.Series) -> pd.DataFrame:
    """The reaction rows (models.intraday.reaction) of one event (event_id, announced_at, day0, tickers) from the
    warehouse's bars on day0 at the finest interval stored, the previous session's closes and the study's betas."""
    day0 = pd.Timestamp(event["day0"]).date()
    estimates = con.execute(
        "SELECT ticker, any_value(beta) AS beta, any_value(benchmark) AS benchmark FROM mart.event_estimates "
        "WHERE event_id = ? AND status = 'ok' GROUP BY ticker",
        [event["event_id"]],
    ).df()
    benchmark = next(iter(estimates["benchmark"].dropna()), MARKET)
    names = sorted({*event["tickers"], benchmark})
    bars = con.execute(
        """
        WITH finest AS (
            SELECT "interval" FROM core.bars_intraday WHERE date = $day AND ticker IN (SELECT unnest($names))
            GROUP BY "interval"
            ORDER BY CASE WHEN "interval" = '1h' THEN 60 ELSE CAST(rtrim("interval", 'm') AS INTEGER) END LIMIT 1
        )
        SELECT ticker, ts, "interval", open, high, low, close, session FROM core.bars_intraday
        WHERE date = $day AND ticker IN (SELECT unnest($names)) AND "interval" = (SELECT "interval" FROM finest)
        ORDER BY ticker, ts
        """,
        {"day": day0, "names": names},
    ).df()
    if bars.empty:
        return pd.DataFrame()
    interval = str(bars["interval"].iloc[0])
    closes = con.execute(
        "SELECT ticker, close FROM core.prices WHERE date = ? AND ticker IN (SELECT unnest(?))",
        [previous_session(day0).date(), names],
    ).fetchall()
    announced = event["announced_at"]
    frame = reaction(
        bars,
        dict(closes),
        day0=day0,
        announced_at=None if pd.isna(announced) else pd.Timestamp(announced),
        tickers=list(event["tickers"]),
        benchmark=benchmark,
        betas=dict(zip(estimates["ticker"], estimates["beta"], strict=True)),
        interval_minutes=60 if interval == "1h" else int(interval.rstrip("m")),
    )
    return frame.assign(event_id=event["event_id"], interval=interval)


@dg.asset(
    key=["mart", "intraday_reaction"],
    deps=[
        BARS,
        dg.AssetKey(["core", "prices"]),
        dg.AssetKey(["core", "events"]),
        dg.AssetKey(["mart", "event_estimates"]),
    ],
    group_name="event_study",
    automation_condition=dg.AutomationCondition.eager(),
    kinds={"duckdb", "python"},
    description="Each event's move in event time from its intraday bars: last close before the news to the pre-market "
    "low, the open, 30 and 60 minutes in and the close, abnormal against the benchmark over the same minutes.",
)
def intraday_reaction(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.writer() as con:
        events = con.execute(
            "SELECT event_id, announced_at, day0, tickers FROM core.events "
            "WHERE day0 IN (SELECT DISTINCT date FROM core.bars_intraday) ORDER BY day0, event_id"
        ).df()
        frames = [event_reaction(con, row) for _, row in events.iterrows()]
        frames = [f for f in frames if len(f)]
        table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        if len(table):
            table["computed_at"] = datetime.now(UTC)
        rows = store.replace_reaction(con, table)
    context.log.info(f"{rows} reaction rows for {len(frames)} events with intraday bars on day0")
    return dg.MaterializeResult(metadata={"rows": rows, "events": len(frames)})


INTRADAY_ASSETS = (bars_intraday, intraday_reaction)


def ingest_job(tags: dict[str, str]):  # noqa: ANN201  (an unresolved asset job)
    """The ``ingest_intraday`` job: one trading day of intraday bars (or a range, as one run)."""
    return dg.define_asset_job(
        "ingest_intraday",
        selection=dg.AssetSelection.assets(bars_intraday),
        tags=tags,
        description="Intraday bars with pre- and post-market, one trading day (or a range).",
    )
