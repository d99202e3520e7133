"""Ad-hoc SQL over the warehouse, safely: read-only connections, a statement allow-list, the query library.

Notebook use::

    from pipelines.sql import connect, sql
    sql("FROM mart.car(-1, 1) ORDER BY car LIMIT 5")          # a pandas DataFrame
    con = connect()                                              # a read-only DuckDB connection
    con.sql("SELECT core.session_add(DATE '2025-01-27', 5)")

Three layers refuse writes: every statement is checked against an allow-list before any runs (so a
script with one write runs nothing); the file is opened ``read_only``; and the connection has
external access disabled and its configuration locked, so COPY ... TO a file, ATTACH, INSTALL and
LOAD fail inside DuckDB too. Frames of your own can still be queried after ``con.register(name, frame)``.

The macros (pipelines/warehouse/macros.sql) are stored in the warehouse file by every writer connection; the
sentiment macros (pipelines/warehouse/macros_sentiment.sql) only where the sentiment tables exist.
"""

from __future__ import annotations

import re
import signal
import threading
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import duckdb

from pipelines import warehouse as _wh
from pipelines.errors import ImpactError

if TYPE_CHECKING:  # pandas loads when a frame is asked for: `impact sql` prints Arrow results without it
    import pandas as pd

QUERIES_DIR = Path(__file__).with_name("queries")
SENTIMENT_TABLES = ("core.headline_sentiment", "mart.daily_sentiment")
"""The tables macros_sentiment.sql needs (warehouses written before they existed lack them)."""

ALLOWED_STATEMENTS = frozenset({"SELECT", "EXPLAIN", "PRAGMA", "CALL"})
"""Statement types `impact sql` runs. SHOW, DESCRIBE, SUMMARIZE, FROM-first and UNPIVOT parse as SELECT;
the statement inside an EXPLAIN (which EXPLAIN ANALYZE runs) must be allowed too."""

_EXPLAIN_PREFIX = re.compile(r"\s*EXPLAIN\s+(?:ANALY[SZ]E\s+|\([^()]*\)\s*)?", re.IGNORECASE)
"""``EXPLAIN``, ``EXPLAIN ANALYZE`` or ``EXPLAIN (options)`` before the statement it explains."""

T = TypeVar("T")


class SqlError(ImpactError):
    """A query that DuckDB rejected, with DuckDB's message and where in the query it happened."""


class ReadOnlyError(SqlError):
    """A statement that would write (to the warehouse, a file, another database or the extension folder)."""


class QueryInterrupted(SqlError):
    """The user pressed Ctrl-C; DuckDB stopped the query."""

    exit_code = 130


# --------------------------------------------------------------------------------------------- connections


def connect(warehouse: str | Path | None = None, wait_s: float = 30.0) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the warehouse with its stored macros, safe to hand to anyone.

    Retries while a writer holds the file. External access is disabled and the configuration
    locked, so the connection can write neither the warehouse nor any other file.
    """
    path = _warehouse_path(warehouse)
    con = _wh.open_connection(path, read_only=True, wait_s=wait_s)
    try:
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
    except BaseException:
        con.close()
        raise
    missing = missing_macros(con)
    if missing:
        warnings.warn(
            f"{path} predates macros {', '.join(missing)}: run any pipeline job (impact demo / impact ingest) "
            "once to store them", stacklevel=2)
    return con



def _warehouse_path(override: str | Path | None) -> Path:
    path = _wh.warehouse_path(override)
    if not path.exists():
        raise SqlError(f"no warehouse at {path}: run `impact demo` or `impact ingest` first")
    return path


def sql(query: str, warehouse: str | Path | None = None, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Run ``query`` (one or more statements) read-only and return the last result as a DataFrame."""
    con = connect(warehouse)
    try:
        results = execute(con, query, params)
    finally:
        con.close()
    if results:
        return results[-1].frame
    import pandas as pd

    return pd.DataFrame()


