"""`--out` never clobbers data: not the warehouse or its files, not the Dagster home, not a DuckDB file,
an existing file only with --force, and a failed write leaves the old file whole."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from pipelines import outputs, warehouse
from pipelines.cli import app
from pipelines.errors import OutputError


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty warehouse (schema and macros), the one $IMPACT_WAREHOUSE names; DAGSTER_HOME unset."""
    path = tmp_path / "data" / "w.duckdb"
    path.parent.mkdir()
    with warehouse.writer(path):
        pass
    monkeypatch.setenv("IMPACT_WAREHOUSE", str(path))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    return path


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part") or p.name.startswith(".report-"))


# --------------------------------------------------------------------------------------------- the helper


@pytest.mark.parametrize("name", ["w.duckdb", "w.duckdb.wal", "w.duckdb.tmp", "w.duckdb.converting"])
def test_the_warehouse_and_its_files_are_refused(store, name):
    before = _sha(store)
    with pytest.raises(OutputError, match="warehouse"):
        outputs.write_output(store.parent / name, "x", force=True)
    assert _sha(store) == before and sorted(p.name for p in store.parent.iterdir()) == ["w.duckdb"]


def test_the_warehouse_named_by_the_command_is_refused_too(store, tmp_path):
    other = tmp_path / "other.duckdb"
    with pytest.raises(OutputError, match="warehouse"):
        outputs.check_output(other, force=True, warehouse_file=other)


def test_the_dagster_home_is_refused(store, tmp_path, monkeypatch):
    with pytest.raises(OutputError, match="Dagster home"):
        outputs.write_output(store.parent / ".dagster" / "runs.db", "x")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dh"))
    with pytest.raises(OutputError, match="Dagster home"):
        outputs.write_output(tmp_path / "dh" / "history" / "x.csv", "x")
    assert not (tmp_path / "dh").exists()


def test_a_duckdb_file_is_never_replaced(store, tmp_path):
    other = tmp_path / "notes.csv"  # a database whatever its name
    duckdb.connect(str(other)).close()
    before = _sha(other)
    with pytest.raises(OutputError, match="DuckDB database"):
        outputs.write_output(other, "a,b\n", force=True)
    assert _sha(other) == before


def test_an_existing_file_needs_force(store, tmp_path):
    target = tmp_path / "r.csv"
    target.write_text("old")
    with pytest.raises(OutputError, match="--force"):
        outputs.write_output(target, "new")
    assert target.read_text() == "old"
    outputs.write_output(target, "new", force=True)
    assert target.read_text() == "new" and _leftovers(tmp_path) == []


def test_a_folder_is_refused(store, tmp_path):
    with pytest.raises(OutputError, match="folder"):
        outputs.write_output(tmp_path, "x", force=True)


def test_a_failed_write_leaves_the_old_file(store, tmp_path):
    target = tmp_path / "r.csv"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="disk"):
        with outputs.output_file(target, force=True) as temporary:
            temporary.write_text("half")
            raise RuntimeError("disk full halfway")
    assert target.read_text() == "old" and _leftovers(tmp_path) == []


# --------------------------------------------------------------------------------------------- the commands


def _impact(*args: str):
    return CliRunner().invoke(app, list(args))


def test_sql_out_onto_the_warehouse_is_refused_and_it_is_unchanged(store):
    before = _sha(store)
    for target in (store, store.with_name("w.duckdb.wal")):
        result = _impact("sql", "SELECT 1 AS x", "--format", "csv", "--out", str(target))
        assert result.exit_code == 1 and "Error: --out" in result.output and "warehouse" in result.output
    assert _sha(store) == before and not store.with_name("w.duckdb.wal").exists()


def test_sql_out_into_the_dagster_home_is_refused(store):
    home = store.parent / ".dagster"
    result = _impact("sql", "SELECT 1 AS x", "--format", "csv", "--out", str(home / "x.csv"))
    assert result.exit_code == 1 and "Dagster home" in result.output and not home.exists()


def test_sql_out_replaces_a_file_only_with_force(store, tmp_path):
    target = tmp_path / "r.parquet"
    target.write_text("keep me")
    refused = _impact("sql", "SELECT 1 AS x", "--format", "parquet", "--out", str(target))
    assert refused.exit_code == 1 and "exists: add --force" in refused.output
    assert target.read_text() == "keep me"
    done = _impact("sql", "SELECT 1 AS x", "--format", "parquet", "--out", str(target), "--force")
    assert done.exit_code == 0, done.output
    assert duckdb.sql(f"SELECT x FROM '{target}'").fetchall() == [(1,)] and _leftovers(tmp_path) == []


def test_schema_out_replaces_a_file_only_with_force(store, tmp_path):
    target = tmp_path / "schema.md"
    target.write_text("keep me")
    refused = _impact("schema", "--out", str(target))
    assert refused.exit_code == 1 and "exists: add --force" in refused.output and target.read_text() == "keep me"
    done = _impact("schema", "--out", str(target), "--force")
    assert done.exit_code == 0, done.output
    assert "core.prices" in target.read_text()


def test_report_out_onto_the_warehouse_is_refused_before_building(store):
    before = _sha(store)
    result = _impact("report", "--event", "deepseek-r1-release", "--out", str(store))
    assert result.exit_code == 1 and "Error: --out" in result.output and "warehouse" in result.output
    assert _sha(store) == before and _leftovers(store.parent) == []
