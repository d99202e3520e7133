"""Whose DuckDB file this is: the ``meta.warehouse`` marker row (application, schema version) and the refusal
to write the impact schema into another application's file.

The marker is a plain table, so every DuckDB client (the 1.4/1.5 CLI included) shows it:
``FROM meta.warehouse``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines.errors import WarehouseError

APP = "ai-market-impact"
"""What ``meta.warehouse.app`` says in every file this project writes (the distribution's name)."""
OUR_SCHEMAS = ("raw", "core", "mart")
"""The schemas an impact warehouse keeps its tables in; an unmarked file with tables in them is ours."""

MARKER_SQL = f"""
CREATE SCHEMA IF NOT EXISTS meta;
CREATE TABLE IF NOT EXISTS meta.warehouse (
    app                 VARCHAR     NOT NULL,
    schema_version      INTEGER     NOT NULL,
    created_at          TIMESTAMPTZ NOT NULL,
    created_by_version  VARCHAR     NOT NULL,
    migrated_at         TIMESTAMPTZ,
    migrated_by_version VARCHAR
);
COMMENT ON TABLE meta.warehouse IS 'Identity of this file: one row saying it is an {APP} warehouse and which schema version its layout has.';
COMMENT ON COLUMN meta.warehouse.app IS 'Always ''{APP}''.';
COMMENT ON COLUMN meta.warehouse.schema_version IS 'Layout version (pipelines/warehouse/schema.py MIGRATIONS); a newer {APP} migrates it, an older one refuses it.';
COMMENT ON COLUMN meta.warehouse.created_at IS 'When the file was created, or adopted when it predates the marker (UTC).';
COMMENT ON COLUMN meta.warehouse.created_by_version IS 'The {APP} version that created or adopted the file.';
COMMENT ON COLUMN meta.warehouse.migrated_at IS 'When the last migration ran (UTC); NULL when none has.';
COMMENT ON COLUMN meta.warehouse.migrated_by_version IS 'The {APP} version that ran the last migration.';
"""


@dataclass(frozen=True)
class Marker:
    """The marker row's identity fields."""

    app: str
    schema_version: int


def package_version() -> str:
    """The installed ai-market-impact version, or ``unknown`` for a checkout that was never installed."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(APP)
    except PackageNotFoundError:
        return "unknown"


def has_meta_table(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether the connected file has ``meta.<table>`` (files from before the marker have no meta schema)."""
    return bool(
        con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
            "AND schema_name = 'meta' AND table_name = ?",
            [table],
        ).fetchall()[0][0]
    )


def read_marker(con: duckdb.DuckDBPyConnection, path: Path | str) -> Marker | None:
    """The connected file's marker, or None when it has none (a new file, or one from before the marker)."""
    if not has_meta_table(con, "warehouse"):
        return None
    rows = con.execute("SELECT app, schema_version FROM meta.warehouse").fetchall()
    if len(rows) != 1:
        raise WarehouseError(
            f"{path}: meta.warehouse should hold one row and holds {len(rows)}; "
            "restore the file from a backup or pass a new path"
        )
    return Marker(rows[0][0], int(rows[0][1]))


def stored_objects(con: duckdb.DuckDBPyConnection) -> list[str]:
    """schema.name of every table and view of the connected file, the marker aside."""
    rows = con.execute(
        "SELECT schema_name || '.' || table_name FROM duckdb_tables() "
        "WHERE database_name = current_database() AND schema_name <> 'meta' "
        "UNION ALL SELECT schema_name || '.' || view_name FROM duckdb_views() "
        "WHERE database_name = current_database() AND NOT internal AND schema_name <> 'meta' ORDER BY 1"
    ).fetchall()
    return [name for (name,) in rows]


def refuse_foreign(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Raise :class:`WarehouseError` when ``path`` belongs to another application, before anything is written.

    Another application's file: a marker naming another app, or no marker and tables of which none is
    in raw/core/mart. An empty file, a marked impact warehouse or one from before the marker passes.
    """
    marker = read_marker(con, path)
    if marker is not None:
        if marker.app != APP:
            raise WarehouseError(
                f"{path} is a DuckDB file of another application ({marker.app!r} in meta.warehouse): "
                "refusing to add the impact schema; pass a new path"
            )
        return
    objects = stored_objects(con)
    if objects and not any(name.split(".", 1)[0] in OUR_SCHEMAS for name in objects):
        shown = ", ".join(objects[:5]) + (f" and {len(objects) - 5} more" if len(objects) > 5 else "")
        raise WarehouseError(
            f"{path} is a DuckDB file of another application (tables {shown}): "
            "refusing to add the impact schema; pass a new path"
        )


def write_marker(con: duckdb.DuckDBPyConnection, schema_version: int) -> None:
    """Mark the connected file as an impact warehouse of ``schema_version`` (the caller holds the transaction)."""
    con.execute(MARKER_SQL)
    con.execute(
        "INSERT INTO meta.warehouse (app, schema_version, created_at, created_by_version) VALUES (?, ?, now(), ?)",
        [APP, schema_version, package_version()],
    )


def set_version(con: duckdb.DuckDBPyConnection, schema_version: int) -> None:
    """Record that a migration brought the file to ``schema_version`` (the caller holds the transaction)."""
    con.execute(
        "UPDATE meta.warehouse SET schema_version = ?, migrated_at = now(), migrated_by_version = ?",
        [schema_version, package_version()],
    )
