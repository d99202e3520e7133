"""Whose file it is and how every connection opens: the meta.warehouse marker, versioned migrations, refusing
other applications' files, and the locked connection configuration (no extension downloads, bounded spills)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import duckdb
import pytest

from pipelines import warehouse
from pipelines.errors import WarehouseError
from pipelines.settings import SettingsError
from pipelines.warehouse import schema
from pipelines.warehouse.identity import APP
from tests.loopback import serving

NEXT = schema.SCHEMA_VERSION + 1
"""The first version no real migration has: the test migrations take it and the one after."""
MARKER = (
    "SELECT app, schema_version, created_at, created_by_version, migrated_at, migrated_by_version FROM meta.warehouse"
)


def _marker(path: Path) -> tuple:
    with warehouse.reader(path) as con:
        rows = con.execute(MARKER).fetchall()
    assert len(rows) == 1
    return rows[0]


def _raw(path: Path, *statements: str) -> None:
    """Change a file behind the writer's back, as another program (or an older version of this one) would."""
    with duckdb.connect(str(path), config=warehouse.connection_config()) as con:
        for statement in statements:
            con.execute(statement)


def _new_warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "w.duckdb"
    with warehouse.writer(path):
        pass
    return path


# --------------------------------------------------------------------------------------------- the marker


def test_a_new_file_is_marked_with_the_current_schema_version(tmp_path):
    path = _new_warehouse(tmp_path)
    app, version, created_at, created_by, migrated_at, migrated_by = _marker(path)
    assert (app, version, migrated_at, migrated_by) == (APP, warehouse.SCHEMA_VERSION, None, None)
    assert created_at is not None and created_by
    with warehouse.reader(path) as con:
        comment = con.execute(
            "SELECT comment FROM duckdb_tables() WHERE schema_name = 'meta' AND table_name = 'warehouse'"
        ).fetchone()[0]
    assert "ai-market-impact warehouse" in comment


