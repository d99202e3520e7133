"""Launch the ingestion jobs over a date range as single Dagster runs, recorded in the Dagster instance.

The CLI and the tests use this; the Dagster UI and schedules launch the same jobs themselves.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg

from pipelines import locations, warehouse
from pipelines.assets.intraday import IntradaySourceResource
from pipelines.definitions import build_definitions
from pipelines.errors import ImpactError
from pipelines.orphans import fail_orphans, owner_tags
from pipelines.resources import NewsSourceResource, PriceSourceResource

MARKER = "# Written by ai-market-impact"
"""A dagster.yaml starting with this line is the project's: rewritten whenever :data:`DAGSTER_YAML` changes."""

DAGSTER_YAML = f"""\
{MARKER}: rewritten by the next `impact` command while this line is here; delete it to keep your edits.
# DuckDB has one writer at a time: runs that write queue behind each other.
concurrency:
  runs:
    tag_concurrency_limits:
      - key: "impact/warehouse-writer"
        limit: 1
# The daemon (`impact ui`, `impact serve`) fails runs stuck STARTING, and runs older than their dagster/max_runtime tag
# (ingestion: IMPACT_INGEST_MAX_RUNTIME_S; untagged runs, such as analyze, have no limit).
run_monitoring:
  enabled: true
  start_timeout_seconds: 180
  cancel_timeout_seconds: 180
  max_runtime_seconds: 0
  max_resume_run_attempts: 0
  poll_interval_seconds: 60
telemetry:
  enabled: false
"""


RANGE_RUN_ENV = {
    # One ASSET_MATERIALIZATION_PLANNED event for the whole range instead of one per partition (Dagster's opt-in for
    # single-run backfills, dagster-io/dagster#29288). The cost: the UI shows the range's partitions as missing, not
    # failed or in progress, while the run goes or after it failed (the run itself shows both); a range is written
    # in one transaction, so a failed run leaves the partitions as they were.
    "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS": "1",
    # The range's materializations handed to the event log together: one INSERT on PostgreSQL, one transaction per
    # database file on the CLI's SQLite (pipelines.dagster_storage; Dagster's own SQLite storage stores them one by one).
    "DAGSTER_EVENT_BATCH_SIZE": "10000",
}
"""Dagster's event settings for a run over more than one partition (a one-partition run keeps every status)."""


@contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """``values`` in ``os.environ`` for the block (a variable the user set keeps its value), restored after."""
    added = {k: v for k, v in values.items() if k not in os.environ}
    os.environ.update(added)
    try:
        yield
    finally:
        for key in added:
            os.environ.pop(key, None)


def _names(cls: type) -> set[str]:
    names = {cls.__name__}
    subclasses: list[type] = cls.__subclasses__()
    for sub in subclasses:
        names |= _names(sub)
    return names


PROJECT_ERRORS = _names(ImpactError)
"""Class names of the project's errors: a failed run reports the first of these in its cause chain."""


def console_logs(level: str) -> dict:
    """Run config that sets the console logger's threshold (``CRITICAL``: the caller reports failures itself)."""
    return {"loggers": {"console": {"config": {"log_level": level}}}}


def cli_dagster_yaml(home: Path) -> str:
    """The CLI's dagster.yaml: :data:`DAGSTER_YAML` plus Dagster's SQLite event log in its usual place under ``home``,
    with range runs' events batched (:mod:`pipelines.dagster_storage`)."""
    runs = json.dumps(str(home / "history" / "runs") + os.sep)
    return (
        f"{DAGSTER_YAML}"
        "# Dagster's SQLite event log, storing a range run's materializations in one transaction.\n"
        "event_log_storage:\n"
        "  module: pipelines.dagster_storage\n"
        "  class: BatchedSqliteEventLogStorage\n"
        "  config:\n"
        f"    base_dir: {runs}\n"
    )


def dagster_home(warehouse_file: str | Path | None = None) -> Path:
    """``$DAGSTER_HOME``, else a ``.dagster`` folder beside the warehouse (so the UI sees the CLI's runs).

    Its dagster.yaml is written when missing, and rewritten when it is an older one of ours (its first
    line is :data:`MARKER`); one without the marker is the user's and is left alone.
    """
    home = locations.dagster_home_path(warehouse.warehouse_path(warehouse_file))
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    current = config.read_text() if config.exists() else None
    wanted = cli_dagster_yaml(home)
    if current is None or (current.startswith(MARKER) and current != wanted):
        draft = config.with_name(f".dagster.yaml.{os.getpid()}")
        draft.write_text(wanted)
        os.replace(draft, config)  # whole: a command starting beside this one never reads half a file
    return home


