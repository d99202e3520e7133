"""Partitions in New York time (prices per weekday session, headlines per calendar day) and retries.

Nothing here reads the environment at import: the assets are declared with templates built from the
declared defaults (``pipelines.settings``), and :func:`configure_assets` gives them the configured
first partition (``IMPACT_HISTORY_START``) and retry delay (``IMPACT_RETRY_DELAY_S``) when the
definitions are built.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from functools import partial

import dagster as dg

from pipelines import settings as config

EXCHANGE_TZ = "America/New_York"
DEFAULT_HISTORY_START: date = config.BY_NAME["IMPACT_HISTORY_START"].default
DEFAULT_RETRY_DELAY_S: float = config.BY_NAME["IMPACT_RETRY_DELAY_S"].default


def history_start(environ: Mapping[str, str] | None = None) -> date:
    """The first partition: ``IMPACT_HISTORY_START`` read now, else 2023-01-02."""
    return config.value("IMPACT_HISTORY_START", environ)


def price_partitions_def(start: date = DEFAULT_HISTORY_START, last: date | None = None) -> dg.TimeWindowPartitionsDefinition:
    """Weekdays from ``start`` to ``last`` (None: today); the ~10 NYSE holidays a year record "market closed"."""
    return dg.TimeWindowPartitionsDefinition(
        cron_schedule="0 0 * * 1-5", fmt="%Y-%m-%d", start=start.isoformat(), timezone=EXCHANGE_TZ, end_offset=1,
        end=_next_weekday(last).isoformat() if last else None,
    )


def _next_weekday(day: date) -> date:
    """The weekday after ``day``: where a weekday partition that starts on ``day`` ends (a Friday's ends Monday)."""
    following = day + timedelta(days=1)
    return following + timedelta(days=7 - following.weekday() if following.weekday() >= 5 else 0)


def news_partitions_def(start: date = DEFAULT_HISTORY_START, last: date | None = None) -> dg.DailyPartitionsDefinition:
    """Every calendar day from ``start`` to ``last`` (None: today): news does not stop on weekends and holidays."""
    return dg.DailyPartitionsDefinition(start_date=start.isoformat(), timezone=EXCHANGE_TZ, end_offset=1,
                                        end_date=(last + timedelta(days=1)).isoformat() if last else None)


def data_ends(settings: config.Settings) -> tuple[date | None, date | None]:
    """The last day the configured price and news sources have data, None where it is today: the demo market's
    last day (prices, and news when every news source is the demo); the price files' last date (None when they
    cannot be read: the ingest run names the problem). The UI's partitions end there, so none shows as missing."""
    from pipelines.sources.demo_market import DEMO_END

    prices: date | None = None
    if settings.price_source == "demo":
        prices = DEMO_END
    elif settings.price_source == "files" and settings.price_path is not None:
        from pipelines.errors import ImpactError
        from pipelines.sources.files import FilePriceSource
        from pipelines.universe import DEFAULT_TICKERS

        names, folder = list(settings.tickers or DEFAULT_TICKERS), settings.price_path
        try:
            if folder.is_dir():  # the tickers that have a file there (the ingest run names the missing ones)
                stems = {path.stem.upper() for path in folder.iterdir()}
                names = [name for name in names if name in stems]
            frame = FilePriceSource(folder).fetch_prices(names, date(1900, 1, 1), date(2100, 1, 1))
            prices = frame["date"].max().date() if len(frame) else None
        except (ImpactError, OSError):
            prices = None
    news = DEMO_END if settings.news_sources and set(settings.news_sources) == {"demo"} else None
    return prices, news


def network_retry(delay_s: float = DEFAULT_RETRY_DELAY_S) -> dg.RetryPolicy:
    """Retries for transient source failures only: permanent ones raise ``dg.Failure(allow_retries=False)``."""
    return dg.RetryPolicy(max_retries=3, delay=delay_s, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)


# Templates the asset decorators use (the declared defaults, not the environment); see configure_assets.
price_partitions = price_partitions_def()
news_partitions = news_partitions_def()
NETWORK_RETRY = network_retry()


def _with_retry(asset: dg.AssetsDefinition, policy: dg.RetryPolicy) -> dg.AssetsDefinition:
    """``asset`` with its op's retry policy replaced. Dagster has no public setter for a built asset: this copies
    the op the way ``OpDefinition.with_replaced_properties`` does, with another retry policy."""
    from dagster._core.definitions.op_definition import OpDefinition

    op = asset.op
    new_op = OpDefinition.dagster_internal_init(
        name=op.name, ins={d.name: dg.In.from_definition(d) for d in op.input_defs},
        outs={d.name: dg.Out.from_definition(d) for d in op.output_defs}, compute_fn=op.compute_fn,
        config_schema=op.config_schema, description=op.description, tags=op.tags,
        required_resource_keys=op.required_resource_keys, code_version=op._version, retry_policy=policy,
        version=None, pool=op.pool,
    )
    return dg.AssetsDefinition.dagster_internal_init(**{**asset.get_attributes_dict(), "node_def": new_op})


def _with_partitions(spec: dg.AssetSpec, partitions_def: dg.PartitionsDefinition) -> dg.AssetSpec:
    return spec.replace_attributes(partitions_def=partitions_def)


def configure_assets(
    assets: Iterable, start: date, retry_delay_s: float, ends: tuple[date | None, date | None] = (None, None)
) -> list:
    """The assets with the configured first partition, last price and news partitions (``ends``, None: today) and
    retry delay (unchanged when they are the defaults)."""
    replacements = {}
    if start != DEFAULT_HISTORY_START or any(ends):
        replacements = {
            price_partitions: price_partitions_def(start, ends[0]),
            news_partitions: news_partitions_def(start, ends[1]),
        }
    configured = []
    for asset in assets:
        if isinstance(asset, dg.AssetsDefinition) and asset.partitions_def in replacements:
            new = replacements[asset.partitions_def]
            asset = asset.map_asset_specs(partial(_with_partitions, partitions_def=new))
        if (isinstance(asset, dg.AssetsDefinition) and asset.is_executable and asset.op.retry_policy == NETWORK_RETRY
                and retry_delay_s != DEFAULT_RETRY_DELAY_S):
            asset = _with_retry(asset, network_retry(retry_delay_s))
        configured.append(asset)
    return configured


def permanent_failure(error: Exception) -> dg.Failure:
    """A failure that names its cause and is not retried: bad data does not fix itself."""
    return dg.Failure(description=str(error), allow_retries=False)


def partition_dates(context: dg.AssetExecutionContext | dg.OpExecutionContext) -> tuple[date, date]:
    """First and last New York calendar date covered by this run's partition or partition range."""
    window = context.partition_time_window
    return window.start.date(), (window.end - timedelta(days=1)).date()
