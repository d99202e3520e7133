"""Partitions in New York time (prices per weekday session, headlines per calendar day) and retries."""

from __future__ import annotations

import os
from datetime import date, timedelta

import dagster as dg

EXCHANGE_TZ = "America/New_York"
HISTORY_START = os.environ.get("IMPACT_HISTORY_START", "2023-01-02")

# Weekdays; the ~10 NYSE holidays a year are partitions that record "market closed" and write nothing.
price_partitions = dg.TimeWindowPartitionsDefinition(
    cron_schedule="0 0 * * 1-5",
    fmt="%Y-%m-%d",
    start=HISTORY_START,
    timezone=EXCHANGE_TZ,
    end_offset=1,
)

# Every calendar day: news does not stop on weekends and holidays.
news_partitions = dg.DailyPartitionsDefinition(start_date=HISTORY_START, timezone=EXCHANGE_TZ, end_offset=1)


NETWORK_RETRY = dg.RetryPolicy(
    max_retries=3,
    delay=float(os.environ.get("IMPACT_RETRY_DELAY_S", "10")),
    backoff=dg.Backoff.EXPONENTIAL,
    jitter=dg.Jitter.PLUS_MINUS,
)
"""Retries for transient source failures only: permanent ones raise ``dg.Failure(allow_retries=False)``."""


def permanent_failure(error: Exception) -> dg.Failure:
    """A failure that names its cause and is not retried: bad data does not fix itself."""
    return dg.Failure(description=str(error), allow_retries=False)


def partition_dates(context: dg.AssetExecutionContext) -> tuple[date, date]:
    """First and last New York calendar date covered by this run's partition or partition range."""
    window = context.partition_time_window
    return window.start.date(), (window.end - timedelta(days=1)).date()
