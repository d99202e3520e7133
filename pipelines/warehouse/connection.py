"""Connections to the DuckDB warehouse file: where it is, its storage format, the configuration every
connection opens with, lock waits, transactions.

DuckDB allows one writer process or many read-only readers, never both: readers keep their
connections short and retry while a writer holds the file.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from pipelines.errors import WarehouseError
from pipelines.locations import default_warehouse
from pipelines.warehouse.identity import refuse_foreign

if TYPE_CHECKING:  # pandas loads inside the reads that use it: `impact sql` stays cheap
    import pandas as pd

WAREHOUSE_ENV = "IMPACT_WAREHOUSE"
STORAGE_VERSION = "v1.4.0"
"""DuckDB storage format of the warehouse file (storage version 67), so that DuckDB >= 1.4 opens it: the
1.4 LTS line, the CLI on PyPI (``duckdb-cli`` 1.5) and BI tools on those drivers, besides the locked duckdb 2.x.
A new file is created in it, DuckDB keeps a file in the format it was created in, and a writer converts a
file in a newer format once (see ``open_connection``)."""

_LOCK_MARKERS = ("Could not set lock", "Conflicting lock", "lock on file")

NO_EXTENSION_REPOSITORY = os.path.join(os.devnull, "impact-installs-no-extensions")
"""Where a plain ``INSTALL`` looks for extensions: a path that cannot exist (under the null device), so it
fails at once instead of downloading."""


def temp_directory() -> Path:
    """Where DuckDB spills: ``$IMPACT_DUCKDB_TEMP_DIR``, else ``ai-market-impact-<uid>`` in the system temp folder.

    Never DuckDB's default ``<warehouse>.tmp`` beside the file (inside ``data/`` in a checkout). DuckDB
    names its temporary files by process, so processes can share the folder.
    """
    from pipelines.settings import value

    chosen = value("IMPACT_DUCKDB_TEMP_DIR")
    if chosen:
        return Path(chosen).expanduser().resolve()
    user = f"-{os.getuid()}" if hasattr(os, "getuid") else ""  # Windows: the temp folder is the user's own
    return Path(tempfile.gettempdir()) / f"ai-market-impact{user}"


def connection_config() -> dict[str, str | bool | int | float | list[str]]:
    """The configuration of every connection to a warehouse file, read from the settings now.

    No extension is installed or loaded behind a query's back (nor by a plain ``INSTALL``), spills go
    to :func:`temp_directory` up to ``IMPACT_DUCKDB_TEMP_LIMIT``, and ``IMPACT_DUCKDB_MEMORY_LIMIT`` /
    ``IMPACT_DUCKDB_THREADS`` bound memory and threads. DuckDB (2.0.1) has no statement timeout setting.
    Every open uses the same configuration: DuckDB refuses a second in-process connection to one
    file with another one.
    """
    from pipelines.settings import value

    config: dict[str, str | bool | int | float | list[str]] = {
        "autoload_known_extensions": False,
        "autoinstall_known_extensions": False,
        "allow_community_extensions": False,
        "custom_extension_repository": NO_EXTENSION_REPOSITORY,
        "autoinstall_extension_repository": NO_EXTENSION_REPOSITORY,
        "temp_directory": str(temp_directory()),
        "max_temp_directory_size": value("IMPACT_DUCKDB_TEMP_LIMIT"),
    }
    memory, threads = value("IMPACT_DUCKDB_MEMORY_LIMIT"), value("IMPACT_DUCKDB_THREADS")
    if memory:
        config["memory_limit"] = memory
    if threads:
        config["threads"] = threads
    return config


def warehouse_path(override: str | Path | None = None) -> Path:
    """The warehouse file: an explicit path, else ``$IMPACT_WAREHOUSE``, else :func:`default_warehouse`
    (``data/warehouse.duckdb`` in a checkout, the user data folder for an installed copy)."""
    from pipelines.settings import value

    chosen = override or value(WAREHOUSE_ENV) or default_warehouse()
    return Path(chosen).expanduser().resolve()


def is_lock_error(error: Exception) -> bool:
    """True when ``error`` says another process holds the file (worth waiting for, unlike a full disk)."""
    return any(marker in str(error) for marker in _LOCK_MARKERS)


def open_connection(path: Path, read_only: bool, wait_s: float) -> duckdb.DuckDBPyConnection:
    """Open the file with :func:`connection_config`, retrying with backoff while another process holds a
    conflicting lock.

    A read-write open refuses another application's DuckDB file before changing anything
    (:func:`pipelines.warehouse.identity.refuse_foreign`), creates a missing file in ``STORAGE_VERSION`` and converts a file in a newer
    format (one written before that setting existed, or by a newer DuckDB) to it. DuckDB cannot
    downgrade a file in place, so the conversion copies every schema, table, view, macro and comment
    into a new file beside it and renames that over the original while holding the write lock; if
    it fails, the original is left as it was and the error says so. Read-only opens never convert.
    """
    deadline = time.monotonic() + wait_s
    delay = 0.05
    converted = False
    config = connection_config()
    while True:
        try:
            if not read_only and not path.exists():
                # Created by a throw-away connection so that every later open has the same configuration:
                # DuckDB refuses two in-process connections to one file with different ones.
                created = {**config, "storage_compatibility_version": STORAGE_VERSION}
                duckdb.connect(str(path), config=created).close()
            con = duckdb.connect(str(path), read_only=read_only, config=config)
        except (duckdb.IOException, duckdb.ConnectionException) as error:
            if not is_lock_error(error) or time.monotonic() >= deadline:
                mode = "read-only" if read_only else "read-write"
                raise WarehouseError(f"cannot open warehouse {path} {mode}: {error}") from error
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
            continue
        if read_only:
            return con
        try:
            refuse_foreign(con, path)
        except BaseException:
            con.close()
            raise
        if converted or not _convert_storage(con, path):
            return con
        converted = True  # open the new file, through the lock retries: another process may get it first


def _storage_key(version: str) -> tuple[int, ...]:
    """'v1.4.0+' -> (1, 4, 0); () when DuckDB reports no storage version."""
    try:
        return tuple(int(part) for part in version.strip().lstrip("v").rstrip("+").split("."))
    except ValueError:
        return ()


def _convert_storage(con: duckdb.DuckDBPyConnection, path: Path) -> bool:
    """Rewrite a file in a storage format newer than ``STORAGE_VERSION``; True (and ``con`` closed) when it did."""
    name, tags = con.execute(
        "SELECT database_name, tags FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchall()[0]
    version = (tags or {}).get("storage_version", "")
    if not _storage_key(version) or _storage_key(version) <= _storage_key(STORAGE_VERSION):
        return False
    temporary = path.with_name(path.name + ".converting")
    attached = False
    try:
        for leftover in (temporary, temporary.with_name(temporary.name + ".wal")):
            leftover.unlink(missing_ok=True)
        con.execute("CHECKPOINT")
        quoted = str(temporary).replace("'", "''")
        con.execute(f"ATTACH '{quoted}' AS impact_storage_conversion (STORAGE_VERSION '{STORAGE_VERSION}')")
        attached = True
        con.execute(f'COPY FROM DATABASE "{name.replace(chr(34), chr(34) * 2)}" TO impact_storage_conversion')
        con.execute("DETACH impact_storage_conversion")
        attached = False
        os.replace(temporary, path)  # atomic, under the write lock on the original
    except (duckdb.Error, OSError) as error:
        if attached:
            try:
                con.execute("DETACH impact_storage_conversion")
            except duckdb.Error:
                pass
        con.close()
        for leftover in (temporary, temporary.with_name(temporary.name + ".wal")):
            try:
                leftover.unlink(missing_ok=True)
            except OSError:
                pass
        raise WarehouseError(
            f"warehouse {path} is in DuckDB storage format {version}, newer than {STORAGE_VERSION} that DuckDB 1.4/1.5 "
            f"clients (the duckdb CLI, BI drivers) read; DuckDB cannot downgrade a file in place and copying it into "
            f"{STORAGE_VERSION} failed, the file is unchanged: {error}"
        ) from error
    con.close()
    return True


@contextmanager
def reader(path: str | Path | None = None, wait_s: float = 30.0) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short read-only connection; retries while a writer holds the file."""
    target = warehouse_path(path)
    if not target.exists():
        raise WarehouseError(f"no warehouse at {target}: run `impact demo` or `impact ingest` first")
    con = open_connection(target, read_only=True, wait_s=wait_s)
    try:
        yield con
    finally:
        con.close()


def query(sql: str, params: Sequence[object] | None = None, path: str | Path | None = None) -> pd.DataFrame:
    """Run one read-only query and return a DataFrame, holding the file only for that query."""
    with reader(path) as con:
        return con.execute(sql, params or []).df()


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """All-or-nothing: commit when the block succeeds, roll back and re-raise when it does not."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


@contextmanager
def write_errors(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Name the warehouse when a write fails (disk full, read-only file), keeping DuckDB's own reason."""
    try:
        yield
    except duckdb.Error as error:
        raise WarehouseError(f"cannot write warehouse {database_file(con)}: {error}") from error


def database_file(con: duckdb.DuckDBPyConnection) -> str:
    rows = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchall()
    return rows[0][0] if rows and rows[0][0] else "(in memory)"