def missing_macros(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Macros of pipelines/warehouse/macros.sql that the connected warehouse does not store."""
    wanted = re.findall(r"CREATE\s+OR\s+REPLACE\s+MACRO\s+(\w+\.\w+)", _wh.MACROS_SQL.read_text(encoding="utf-8"),
                        flags=re.IGNORECASE)
    stored = {f"{s}.{n}" for s, n in con.execute(
        "SELECT schema_name, function_name FROM duckdb_functions() "
        "WHERE database_name = current_database() AND function_type IN ('macro', 'table_macro')").fetchall()}
    return [name for name in wanted if name not in stored]


def existing_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    """schema.name of every table and view in the connected warehouse."""
    rows = con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = current_database() "
        "UNION SELECT schema_name, view_name FROM duckdb_views() WHERE database_name = current_database() "
        "AND NOT internal").fetchall()
    return {f"{schema}.{name}" for schema, name in rows}


# --------------------------------------------------------------------------------------------- statements


class Result:
    """One statement's result: its text and its rows (``frame`` is None for statements without rows).

    A result kept as Arrow (``arrow``) makes its pandas ``frame`` when first asked for it, so output
    that Arrow alone gives (`impact sql`'s JSON, Parquet, and tables of plain column types) never imports pandas.
    """

    def __init__(self, statement: str, frame: pd.DataFrame | None = None, arrow: Any = None) -> None:
        self.statement = statement
        self._frame = frame
        self.arrow = arrow

    @property
    def frame(self) -> pd.DataFrame | None:
        if self._frame is None and self.arrow is not None:
            self._frame = self.arrow.to_pandas()
        return self._frame

    @property
    def has_rows(self) -> bool:
        """Whether the statement returned rows (a result set, maybe empty), without making the frame."""
        return self._frame is not None or self.arrow is not None

    @property
    def num_rows(self) -> int:
        return self.arrow.num_rows if self.arrow is not None else len(self._frame) if self._frame is not None else 0

    def __repr__(self) -> str:
        return f"Result(statement={self.statement!r}, rows={self.num_rows if self.has_rows else None})"


@dataclass
class _Located:
    statement: duckdb.Statement
    first_line: int  # 1-based line of the whole query where the statement starts


def parse(con: duckdb.DuckDBPyConnection, query: str) -> list[_Located]:
    """Split ``query`` into statements; refuse the whole query if any statement is not read-only."""
    try:
        statements = con.extract_statements(query)
    except duckdb.Error as error:
        raise SqlError(_describe(error, query, None)) from error
    located, cursor = [], 0
    for statement in statements:
        text = statement.query
        body = text.strip()
        found = query.find(body, cursor) if body else -1
        # the statement runs as DuckDB cut it, leading whitespace included: its LINE 1 is where that starts
        start = max(found - (len(text) - len(text.lstrip())), 0) if found >= 0 else cursor
        cursor = found + len(body) if found >= 0 else cursor
        located.append(_Located(statement, query.count("\n", 0, start) + 1))
    for index, item in enumerate(located, start=1):
        kind, described = _kind(con, item.statement)
        if kind not in ALLOWED_STATEMENTS:
            where = f"statement {index} of {len(located)} (line {item.first_line})" if len(located) > 1 else "the statement"
            raise ReadOnlyError(
                f"the warehouse is read-only here: {where} is {described}, which `impact sql` "
                f"refuses; nothing was run. Allowed: {', '.join(sorted(ALLOWED_STATEMENTS))} (SHOW, DESCRIBE, "
                "SUMMARIZE and WITH ... SELECT included; EXPLAIN [ANALYZE] of these)."
            )
    return located


def _kind(con: duckdb.DuckDBPyConnection, statement: duckdb.Statement) -> tuple[str, str]:
    """The type to check against the allow-list and its description: for an EXPLAIN, the type of the statement
    it explains (EXPLAIN ANALYZE runs that statement)."""
    kind = statement.type.name
    if kind != "EXPLAIN":
        return kind, f"{_article(kind)} {kind} statement"
    prefix = _EXPLAIN_PREFIX.match(statement.query)
    try:
        inner = con.extract_statements(statement.query[prefix.end() :]) if prefix else []
    except duckdb.Error:
        inner = []
    if len(inner) != 1:  # a comment or option list this check cannot read: refuse rather than guess
        return "EXPLAIN?", "an EXPLAIN whose statement this check cannot read (write it as EXPLAIN [ANALYZE] <statement>)"
    explained, described = _kind(con, inner[0])
    return explained, f"an EXPLAIN of {described}"


def _article(word: str) -> str:
    return "an" if word[:1] in "AEIOU" else "a"


def _describe(error: duckdb.Error, query: str, item: _Located | None, index: int = 1, total: int = 1) -> str:
    """DuckDB's message, plus the line of the whole query where the error is."""
    message = str(error).strip()
    match = re.search(r"LINE (\d+):", message)
    parts = []
    if total > 1:
        parts.append(f"statement {index} of {total}")
    if match:
        line = int(match.group(1)) + (item.first_line - 1 if item else 0)
        parts.append(f"line {line} of the query")
    elif item is not None:
        parts.append(f"statement starting at line {item.first_line} of the query")
    return f"{message}\n(at {', '.join(parts)})" if parts else message


def _statement_params(item: _Located, params: Mapping[str, Any]) -> dict[str, Any]:
    names = set(item.statement.named_parameters)
    missing = sorted(names - set(params))
    if missing:
        raise SqlError(f"missing value for parameter(s) {', '.join('$' + n for n in missing)}: "
                       f"pass --param {missing[0]}=VALUE")
    return {name: params[name] for name in names}


def execute(
    con: duckdb.DuckDBPyConnection,
    query: str,
    params: Mapping[str, Any] | None = None,
    *,
    arrow: bool = False,
) -> list[Result]:
    """Run every statement of ``query`` in order, each with the ``$name`` parameters it uses.

    Nothing runs unless every statement is read-only. A DuckDB error becomes a SqlError naming the
    statement and the line of ``query``. ``arrow=True`` also keeps each result as an Arrow table.
    """
    params = dict(params or {})
    located = parse(con, query)
    used = set().union(*(set(item.statement.named_parameters) for item in located)) if located else set()
    unknown = sorted(set(params) - used)
    if unknown:
        raise SqlError(f"parameter(s) {', '.join(unknown)} are not used by the query"
                       + (f" (it takes {', '.join(sorted(used))})" if used else " (it takes none)"))
    results = []
    for index, item in enumerate(located, start=1):
        values = _statement_params(item, params)
        try:
            cursor = con.execute(item.statement.query, values) if values else con.execute(item.statement.query)
            if cursor.description is None:
                results.append(Result(item.statement.query.strip(), None))
            elif arrow:
                with warnings.catch_warnings():  # the copy it warns about is the point: the CLI keeps both forms
                    warnings.simplefilter("ignore", UserWarning)
                    table = cursor.to_arrow_table()
                results.append(Result(item.statement.query.strip(), arrow=table))
            else:
                results.append(Result(item.statement.query.strip(), cursor.df()))
        except duckdb.InterruptException as error:
            raise QueryInterrupted("query interrupted (Ctrl-C); nothing was changed") from error
        except duckdb.Error as error:
            raise SqlError(_describe(error, query, item, index, len(located))) from error
    return results


def interruptible(con: duckdb.DuckDBPyConnection, work: Callable[[], T], poll_s: float = 0.1) -> T:
    """Run ``work`` (which uses ``con``) in a worker thread; Ctrl-C calls ``con.interrupt()`` and raises QueryInterrupted."""
    outcome: dict[str, Any] = {}
    done = threading.Event()

    def target() -> None:
        try:
            outcome["value"] = work()
        except BaseException as error:  # handed to the caller's thread
            outcome["error"] = error
        finally:
            done.set()

    # Completion is an Event, not Thread.join/is_alive: a KeyboardInterrupt inside join() can leave the
    # thread looking finished while DuckDB still runs the query on the connection.
    worker = threading.Thread(target=target, name="impact-sql", daemon=True)
    # A process started in the background inherits SIGINT ignored: Ctrl-C must still reach us.
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    worker.start()
    interrupted = False
    try:
        while not done.is_set():
            try:
                done.wait(poll_s)
            except KeyboardInterrupt:
                interrupted = True
                con.interrupt()
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    if "error" in outcome:
        error = outcome["error"]
        if interrupted and not isinstance(error, QueryInterrupted):
            raise QueryInterrupted("query interrupted (Ctrl-C); nothing was changed") from error
        raise error
    if interrupted:
        raise QueryInterrupted("query interrupted (Ctrl-C) as it finished; its result was discarded")
    return outcome["value"]


# --------------------------------------------------------------------------------------------- the library


@dataclass
class Param:
    name: str
    default: str
    help: str


@dataclass
class LibraryQuery:
    """One file of pipelines/queries: what it answers, its result columns, parameters and required tables."""

    name: str
    description: str
    columns: list[str]
    params: dict[str, Param]
    requires: list[str]
    sql: str
    path: Path = field(repr=False)

    def values(self, overrides: Mapping[str, str] | None = None) -> dict[str, Any]:
        """The parameter values: the defaults, replaced by ``overrides`` (strings, as from --param)."""
        overrides = dict(overrides or {})
        unknown = sorted(set(overrides) - set(self.params))
        if unknown:
            takes = ", ".join(f"{p.name} (default {p.default})" for p in self.params.values()) or "none"
            raise SqlError(f"query {self.name} has no parameter {', '.join(unknown)}; it takes {takes}")
        return {name: parse_value(overrides.get(name, p.default)) for name, p in self.params.items()}


_HEADER_KEY = re.compile(r"^(columns|requires):\s*(.*)$")
_PARAM = re.compile(r"^param\s+(\w+):\s*(\S+)\s*(.*)$")


def parse_library_file(path: Path) -> LibraryQuery:
    """Read a query file's header: ``-- name: what it answers``, ``-- columns:``, ``-- param x: default help``, ``-- requires:``."""
    text = path.read_text(encoding="utf-8")
    header = []
    for line in text.splitlines():
        if not line.startswith("--"):
            break
        header.append(line[2:].strip())
    if not header or ":" not in header[0]:
        raise SqlError(f"{path}: the first line must be '-- {path.stem}: what the query answers'")
    name, _, first = header[0].partition(":")
    if name.strip() != path.stem:
        raise SqlError(f"{path}: the header names {name.strip()!r}, the file {path.stem!r}")
    description, columns, requires, params = [first.strip()], [], [], {}
    for line in header[1:]:
        key, param = _HEADER_KEY.match(line), _PARAM.match(line)
        if param:
            params[param.group(1)] = Param(param.group(1), param.group(2), param.group(3).strip())
        elif key and key.group(1) == "columns":
            columns = [c.strip() for c in key.group(2).split(",") if c.strip()]
        elif key and key.group(1) == "requires":
            requires = [t.strip() for t in key.group(2).split(",") if t.strip()]
        elif not columns and not params and not requires:
            description.append(line)
    return LibraryQuery(path.stem, " ".join(d for d in description if d), columns, params, requires, text, path)


def library() -> dict[str, LibraryQuery]:
    """Every query of pipelines/queries by name."""
    return {path.stem: parse_library_file(path) for path in sorted(QUERIES_DIR.glob("*.sql"))}


def library_query(name: str) -> LibraryQuery:
    queries = library()
    if name not in queries:
        raise SqlError(f"no query named {name!r} in the library; choose one of {', '.join(queries)}")
    return queries[name]


def check_requirements(con: duckdb.DuckDBPyConnection, query: LibraryQuery) -> None:
    """Fail clearly when the warehouse lacks a table the query needs (the sentiment tables, typically)."""
    missing = [t for t in query.requires if t not in existing_tables(con)]
    if missing:
        hint = " (the sentiment pipeline has not run on it)" if set(missing) & set(SENTIMENT_TABLES) else ""
        raise SqlError(f"query {query.name} needs {', '.join(missing)}, which this warehouse does not have{hint}")


def run_library(
    con: duckdb.DuckDBPyConnection, name: str, params: Mapping[str, str] | None = None, *, arrow: bool = False
) -> Result:
    """Run the library query ``name`` with its defaults overridden by ``params``."""
    query = library_query(name)
    check_requirements(con, query)
    results = execute(con, query.sql, query.values(params), arrow=arrow)
    return results[-1]


def query(name: str, warehouse: str | Path | None = None, **params: Any) -> pd.DataFrame:
    """Notebook form of ``impact sql --query NAME --param k=v``: the library query's result as a DataFrame."""
    con = connect(warehouse)
    try:
        return run_library(con, name, {k: str(v) for k, v in params.items()}).frame
    finally:
        con.close()


def parse_value(text: str) -> Any:
    """A --param value: an integer, else a float, else the text (SQL casts it: CAST($day AS DATE))."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_params(pairs: list[str] | None) -> dict[str, str]:
    """``["lo=-1", "day=2025-01-27"]`` -> ``{"lo": "-1", "day": "2025-01-27"}``."""
    values = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise SqlError(f"--param takes NAME=VALUE, got {pair!r}")
        values[name.strip().lstrip("$")] = value
    return values