def test_the_duckdb_cli_shows_the_marker(tmp_path):
    """The 1.5 CLI (storage v1.4.0) opens the marked file read-only and reads the marker."""
    beside = Path(sys.executable).with_name("duckdb")
    cli = str(beside) if beside.is_file() else shutil.which("duckdb")
    if cli is None:
        pytest.skip("the DuckDB CLI is not installed (`pip install duckdb-cli`)")
    path = _new_warehouse(tmp_path)
    done = subprocess.run(
        [cli, "-readonly", "-csv", "-noheader", str(path), "-c", "SELECT app, schema_version FROM meta.warehouse"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{APP},{warehouse.SCHEMA_VERSION}"


def test_another_applications_file_is_refused_and_left_unchanged(tmp_path):
    path = tmp_path / "crm.duckdb"
    with duckdb.connect(str(path)) as con:  # the locked duckdb's defaults: its newest storage format too
        con.execute("CREATE TABLE customers AS SELECT 1 AS id; CREATE TABLE orders AS SELECT 1 AS id")
    before = path.read_bytes()
    with pytest.raises(WarehouseError) as caught:
        with warehouse.writer(path):
            pass
    assert str(caught.value) == (
        f"{path} is a DuckDB file of another application (tables main.customers, main.orders): "
        "refusing to add the impact schema; pass a new path"
    )
    assert path.read_bytes() == before  # neither converted to the older storage format nor given our schema
    assert sorted(p.name for p in tmp_path.iterdir()) == ["crm.duckdb"]


def test_a_file_marked_by_another_application_is_refused(tmp_path):
    path = _new_warehouse(tmp_path)
    _raw(path, "UPDATE meta.warehouse SET app = 'someone-else'")
    with pytest.raises(
        WarehouseError, match=r"another application \('someone-else' in meta.warehouse\).*pass a new path"
    ):
        with warehouse.writer(path):
            pass


def test_an_impact_warehouse_from_before_the_marker_is_adopted(tmp_path):
    path = _new_warehouse(tmp_path)
    _raw(
        path,
        "DROP SCHEMA meta CASCADE",
        "INSERT INTO core.events VALUES ('e1', 'Event', 'earnings', 'curated', NULL, DATE '2025-01-27', 'exact', "
        "['NVDA'], NULL, NULL, NULL, now())",
    )
    with warehouse.writer(path):
        pass
    app, version, _, _, migrated_at, _ = _marker(path)
    assert (app, version) == (APP, warehouse.SCHEMA_VERSION)
    assert migrated_at is not None  # adopted at the baseline, then every migration checked its layout
    with warehouse.reader(path) as con:
        assert con.execute("SELECT event_id FROM core.events").fetchall() == [("e1",)]


# --------------------------------------------------------------------------------------------- migrations


def test_migrations_are_ordered_by_version_and_end_at_the_schema_version():
    versions = [m.version for m in schema.MIGRATIONS]
    assert versions == sorted(set(versions)) and versions[0] > schema.BASELINE_VERSION
    assert warehouse.SCHEMA_VERSION == versions[-1]


def test_an_old_layout_is_migrated_to_the_current_one_and_the_marker_bumped(tmp_path):
    """A version-1 file (sentiment keyed by headline) goes to the pair layout of version 2, keeping its rows, and on
    through every later migration to the current version."""
    path = _new_warehouse(tmp_path)
    _raw(
        path,
        "UPDATE meta.warehouse SET schema_version = 1",
        "INSERT INTO core.headlines VALUES ('h1', DATE '2025-01-27', DATE '2025-01-27', TIMESTAMPTZ '2025-01-27 14:00:00+00', "
        "'Nvidia and AMD slide', NULL, NULL, NULL, ['AMD', 'NVDA'], 'test', now())",
        "DROP TABLE core.headline_sentiment",
        "CREATE TABLE core.headline_sentiment (headline_id VARCHAR NOT NULL, model VARCHAR NOT NULL, model_version VARCHAR NOT NULL, "
        "label VARCHAR NOT NULL, p_negative DOUBLE NOT NULL, p_neutral DOUBLE NOT NULL, p_positive DOUBLE NOT NULL, "
        "score DOUBLE NOT NULL, scored_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (headline_id, model))",
        "INSERT INTO core.headline_sentiment VALUES ('h1', 'old', 'v0', 'negative', 0.8, 0.1, 0.1, -0.7, now())",
    )
    with warehouse.writer(path):
        pass
    _, version, _, _, migrated_at, migrated_by = _marker(path)
    assert version == schema.SCHEMA_VERSION and migrated_at is not None and migrated_by
    with warehouse.reader(path) as con:
        rows = con.execute(
            "SELECT ticker, relevance, model, score FROM core.headline_sentiment ORDER BY ticker"
        ).fetchall()
    assert rows == [("AMD", "direct", "old", -0.7), ("NVDA", "direct", "old", -0.7)]


def _recording(monkeypatch, calls: list[int], fail_at: int | None = None) -> None:
    """MIGRATIONS = the real ones plus the next two versions (NEXT, NEXT + 1), which record that they ran (or fail
    after a change)."""

    def step(version: int):
        def apply(con: duckdb.DuckDBPyConnection) -> None:
            con.execute(f"CREATE TABLE core.step_{version} AS SELECT {version} AS v")
            if version == fail_at:
                con.execute("SELECT * FROM core.no_such_table")
            calls.append(version)

        return schema.Migration(version, apply)

    monkeypatch.setattr(schema, "MIGRATIONS", [*schema.MIGRATIONS, step(NEXT), step(NEXT + 1)])


def test_each_migration_runs_once_in_order(tmp_path, monkeypatch):
    path = _new_warehouse(tmp_path)  # the current version
    calls: list[int] = []
    _recording(monkeypatch, calls)
    with warehouse.writer(path):
        pass
    assert calls == [NEXT, NEXT + 1] and _marker(path)[1] == NEXT + 1
    with warehouse.writer(path):
        pass
    assert calls == [NEXT, NEXT + 1]  # already current: nothing runs again


def test_an_already_current_file_is_untouched(tmp_path, monkeypatch):
    path = _new_warehouse(tmp_path)
    before = _marker(path)
    calls: list[int] = []
    monkeypatch.setattr(
        schema,
        "MIGRATIONS",
        [schema.Migration(m.version, lambda con, v=m.version: calls.append(v)) for m in schema.MIGRATIONS],
    )
    with warehouse.writer(path):
        pass
    assert calls == [] and _marker(path) == before


def test_a_failed_migration_changes_nothing_and_keeps_the_version(tmp_path, monkeypatch):
    path = _new_warehouse(tmp_path)
    calls: list[int] = []
    _recording(monkeypatch, calls, fail_at=NEXT + 1)
    with pytest.raises(WarehouseError, match=r"cannot write warehouse .*w\.duckdb.*no_such_table"):
        with warehouse.writer(path):
            pass
    assert calls == [NEXT] and _marker(path)[1] == NEXT  # the first step committed; the second rolled back whole
    with warehouse.reader(path) as con:
        tables = {
            t
            for (t,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE table_name LIKE 'step_%'").fetchall()
        }
    assert tables == {f"step_{NEXT}"}


def test_a_newer_schema_version_is_refused_with_upgrade_advice(tmp_path):
    path = _new_warehouse(tmp_path)
    _raw(path, f"UPDATE meta.warehouse SET schema_version = {warehouse.SCHEMA_VERSION + 1}")
    before = _marker(path)
    with pytest.raises(WarehouseError) as caught:
        with warehouse.writer(path):
            pass
    message = str(caught.value)
    assert message.startswith(
        f"{path} has warehouse schema version {warehouse.SCHEMA_VERSION + 1}, newer than version "
        f"{warehouse.SCHEMA_VERSION}"
    )
    assert "upgrade ai-market-impact" in message
    assert _marker(path) == before


# --------------------------------------------------------------------------------------------- connection configuration

SETTINGS_SQL = (
    "SELECT current_setting('memory_limit'), current_setting('threads'), current_setting('temp_directory'), "
    "current_setting('max_temp_directory_size'), current_setting('autoload_known_extensions'), "
    "current_setting('autoinstall_known_extensions'), current_setting('allow_community_extensions')"
)


def test_every_connection_opens_with_the_configured_limits(tmp_path, monkeypatch):
    spill = tmp_path / "spill"
    monkeypatch.setenv("IMPACT_DUCKDB_MEMORY_LIMIT", "1GiB")
    monkeypatch.setenv("IMPACT_DUCKDB_THREADS", "1")
    monkeypatch.setenv("IMPACT_DUCKDB_TEMP_DIR", str(spill))
    monkeypatch.setenv("IMPACT_DUCKDB_TEMP_LIMIT", "256MiB")
    path = tmp_path / "w.duckdb"
    expected = ("1.0 GiB", 1, str(spill), "256.0 MiB", False, False, False)
    with warehouse.writer(path) as con:
        assert con.execute(SETTINGS_SQL).fetchone() == expected
    with warehouse.reader(path) as first, warehouse.reader(path) as second:  # many readers, one configuration
        assert first.execute(SETTINGS_SQL).fetchone() == second.execute(SETTINGS_SQL).fetchone() == expected


def test_spills_go_to_the_system_temp_folder_by_default(tmp_path, monkeypatch):
    monkeypatch.delenv("IMPACT_DUCKDB_TEMP_DIR", raising=False)
    path = _new_warehouse(tmp_path)
    with warehouse.reader(path) as con:
        temp = Path(con.execute("SELECT current_setting('temp_directory')").fetchone()[0])
    assert temp.name.startswith("ai-market-impact") and temp.parent == Path(tempfile.gettempdir())
    assert tmp_path not in temp.parents  # not DuckDB's default beside the file
    assert warehouse.connection_config()["max_temp_directory_size"] == "8GB"


def test_a_bad_limit_names_the_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("IMPACT_DUCKDB_MEMORY_LIMIT", "lots")
    with pytest.raises(SettingsError, match=r"IMPACT_DUCKDB_MEMORY_LIMIT='lots' is not valid: expected a size"):
        with warehouse.writer(tmp_path / "w.duckdb"):
            pass
    assert not (tmp_path / "w.duckdb").exists()


class _Recorder(BaseHTTPRequestHandler):
    """A stand-in HTTP proxy: notes every request DuckDB sends through it, answers 404."""

    seen: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self.seen.append(self.path)
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def _try(con: duckdb.DuckDBPyConnection, statement: str) -> str:
    try:
        con.execute(statement)
    except duckdb.Error as error:
        return str(error)
    return "ran"


def test_extensions_are_neither_downloaded_nor_autoloaded(tmp_path):
    """Every request DuckDB makes goes through a recording proxy on 127.0.0.1: a plain connection downloads
    httpfs when a query names an https URL; a warehouse connection fails at once without a request."""
    path = _new_warehouse(tmp_path)
    _Recorder.seen = []
    with serving(_Recorder) as port:
        with duckdb.connect() as plain:  # the control: proves the proxy sees DuckDB's download attempts
            plain.execute(f"SET http_proxy = '127.0.0.1:{port}'")
            _try(plain, "SELECT * FROM 'https://example.com/prices.csv'")
        assert any("httpfs" in seen for seen in _Recorder.seen), _Recorder.seen
        _Recorder.seen = []
        for opened in (warehouse.writer(path), warehouse.reader(path)):
            with opened as con:
                con.execute(f"SET http_proxy = '127.0.0.1:{port}'")
                assert "requires the extension httpfs to be loaded" in _try(
                    con, "SELECT * FROM 'https://example.com/prices.csv'"
                )
                assert "no access to the file" in _try(con, "INSTALL httpfs")
                assert "no access to the file" in _try(con, "INSTALL spatial")
        assert _Recorder.seen == []
