"""Single-run backfills: what they record in the Dagster instance (partition statuses, planned events) and what
one-partition runs keep recording."""

from __future__ import annotations

import os
from datetime import date

import dagster as dg
import pytest

from pipelines.partitions import price_partitions
from pipelines.resources import PriceSourceResource
from pipelines.runner import RANGE_RUN_ENV, run_job

PRICES = dg.AssetKey(["core", "prices"])
TICKERS = ["NVDA", "MSFT", "SPY"]


@pytest.fixture
def instance():
    with dg.instance_for_test() as inst:
        yield inst


def _demo(tickers: list[str] = TICKERS) -> PriceSourceResource:
    return PriceSourceResource(source="demo", tickers=tickers)


def _planned(instance: dg.DagsterInstance, run_id: str) -> list:
    events = instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED)
    return [e.dagster_event.event_specific_data for e in events if e.dagster_event.asset_key == PRICES]


def test_range_run_plans_once_and_every_partition_is_materialized(tmp_path, instance):
    keys = price_partitions.get_partition_keys_in_range(dg.PartitionKeyRange("2025-01-02", "2025-01-31"))
    for _ in range(2):  # the re-run replaces the range: same statuses, same events
        outcome = run_job(
            "ingest_prices",
            date(2025, 1, 2),
            date(2025, 1, 31),
            warehouse_file=tmp_path / "w.duckdb",
            price_source=_demo(),
            instance=instance,
        )
        assert outcome.success, outcome.error
        assert outcome.checks and all(outcome.checks.values())
        planned = _planned(instance, outcome.run_id)
        assert len(planned) == 1, f"{len(planned)} planned events for {len(keys)} partitions: one per partition"
        assert planned[0].partitions_subset is not None
        assert set(planned[0].partitions_subset.get_partition_keys()) == set(keys)
        materialized = instance.all_logs(outcome.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)
        assert sorted(e.dagster_event.partition for e in materialized if e.dagster_event.asset_key == PRICES) == keys
    assert instance.get_materialized_partitions(PRICES) == set(keys)
    status = instance.get_status_by_partition(PRICES, keys, price_partitions)
    assert status is not None and set(status.values()) == {dg.AssetPartitionStatus.MATERIALIZED}
    assert not RANGE_RUN_ENV.keys() & os.environ.keys(), "the run's Dagster settings leak into the process"


def test_one_partition_run_marks_its_partition_failed(tmp_path, instance):
    """The daily run keeps one planned event per partition: a failed day shows failed in the UI."""
    outcome = run_job(
        "ingest_prices",
        date(2025, 1, 27),
        date(2025, 1, 27),
        warehouse_file=tmp_path / "w.duckdb",
        price_source=_demo(["NVDA", "NOPE"]),
        instance=instance,
    )
    assert not outcome.success and "NOPE" in (outcome.error or "")
    assert [p.partition for p in _planned(instance, outcome.run_id)] == ["2025-01-27"]
    status = instance.get_status_by_partition(PRICES, ["2025-01-27"], price_partitions)
    assert status == {"2025-01-27": dg.AssetPartitionStatus.FAILED}


def test_failed_range_run_materializes_nothing_and_keeps_earlier_partitions(tmp_path, instance):
    path = tmp_path / "w.duckdb"
    good = run_job(
        "ingest_prices",
        date(2025, 1, 2),
        date(2025, 1, 10),
        warehouse_file=path,
        price_source=_demo(),
        instance=instance,
    )
    assert good.success, good.error
    before = instance.get_materialized_partitions(PRICES)
    bad = run_job(
        "ingest_prices",
        date(2025, 1, 2),
        date(2025, 1, 31),
        warehouse_file=path,
        price_source=_demo(["NVDA", "NOPE"]),
        instance=instance,
    )
    assert not bad.success and "NOPE" in (bad.error or "")
    assert instance.get_run_by_id(bad.run_id).status == dg.DagsterRunStatus.FAILURE
    assert instance.get_materialized_partitions(PRICES) == before  # the range is one transaction: nothing changed
