"""The CLI's Dagster instance stores a range run's events batched (pipelines.dagster_storage), and the rows it writes
are the rows Dagster's own SQLite storage writes for the same run: events, asset tags, the asset's latest event,
planned and evaluated checks, partition statuses."""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from pipelines import runner
from pipelines.dagster_storage import BatchedSqliteEventLogStorage
from pipelines.partitions import price_partitions
from pipelines.resources import PriceSourceResource

PRICES = dg.AssetKey(["core", "prices"])
START, END = date(2025, 1, 2), date(2025, 2, 28)

INDEX_QUERIES = {
    "asset events": "SELECT dagster_event_type, asset_key, partition, step_key FROM event_logs "
    "WHERE asset_key IS NOT NULL ORDER BY id",
    "asset tags": "SELECT t.asset_key, e.partition, t.key, "
    "CASE t.key WHEN 'dagster/data_version' THEN length(t.value) ELSE t.value END FROM asset_event_tags AS t "  # per run
    "JOIN event_logs AS e ON e.id = t.event_id ORDER BY e.id, t.key",
    "tags point at materializations": "SELECT count(*) FROM asset_event_tags AS t JOIN event_logs AS e "
    "ON e.id = t.event_id WHERE e.dagster_event_type <> 'ASSET_MATERIALIZATION'",
    "check executions": "SELECT asset_key, check_name, partition, execution_status, "
    "evaluation_event IS NOT NULL FROM asset_check_executions ORDER BY check_name, partition",
    "asset row": "SELECT asset_key, last_run_id IS NOT NULL, last_materialization_timestamp IS NOT NULL "
    "FROM asset_keys ORDER BY asset_key",
}
RUN_QUERY = "SELECT dagster_event_type, asset_key, partition FROM event_logs ORDER BY id"


def _range_run(home: Path, warehouse: Path) -> tuple[dg.DagsterInstance, str]:
    instance = dg.DagsterInstance.from_config(str(home))
    outcome = runner.run_job(
        "ingest_prices",
        START,
        END,
        warehouse_file=warehouse,
        price_source=PriceSourceResource(source="demo", tickers=["NVDA", "SPY"]),
        instance=instance,
    )
    assert outcome.success, outcome.error
    return instance, outcome.run_id


def _rows(database: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(database) as con:
        return con.execute(sql).fetchall()


@pytest.fixture
def two_runs(tmp_path, monkeypatch):
    """The same range run on Dagster's own SQLite storage and on the CLI's instance (its batches counted)."""
    batches: list[int] = []
    store = BatchedSqliteEventLogStorage.store_event_batch

    def counted(self, events):
        batches.append(len(events))
        store(self, events)

    monkeypatch.setattr(BatchedSqliteEventLogStorage, "store_event_batch", counted)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    dagsters = tmp_path / "dagster"
    dagsters.mkdir()
    (dagsters / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "ours"))
    ours = runner.dagster_home(tmp_path / "b.duckdb")
    monkeypatch.delenv("DAGSTER_HOME")
    return {
        "dagster": (dagsters, *_range_run(dagsters, tmp_path / "a.duckdb")),
        "ours": (ours, *_range_run(ours, tmp_path / "b.duckdb")),
        "batches": batches,
    }


def test_the_cli_instance_batches_range_runs(two_runs):
    home, instance, _ = two_runs["ours"]
    assert isinstance(instance.event_log_storage, BatchedSqliteEventLogStorage)
    assert (home / "history" / "runs" / "index.db").exists(), "the event log stays where Dagster keeps it"
    assert not isinstance(two_runs["dagster"][1].event_log_storage, BatchedSqliteEventLogStorage)
    sessions = len(price_partitions.get_partition_keys_in_range(dg.PartitionKeyRange(START.isoformat(), "2025-02-28")))
    assert sessions in two_runs["batches"], (
        f"the run's {sessions} materializations came in batches {two_runs['batches']}"
    )


def test_batched_rows_are_dagsters_rows(two_runs):
    (their_home, theirs, their_run), (our_home, ours, our_run) = two_runs["dagster"], two_runs["ours"]
    runs = "history/runs"
    for what, sql in INDEX_QUERIES.items():
        expected = _rows(their_home / runs / "index.db", sql)
        assert _rows(our_home / runs / "index.db", sql) == expected, what
    assert len(_rows(our_home / runs / "index.db", INDEX_QUERIES["asset tags"])) > 0
    assert _rows(our_home / runs / f"{our_run}.db", RUN_QUERY) == _rows(
        their_home / runs / f"{their_run}.db", RUN_QUERY
    )
    keys = price_partitions.get_partition_keys_in_range(dg.PartitionKeyRange(START.isoformat(), "2025-02-28"))
    assert ours.get_materialized_partitions(PRICES) == theirs.get_materialized_partitions(PRICES) == set(keys)
    latest = ours.get_latest_materialization_event(PRICES)
    assert latest is not None and latest.dagster_event.partition == keys[-1]
    assert ours.get_status_by_partition(PRICES, keys, price_partitions) == dict.fromkeys(
        keys, dg.AssetPartitionStatus.MATERIALIZED
    )


needs_postgres = pytest.mark.skipif(
    not list(Path("/usr/lib/postgresql").glob("*/bin/initdb")), reason="PostgreSQL server binaries not installed"
)
CHECK_ROWS = (
    "SELECT asset_key, check_name, partition, execution_status, evaluation_event IS NOT NULL "
    "FROM asset_check_executions ORDER BY check_name, partition"
)


@needs_postgres
def test_serves_postgres_storage_writes_dagsters_check_rows(monkeypatch):
    """`impact serve`'s event log (pipelines.dagster_storage_postgres) against dagster-postgres's own, same run."""
    import psycopg2

    from pipelines.dagster_storage_postgres import PostgresEventLogStorage
    from pipelines.postgres import PrivateCluster, sqlalchemy_url
    from pipelines.serve import STORAGE_YAML, URL_ENV

    folder = Path(tempfile.mkdtemp(prefix="impact-storage-"))
    folder.chmod(0o755)  # the cluster runs as the postgres user when the tests run as root
    cluster = PrivateCluster(folder / ".postgres")
    try:
        url = cluster.start()
        con = psycopg2.connect(url)
        con.autocommit = True
        con.cursor().execute("CREATE DATABASE theirs")
        con.close()
        theirs_url = url.rsplit("/", 1)[0] + "/theirs"
        monkeypatch.setenv(URL_ENV, sqlalchemy_url(url))
        homes = {"ours": folder / "ours", "theirs": folder / "theirs"}
        homes["ours"].mkdir()
        (homes["ours"] / "dagster.yaml").write_text(STORAGE_YAML)
        homes["theirs"].mkdir()
        (homes["theirs"] / "dagster.yaml").write_text(
            f'storage:\n  postgres:\n    postgres_url: "{sqlalchemy_url(theirs_url)}"\n'
        )
        rows = {}
        for name, home in homes.items():
            instance, _ = _range_run(home, folder / f"{name}.duckdb")
            is_ours = isinstance(instance.event_log_storage, PostgresEventLogStorage)
            assert is_ours == (name == "ours"), name
            with psycopg2.connect(url if name == "ours" else theirs_url) as con:
                cursor = con.cursor()
                cursor.execute(CHECK_ROWS)
                rows[name] = cursor.fetchall()
            instance.dispose()
        assert rows["ours"] == rows["theirs"] and len(rows["ours"]) > 100
    finally:
        cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)
