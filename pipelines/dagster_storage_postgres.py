"""dagster-postgres's event log for `impact serve`, with the planned check rows of a range run written faster.

Apart from the CLI's storage (:mod:`pipelines.dagster_storage`) so that the CLI does not import dagster-postgres.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dagster._serdes import ConfigurableClassData
from dagster_postgres import event_log as postgres
from dagster_postgres.utils import pg_url_from_config

from pipelines.dagster_storage import PlannedChecksOnce


class PostgresEventLogStorage(PlannedChecksOnce, postgres.PostgresEventLogStorage):
    """dagster-postgres's event log (it batches materializations itself) with the planned check rows made faster."""

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> PostgresEventLogStorage:
        return cls(
            inst_data=inst_data,
            postgres_url=pg_url_from_config(config_value),
            should_autocreate_tables=config_value.get("should_autocreate_tables", True),
        )
