"""Dagster's SQLite event log, with the writes of a run over many partitions batched.

A single-run backfill of 10 years (2,608 daily partitions) ends with one materialization per partition, and Dagster's
SQLite storage stores each on its own: two connections, two transactions and a statement compiled anew per event
(~12 ms, 32 s of a 59 s run). Its planned check rows serialize the whole planned event once per partition (1.6 s per
check). :class:`BatchedSqliteEventLogStorage` writes a batch of materializations in one transaction per database file
and serializes a planned event once; the rows it writes are those Dagster writes (``tests/test_dagster_storage.py``
compares them). The CLI's dagster.yaml names it (``pipelines.runner``); batches reach it only when
``DAGSTER_EVENT_BATCH_SIZE`` is set, as it is for range runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from dagster import DagsterEventType, EventLogEntry
from dagster._core.events import AssetCheckEvaluationPlanned
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from dagster._core.storage.event_log import SqliteEventLogStorage
from dagster._core.storage.event_log.schema import AssetCheckExecutionsTable, SqlEventLogStorageTable
from dagster._serdes import ConfigurableClassData, serialize_value

BATCHED = ({DagsterEventType.ASSET_MATERIALIZATION}, {DagsterEventType.ASSET_OBSERVATION})
"""The batches written together: materializations only, or observations only (others go one by one, as before)."""


class PlannedChecksOnce:
    """Dagster's planned check rows, one per planned partition, with the event serialized once, not once per row."""

    def _store_asset_check_evaluation_planned(self, event: EventLogEntry, event_id: int | None) -> None:
        planned = cast("AssetCheckEvaluationPlanned", event.get_dagster_event().event_specific_data)
        keys = planned.partitions_subset.get_partition_keys() if planned.partitions_subset else [None]
        shared = {
            "asset_key": planned.asset_key.to_string(),
            "check_name": planned.check_name,
            "run_id": event.run_id,
            "execution_status": AssetCheckExecutionRecordStatus.PLANNED.value,
            "evaluation_event": serialize_value(event),
            "evaluation_event_timestamp": self._event_insert_timestamp(event),  # type: ignore[attr-defined]
            "evaluation_event_storage_id": event_id,
        }
        with self.index_connection() as conn:  # type: ignore[attr-defined]
            conn.execute(AssetCheckExecutionsTable.insert(), [{**shared, "partition": key} for key in keys])


class BatchedSqliteEventLogStorage(PlannedChecksOnce, SqliteEventLogStorage):
    """:class:`SqliteEventLogStorage` storing a batch of asset events in one transaction per shard."""

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> BatchedSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)  # Dagster's builds its own class, whatever the yaml names

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        kinds = {event.get_dagster_event().event_type for event in events}
        run_ids = {event.run_id for event in events}
        if kinds not in BATCHED or len(run_ids) != 1:
            super().store_event_batch(events)
            return
        insert = self.prepare_insert_event_batch(events)
        with self.run_connection(run_ids.pop()) as conn:
            conn.execute(insert)
        with self.index_transaction() as conn:
            # SQLite gives the ids in VALUES order but does not promise RETURNING's order: sort them.
            event_ids = sorted(int(row[0]) for row in conn.execute(insert.returning(SqlEventLogStorageTable.c.id)))
            self._store_asset_event_tags(conn, events, event_ids)
            last = {event.get_dagster_event().asset_key: (event, i) for event, i in zip(events, event_ids, strict=True)}
            for event, event_id in last.values():  # the asset's row keeps its latest event, as one by one would
                self._store_asset_event(conn, event, event_id)
