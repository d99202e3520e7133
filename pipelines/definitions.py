"""Dagster definitions: assets grouped by domain, ingestion jobs, after-close schedules.

Load in the UI with ``dagster dev -m pipelines.definitions``. Sources, the warehouse, the first
partition and the retry delay come from the IMPACT_* environment variables (``pipelines.settings``,
read when the definitions are built, not at import), defaulting to the offline demo.
"""

from datetime import date

import dagster as dg

from models.calendar import EXCHANGE_TZ, is_session
from pipelines.assets import dollars, events, intraday, market, news, sentiment
from pipelines.orphans import PID_TAG
from pipelines.partitions import configure_assets, data_ends
from pipelines.resources import resources_from_env
from pipelines.settings import Settings, SettingsError

WRITER_TAG = {"impact/warehouse-writer": "duckdb"}
"""Every run that writes carries this tag; dagster.yaml limits runs with it to one at a time."""

MAX_RUNTIME_TAG = "dagster/max_runtime"
"""Seconds after which the daemon's run monitor (enabled in dagster.yaml) fails a run that is still going."""


def ingestion_jobs(settings: Settings) -> list:
    """The two ingestion jobs (``define_asset_job`` definitions), tagged with the writer slot and
    ``IMPACT_INGEST_MAX_RUNTIME_S``: built with the other definitions, so the setting is read then."""
    tags = {**WRITER_TAG, MAX_RUNTIME_TAG: str(settings.ingest_max_runtime_s)}  # "0": Dagster sets no limit
    return [
        dg.define_asset_job(
            "ingest_prices",
            selection=dg.AssetSelection.assets(market.prices),
            tags=tags,
            description="Daily bars and shares outstanding for the universe, one NYSE session (or a range, as one run).",
        ),
        dg.define_asset_job(
            "ingest_news",
            selection=dg.AssetSelection.assets(news.headlines),
            tags=tags,
            description="Headlines for one New York calendar day (or a range, as one run).",
        ),
    ]


INGESTION_JOBS = ("ingest_prices", "ingest_news", "ingest_intraday")

analyze_job = dg.define_asset_job(
    "analyze",
    selection=dg.AssetSelection.groups("event_study", "sentiment") - dg.AssetSelection.assets(events.CATALOG_KEY),
    tags=WRITER_TAG,
    description="Recompute everything downstream of the ingested data: events, abnormal returns, event studies, "
    "headline sentiment.",
)


def _cron(text: str, variable: str) -> str:
    """A schedule's cron from its setting, or an error naming the variable (Dagster's own would not)."""
    from dagster._utils.schedules import is_valid_cron_string

    if not is_valid_cron_string(text):
        raise SettingsError(
            f"environment variable {variable}={text!r} is not valid: expected a cron of 5 fields, e.g. `30 17 * * 1-5`"
        )
    return text


def ingestion_schedules(
    settings: Settings, ends: tuple[date | None, date | None] = (None, None)
) -> list[dg.ScheduleDefinition]:
    """The prices and headlines schedules: crons, first state and the day they ingest come from ``settings``
    (IMPACT_PRICES_SCHEDULE, IMPACT_NEWS_SCHEDULE, IMPACT_SCHEDULE_STATUS, IMPACT_SCHEDULE_AS_OF). ``ends``: the last
    day of the prices' and the headlines' partitions (None: today); a tick after it skips, saying why."""
    status = (
        dg.DefaultScheduleStatus.RUNNING if settings.schedule_status == "running" else dg.DefaultScheduleStatus.STOPPED
    )

    def day(context: dg.ScheduleEvaluationContext) -> date:
        return settings.schedule_as_of or context.scheduled_execution_time.date()

    @dg.schedule(
        job_name="ingest_prices",
        cron_schedule=_cron(settings.prices_schedule, "IMPACT_PRICES_SCHEDULE"),
        execution_timezone=EXCHANGE_TZ,
        default_status=status,
    )
    def prices_after_close(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        """Ingest the day's session after the close and the closing auction (17:30 New York time by default)."""
        today = day(context)
        if not is_session(today):
            return dg.SkipReason(f"{today} is not an NYSE session")
        if ends[0] is not None and today > ends[0]:
            return dg.SkipReason(f"the '{settings.price_source}' price source has no data after {ends[0]}")
        return dg.RunRequest(partition_key=today.isoformat())

    @dg.schedule(
        job_name="ingest_news",
        cron_schedule=_cron(settings.news_schedule, "IMPACT_NEWS_SCHEDULE"),
        execution_timezone=EXCHANGE_TZ,
        default_status=status,
    )
    def news_end_of_day(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        """Ingest the day's headlines just before midnight New York time (by default), weekends included."""
        today = day(context)
        if ends[1] is not None and today > ends[1]:
            return dg.SkipReason(f"the news sources ({', '.join(settings.news_sources)}) have no data after {ends[1]}")
        return dg.RunRequest(partition_key=today.isoformat())

    return [prices_after_close, news_end_of_day]


prices_after_close, news_end_of_day = ingestion_schedules(Settings())
"""The schedules with the declared defaults (no environment read at import); the definitions build their own."""


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    request_job=analyze_job,
    minimum_interval_seconds=15,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def analyze_after_ingest(context: dg.RunStatusSensorContext) -> dg.RunRequest | dg.SkipReason:
    """Launch ``analyze`` after each successful ingestion run of the daemon (schedules, the UI); the CLI's
    in-process runs (tagged with their PID) are analysed by the CLI itself."""
    run = context.dagster_run
    if run.job_name not in INGESTION_JOBS:
        return dg.SkipReason(f"{run.job_name} is not an ingestion job")
    if PID_TAG in run.tags:
        return dg.SkipReason(f"run {run.run_id[:8]} was launched by the impact CLI, which runs analyze itself")
    return dg.RunRequest(run_key=run.run_id, tags={"impact/after-run": run.run_id})


def build_definitions(
    warehouse_file: str | None = None,
    settings: Settings | None = None,
    end_at_data: bool = False,
    **resources: dg.ConfigurableResource,
) -> dg.Definitions:
    """All definitions; ``settings`` (read from the environment now when not given) configure the partitions,
    retries and every resource not given here (the warehouse file too). ``end_at_data``: the partitions end where
    the configured sources' data does (:func:`pipelines.partitions.data_ends`), as the UI shows them."""
    settings = Settings.from_env() if settings is None else settings
    ends = data_ends(settings) if end_at_data else (None, None)
    assets = [
        market.prices,
        news.headlines,
        *events.EVENT_ASSETS,
        *dollars.DOLLAR_ASSETS,
        *sentiment.SENTIMENT_ASSETS,
        *intraday.INTRADAY_ASSETS,
    ]
    return dg.Definitions(
        assets=configure_assets(assets, settings.history_start, settings.retry_delay_s, ends),
        asset_checks=dg.load_asset_checks_from_modules([market, news, events, intraday]),
        jobs=[*ingestion_jobs(settings), intraday.ingest_job(ingestion_jobs(settings)[0].tags), analyze_job],
        schedules=ingestion_schedules(settings, ends),
        sensors=[analyze_after_ingest],
        resources={
            **resources_from_env(warehouse_file, settings),
            "intraday_source": intraday.intraday_resource_from_env(settings),
            **resources,
        },
        executor=dg.in_process_executor,
    )


@dg.definitions
def defs() -> dg.Definitions:
    """What ``dagster dev -m pipelines.definitions`` loads: built from the environment when Dagster loads it, its
    partitions ending at the sources' last day (the demo market's 2025-03-31), so none shows as missing after it."""
    return build_definitions(end_at_data=True)