def instance_for(warehouse_file: str | Path | None = None) -> dg.DagsterInstance:
    """The persistent Dagster instance that records the CLI's runs.

    Two commands started together on a fresh home would race to create its SQLite tables ("table runs
    already exists"): creation happens under a file lock.
    """
    home = dagster_home(warehouse_file)
    with open(home / ".instance.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        instance = dg.DagsterInstance.from_config(str(home))
        instance.get_run_records(limit=1)  # creates the run storage now, inside the lock
    return instance


@dataclass
class RunOutcome:
    """What one job run did: its id, success, and the metadata and checks it produced."""

    job: str
    run_id: str
    success: bool
    metadata: dict[str, object] = field(default_factory=dict)
    checks: dict[str, bool] = field(default_factory=dict)
    error: str | None = None
    materialized: int = 0
    warnings: list[str] = field(default_factory=list)


class EmptyRangeError(ImpactError, ValueError):
    """A date range that holds no partition of the job (a weekend for prices, a range before the history)."""


def partition_range(partitions: dg.TimeWindowPartitionsDefinition, start: date, end: date) -> tuple[str, str]:
    """The first and last partition keys inside ``start``..``end`` (weekends fall away for prices)."""
    every = partitions.get_partition_keys()
    keys = [k for k in every if start.isoformat() <= k <= end.isoformat()]
    if not keys:
        span = f"{every[0]}..{every[-1]}" if every else f"from {partitions.start.date()}"
        raise EmptyRangeError(
            f"no partitions between {start} and {end}: the partitions are {span}, "
            f"{'weekdays' if partitions.cron_schedule.endswith('1-5') else 'every day'}"
        )
    return keys[0], keys[-1]


def run_job(
    job_name: str,
    start: date,
    end: date,
    *,
    warehouse_file: str | Path | None = None,
    price_source: PriceSourceResource | None = None,
    news_source: NewsSourceResource | None = None,
    intraday_source: IntradaySourceResource | None = None,
    instance: dg.DagsterInstance | None = None,
    console_level: str = "WARNING",
) -> RunOutcome:
    """Run ``job_name`` (over its partitions from ``start`` to ``end``, if partitioned) as one run.

    A failed run does not raise: the outcome says what failed, naming the source's error, and
    carries the run's own warning messages (whatever ``console_level`` lets Dagster print), after a
    line for each earlier run this one marked failed because its process was gone.
    """
    overrides: dict[str, Any] = {
        k: v
        for k, v in {"price_source": price_source, "news_source": news_source, "intraday_source": intraday_source}.items()
        if v is not None
    }
    defs = build_definitions(str(warehouse_file) if warehouse_file else None, None, **overrides)
    job = defs.resolve_job_def(job_name)
    tags = owner_tags()
    env: Mapping[str, str] = {}
    if isinstance(job.partitions_def, dg.TimeWindowPartitionsDefinition):
        first, last = partition_range(job.partitions_def, start, end)
        tags |= {"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last}
        env = RANGE_RUN_ENV if first != last else {}
    instance = instance or instance_for(warehouse_file)
    orphans = fail_orphans(instance)  # a killed run would hold the writer slot forever
    with environment(env):
        result = job.execute_in_process(
            instance=instance, run_config=console_logs(console_level), tags=tags, raise_on_error=False
        )
    warnings = orphans + [
        entry.user_message
        for entry in instance.all_logs(result.run_id)
        if not entry.is_dagster_event and entry.level == logging.WARNING
    ]
    metadata: dict[str, object] = {}
    materializations = result.get_asset_materialization_events()
    for event in materializations[:1]:
        metadata = {k: getattr(v, "value", v) for k, v in event.materialization.metadata.items()}
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    error = None
    if not result.success:
        failures = [e for e in result.all_events if e.is_step_failure]
        if failures:
            data = failures[0].step_failure_data
            if data.user_failure_data is not None and data.user_failure_data.description:
                error = data.user_failure_data.description
            else:
                chain = []
                link = data.error
                while link is not None:
                    chain.append(link)
                    link = link.cause
                # The project's own error names the file/ticker/row; else the innermost cause.
                info = next((e for e in chain if e.cls_name in PROJECT_ERRORS), chain[-1]) if chain else None
                if info is None:
                    error = "a step failed without an error record"
                else:
                    message = info.message.strip()
                    error = message if message.startswith(f"{info.cls_name}:") else f"{info.cls_name}: {message}"
        else:
            error = "run failed"
    assets = {event.asset_key for event in materializations}
    return RunOutcome(job_name, result.run_id, result.success, metadata, checks, error, len(assets), warnings)
