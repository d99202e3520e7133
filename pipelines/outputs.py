"""Every ``--out`` file of the `impact` CLI is written here, so that no output ever clobbers data.

Refused: the warehouse (``--warehouse``, ``$IMPACT_WAREHOUSE`` or the default) and the files DuckDB keeps
beside it (``.wal``, ``.tmp``, a conversion in progress), anything inside the Dagster home, and any existing
DuckDB database. Any other existing file is replaced only with ``--force``. The output is written to a
temporary file in the target's folder and renamed over the target once complete, so a failure halfway
leaves the old file as it was.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pipelines import warehouse
from pipelines.errors import OutputError
from pipelines.locations import dagster_home_path

DUCKDB_MAGIC = (8, b"DUCK")
"""(offset, bytes) of the magic number in a DuckDB database file's header."""


def is_duckdb_file(path: Path) -> bool:
    """True when ``path`` is a file that starts with a DuckDB database header."""
    offset, magic = DUCKDB_MAGIC
    try:
        with path.open("rb") as handle:
            return handle.read(offset + len(magic))[offset:] == magic
    except OSError:
        return False


def _protected(target: Path, warehouse_file: str | Path | None) -> str | None:
    """Why ``target`` must not be written (the warehouse, its files, the Dagster home), or None."""
    for database in dict.fromkeys((warehouse.warehouse_path(warehouse_file), warehouse.warehouse_path(None))):
        if target == database or (target.parent == database.parent and target.name.startswith(database.name + ".")):
            return f"it is the warehouse {database} or one of DuckDB's files beside it"
        home = dagster_home_path(database).expanduser().resolve()
        if target.is_relative_to(home):
            return f"it is inside the Dagster home {home}, which holds the run history"
    return None


def check_output(path: str | Path, *, force: bool = False, warehouse_file: str | Path | None = None) -> Path:
    """The resolved file ``path`` names, or an OutputError saying why it cannot be written and what to do."""
    target = Path(path).expanduser().resolve()
    reason = _protected(target, warehouse_file)
    if reason:
        raise OutputError(f"--out {path}: {reason}; write the output somewhere else")
    if target.is_dir():
        raise OutputError(f"--out {path} is a folder: give a file name")
    if target.exists() and is_duckdb_file(target):
        raise OutputError(
            f"--out {path} is a DuckDB database, never replaced (not even with --force): choose another file"
        )
    if target.exists() and not force:
        raise OutputError(f"--out {path} exists: add --force to replace it, or choose another file")
    return target


@contextmanager
def output_file(path: str | Path, *, force: bool = False, warehouse_file: str | Path | None = None) -> Iterator[Path]:
    """Check ``path`` and yield a fresh temporary file beside it to write; renamed over ``path`` when the block ends
    without an error, removed when it raises."""
    target = check_output(path, force=force, warehouse_file=warehouse_file)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")
    os.close(os.open(temporary, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))  # the umask applies, as to any new file
    try:
        yield temporary
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def write_output(
    path: str | Path, data: str | bytes, *, force: bool = False, warehouse_file: str | Path | None = None
) -> Path:
    """Write ``data`` (text as UTF-8) to ``path`` through :func:`output_file`; returns the file written."""
    with output_file(path, force=force, warehouse_file=warehouse_file) as temporary:
        temporary.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return Path(path).expanduser().resolve()
