"""Dagster definitions: assets grouped by domain, ingestion jobs, after-close schedules.

Load in the UI with ``dagster dev -m pipelines.definitions``. Sources, the warehouse, the first
partition and the retry delay come from the IMPACT_* environment variables (``pipelines.settings``,
read when the definitions are built, not at import), defaulting to the offline demo.
"""


import dagster as dg

from models.calendar import EXCHANGE_TZ, is_session
from pipelines.assets import events, market, news, sentiment
from pipelines.partitions import configure_assets
from pipelines.resources import resources_from_env
from pipelines.settings import Settings

WRITER_TAG = {"impact/warehouse-writer": "duckdb"}
"""Every run that writes carries this tag; dagster.yaml limits runs with it to one at a time."""

ingest_prices_job = dg.define_asset_job(
    "ingest_prices",
    selection=dg.AssetSelection.assets(market.prices),
    tags=WRITER_TAG,
    description="Daily bars for the universe, one NYSE session (or a range, as one run).",
)

ingest_news_job = dg.define_asset_job(
    "ingest_news",
    selection=dg.AssetSelection.assets(news.headlines),
    tags=WRITER_TAG,
    description="Headlines for one New York calendar day (or a range, as one run).",
)


analyze_job = dg.define_asset_job(
    "analyze",
    selection=dg.AssetSelection.groups("event_study", "sentiment") - dg.AssetSelection.keys(events.CATALOG_KEY),
    tags=WRITER_TAG,
    description="Recompute everything downstream of the ingested data: events, abnormal returns, event studies, "
    "headline sentiment.",
)


@dg.schedule(job=ingest_prices_job, cron_schedule="30 17 * * 1-5", execution_timezone=EXCHANGE_TZ)
def prices_after_close(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    """Ingest today's session at 17:30 New York time, after the close and the closing auction."""
    today = context.scheduled_execution_time.date()
    if not is_session(today):
        return dg.SkipReason(f"{today} is not an NYSE session")
    return dg.RunRequest(partition_key=today.isoformat())


@dg.schedule(job=ingest_news_job, cron_schedule="55 23 * * *", execution_timezone=EXCHANGE_TZ)
def news_end_of_day(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """Ingest the day's headlines just before midnight New York time, weekends included."""
    return dg.RunRequest(partition_key=context.scheduled_execution_time.date().isoformat())


def build_definitions(
    warehouse_file: str | None = None, settings: Settings | None = None, **resources: dg.ConfigurableResource
) -> dg.Definitions:
    """All definitions; ``settings`` (read from the environment now when not given) configure the partitions,
    retries and every resource not given here (the warehouse file too)."""
    settings = Settings.from_env() if settings is None else settings
    assets = [market.prices, news.headlines, *events.EVENT_ASSETS, *sentiment.SENTIMENT_ASSETS]
    return dg.Definitions(
        assets=configure_assets(assets, settings.history_start, settings.retry_delay_s),
        asset_checks=dg.load_asset_checks_from_modules([market, news, events]),
        jobs=[ingest_prices_job, ingest_news_job, analyze_job],
        schedules=[prices_after_close, news_end_of_day],
        resources={**resources_from_env(warehouse_file, settings), **resources},
        executor=dg.in_process_executor,
    )


@dg.definitions
def defs() -> dg.Definitions:
    """What ``dagster dev -m pipelines.definitions`` loads: built from the environment when Dagster loads it."""
    return build_definitions()
