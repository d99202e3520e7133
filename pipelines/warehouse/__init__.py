"""The DuckDB warehouse: connections, layout and writes in one package, which readers use cheaply.

Imports no Dagster and nothing of ``pipelines`` but the shared leaves (errors, settings, locations),
so dashboards and ``impact sql`` can use it cheaply.

- ``connection``: the file, its storage format, the locked connection configuration, read-only readers and
  lock waits, transactions;
- ``identity``: the ``meta.warehouse`` marker (application, schema version), refusing other applications' files;
- ``schema``: tables, views, macros, comments and the versioned migrations;
- ``writes``: partition replacements of prices, headlines and sentiment;
- ``marts``: whole-table replacements of the events and the marts.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from pipelines.errors import WarehouseError
from pipelines.locations import default_warehouse
from pipelines.warehouse.connection import (
    STORAGE_VERSION,
    WAREHOUSE_ENV,
    connection_config,
    database_file,
    is_lock_error,
    open_connection,
    query,
    reader,
    transaction,
    warehouse_path,
    write_errors,
)
from pipelines.warehouse.marts import rebuild_daily_sentiment, replace_table, replace_tables
from pipelines.warehouse.schema import (
    COMMENTS_SQL,
    MACROS_SQL,
    MIGRATIONS,
    SCHEMA_SQL,
    SCHEMA_VERSION,
    SENTIMENT_MACROS_SQL,
    prepare,
)
from pipelines.warehouse.writes import replace_headlines, replace_pair_sentiment, replace_prices

__all__ = [
    "COMMENTS_SQL",
    "MACROS_SQL",
    "MIGRATIONS",
    "REPO_ROOT",
    "SCHEMA_SQL",
    "SCHEMA_VERSION",
    "SENTIMENT_MACROS_SQL",
    "STORAGE_VERSION",
    "WAREHOUSE_ENV",
    "connection_config",
    "database_file",
    "is_lock_error",
    "open_connection",
    "prepare",
    "query",
    "reader",
    "rebuild_daily_sentiment",
    "replace_headlines",
    "replace_pair_sentiment",
    "replace_prices",
    "replace_table",
    "replace_tables",
    "transaction",
    "warehouse_path",
    "write_errors",
    "writer",
]

REPO_ROOT = Path(__file__).resolve().parents[2]
"""The checkout this module runs from (checkout-only readers: dev sets, README); see ``pipelines.locations``."""


def __getattr__(name: str) -> Path:
    """``DEFAULT_WAREHOUSE``: :func:`default_warehouse`, resolved when asked (it reads ``$XDG_DATA_HOME``)."""
    if name == "DEFAULT_WAREHOUSE":
        return default_warehouse()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@contextmanager
def writer(path: str | Path | None = None, wait_s: float = 120.0) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection with the schema in place; only Dagster runs and the CLI use it.

    Refuses another application's DuckDB file and a warehouse of a newer schema version (WarehouseError);
    marks a new file and migrates an older one (``schema.prepare``).
    """
    target = warehouse_path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise WarehouseError(f"cannot create the warehouse folder {target.parent}: {error}") from error
    con = open_connection(target, read_only=False, wait_s=wait_s)
    try:
        prepare(con)
        yield con
    finally:
        con.close()
