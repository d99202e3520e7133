"""`impact sql` and `impact schema`: ad-hoc read-only SQL over the warehouse, and its documentation.

pipelines.cli mounts these functions: ``app.command()(sql)`` and ``app.command()(schema)``.
"""

from __future__ import annotations

import codecs
import json
import sys
from collections.abc import Callable
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from pipelines import schema_doc
from pipelines import sql as engine
from pipelines.errors import InputError
from pipelines.outputs import check_output, output_file, write_output

if TYPE_CHECKING:  # pandas loads only for output that needs it (csv, and column types Arrow alone cannot show)
    import pandas as pd

FORMATS = ("table", "csv", "json", "markdown", "parquet")
HISTORY_ENV = "IMPACT_SQL_HISTORY"

WarehouseOption = Annotated[
    Path | None,
    typer.Option("--warehouse", help="DuckDB file (default: $IMPACT_WAREHOUSE or data/warehouse.duckdb)."),
]
ForceOption = Annotated[bool, typer.Option("--force", help="Replace the --out file if it exists.")]

BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
"""Byte order marks and their codecs, UTF-32 first (its little-endian mark starts with UTF-16's)."""


def read_sql_file(path: Path) -> str:
    """The text of a ``--file``: UTF-8, or UTF-8/16/32 with a byte order mark; else an InputError naming the file."""
    try:
        data = path.read_bytes()
    except FileNotFoundError as error:
        raise InputError(f"--file {path}: no such file") from error
    except IsADirectoryError as error:
        raise InputError(f"--file {path} is a folder: give the .sql file to run") from error
    except OSError as error:
        raise InputError(f"--file {path} cannot be read: {error.strerror}") from error
    encoding = next((name for bom, name in BOMS if data.startswith(bom)), "utf-8")
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        label = encoding.removesuffix("-sig").upper()
        raise InputError(f"--file {path} is not {label} text: byte {error.start} (counting from 0) cannot be decoded; "
                         "save the file as UTF-8") from error


# --------------------------------------------------------------------------------------------- rendering

Grid = tuple[list[str], list[list[str]], list[bool]]
"""A result as shown: column names, each row's cell texts, and which columns are right-aligned (numbers)."""


def _text(value: object) -> str:
    import pandas as pd

    if hasattr(value, "tolist") and not isinstance(value, (pd.Timestamp, float, int)):
        value = value.tolist()  # numpy arrays (list columns) and numpy scalars
    if value is None or (not isinstance(value, (list, tuple, dict)) and pd.isna(value)):
        return "NULL"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d") if value == value.normalize() and value.tzinfo is None else value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_text(v) for v in value) + "]"
    return str(value)


def _frame_grid(frame: pd.DataFrame) -> Grid:
    import pandas as pd

    cells = [[_text(v) for v in row] for row in frame.itertuples(index=False, name=None)]
    numeric = [pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c]) for c in frame.columns]
    return [str(c) for c in frame.columns], cells, numeric


# The same texts straight from Arrow, for the column types whose text _frame_grid gives alike (checked in
# tests/test_cli_imports.py): `impact sql` then prints without importing pandas. Other types go through pandas.


def _null_or(show: Callable[[Any], str]) -> Callable[[Any], str]:
    return lambda value: "NULL" if value is None else show(value)


def _float_text(value: float | None) -> str:
    return "NULL" if value is None or value != value else f"{float(value):.6g}"


def _datetime_text(value: datetime) -> str:
    midnight = value.hour == value.minute == value.second == value.microsecond == 0
    return value.strftime("%Y-%m-%d") if midnight else value.isoformat()


def _arrow_format(kind: Any, nulls: bool) -> tuple[Callable[[Any], str], bool] | None:
    """(value -> text, right-aligned) for one Arrow column type, or None when only pandas shows it right."""
    import pyarrow as pa

    if pa.types.is_integer(kind):  # pandas holds an integer column with NULLs as float64
        return (_float_text if nulls else _null_or(str)), True
    if pa.types.is_float32(kind) or pa.types.is_float64(kind):
        return _float_text, True
    if (pa.types.is_boolean(kind) or pa.types.is_string(kind) or pa.types.is_large_string(kind)
            or pa.types.is_decimal(kind) or pa.types.is_date32(kind) or pa.types.is_null(kind)):
        return _null_or(str), False
    if pa.types.is_timestamp(kind) and kind.tz is None and kind.unit in ("s", "ms", "us"):
        return _null_or(_datetime_text), False
    return None


def _arrow_grid(table: Any) -> Grid | None:
    """The grid of an Arrow table, or None when a column needs pandas to be shown as `_frame_grid` shows it."""
    names = [str(name) for name in table.column_names]
    if not names or len(set(names)) != len(names):
        return None
    maybe = [_arrow_format(field.type, column.null_count > 0) for field, column in zip(table.schema, table.columns)]
    formats = [f for f in maybe if f is not None]
    if len(formats) != len(maybe):
        return None
    try:
        columns = [[show(v) for v in column.to_pylist()] for (show, _), column in zip(formats, table.columns)]
    except (ValueError, OverflowError, TypeError):  # a value Python's types cannot hold: let pandas say it
        return None
    return names, [list(row) for row in zip(*columns)], [right for _, right in formats]


def _grid(result: engine.Result) -> Grid:
    grid = _arrow_grid(result.arrow) if result.arrow is not None else None
    return grid if grid is not None else _frame_grid(result.frame)


def _table_text(grid: Grid) -> str:
    headers, cells, numeric = grid
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]

    def line(values: list[str]) -> str:
        return "  ".join(v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric)).rstrip()

    out = [line(headers), "  ".join("-" * w for w in widths)] + [line(r) for r in cells]
    out.append(f"({len(cells)} row{'s' if len(cells) != 1 else ''})")
    return "\n".join(out) + "\n"


def _markdown_text(grid: Grid) -> str:
    headers, cells, numeric = grid
    rows = ["| " + " | ".join(headers) + " |", "|" + "|".join("---:" if num else "---" for num in numeric) + "|"]
    for row in cells:
        rows.append("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")
    return "\n".join(rows) + "\n"


def render_table(frame: pd.DataFrame) -> str:
    """An aligned plain-text table (numbers right-aligned) with a row count."""
    return _table_text(_frame_grid(frame))


def render_markdown(frame: pd.DataFrame) -> str:
    return _markdown_text(_frame_grid(frame))


def render(result: engine.Result, fmt: str) -> str:
    if fmt == "table":
        return _table_text(_grid(result))
    if fmt == "markdown":
        return _markdown_text(_grid(result))
    if fmt == "json" and result.arrow is not None:
        return json.dumps(result.arrow.to_pylist(), default=str) + "\n"
    frame = result.frame
    if frame is None:
        raise ValueError(f"statement has no rows to render: {result.statement}")
    if fmt == "csv":
        return frame.to_csv(index=False)
    if fmt == "json":
        return json.dumps(json.loads(frame.to_json(orient="records", date_format="iso")), default=str) + "\n"
    raise ValueError(fmt)


def write_results(
    results: list[engine.Result], fmt: str, out: Path | None, force: bool = False, warehouse_file: Path | None = None
) -> None:
    """Print the results, or write the last one to ``out`` (through pipelines.outputs: it never clobbers data)."""
    shown = [r for r in results if r.has_rows]
    if fmt == "parquet":
        if out is None:
            raise engine.SqlError("--format parquet writes a file: add --out FILE.parquet")
        import pyarrow.parquet as pq

        if not shown:
            raise engine.SqlError("the query returned no result to write")
        with output_file(out, force=force, warehouse_file=warehouse_file) as temporary:
            pq.write_table(shown[-1].arrow, temporary)
        typer.echo(f"{shown[-1].arrow.num_rows} rows written to {out}", err=True)
        return
    text = "\n".join(render(r, fmt) for r in (shown[-1:] if out is not None or fmt != "table" else shown))
    if out is not None:
        write_output(out, text, force=force, warehouse_file=warehouse_file)
        typer.echo(f"{shown[-1].num_rows if shown else 0} rows written to {out}", err=True)
    else:
        typer.echo(text, nl=False)


# --------------------------------------------------------------------------------------------- the prompt


def _prompt_reader() -> Callable[[str], str]:
    """prompt_toolkit with a history file when installed, else input()."""
    try:
        from prompt_toolkit import PromptSession
        from prompt_toolkit.history import FileHistory
    except ImportError:  # pragma: no cover - prompt_toolkit is the recommended extra
        return input
    from pipelines.settings import value

    history = Path(value(HISTORY_ENV) or Path.home() / ".impact_sql_history")
    session: PromptSession[str] = PromptSession(history=FileHistory(str(history)))
    return lambda prompt: session.prompt(prompt)


def repl(con, read: Callable[[str], str], fmt: str = "table", write: Callable[[str], None] = print) -> int:
    """The interactive loop: a statement runs once a line ends with ';'. Ctrl-C clears the buffer or stops
    the running query; Ctrl-D or .quit leaves. Returns the number of statements that failed."""
    buffer: list[str] = []
    failures = 0
    write("impact sql (read-only). End statements with ';'. .tables, .queries, .quit; Ctrl-C interrupts.")
    while True:
        try:
            line = read("impact> " if not buffer else "   ...> ")
        except KeyboardInterrupt:
            buffer = []
            continue
        except EOFError:
            return failures
        stripped = line.strip()
        if not buffer and stripped in (".quit", ".exit", "\\q"):
            return failures
        if not buffer and stripped == ".queries":
            for name, query in engine.library().items():
                write(f"{name}: {query.description}")
            continue
        if not buffer and stripped == ".tables":
            line, stripped = "SHOW ALL TABLES;", "SHOW ALL TABLES;"
        buffer.append(line)
        if not stripped.endswith(";"):
            continue
        text, buffer = "\n".join(buffer), []
        try:
            results = engine.interruptible(con, partial(engine.execute, con, text))
            for result in results:
                if result.has_rows:
                    write(render(result, fmt).rstrip("\n"))
        except engine.SqlError as error:
            failures += 1
            write(f"Error: {error}")


# --------------------------------------------------------------------------------------------- commands


def sql(
    query: Annotated[str | None, typer.Argument(help="SQL to run (several statements: ';'-separated). "
                                                     "None: an interactive prompt, or stdin when piped.")] = None,
    file: Annotated[Path | None, typer.Option("--file", "-f", help="Run the SQL in this file.")] = None,
    named: Annotated[str | None, typer.Option("--query", "-q", help="Run a query of the library by name (see --list).")] = None,
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="NAME=VALUE for $NAME in the query; repeatable.")] = None,
    fmt: Annotated[str, typer.Option("--format", help=f"Output: {', '.join(FORMATS)} (parquet needs --out).")] = "table",
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the (last) result to this file.")] = None,
    list_queries: Annotated[bool, typer.Option("--list", help="List the query library and exit.")] = False,
    force: ForceOption = False,
    warehouse_file: WarehouseOption = None,
) -> None:
    """Run read-only SQL on the warehouse: writes of any kind are refused and change nothing."""
    if fmt not in FORMATS:
        raise typer.BadParameter(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if list_queries:
        for name, entry in engine.library().items():
            signature = ", ".join(f"{p.name}={p.default}" for p in entry.params.values())
            needs = f" [needs {', '.join(entry.requires)}]" if entry.requires else ""
            typer.echo(f"{name}({signature}){needs}\n    {entry.description}")
        return
    sources = [s for s in (query, file, named) if s is not None]
    if len(sources) > 1:
        raise typer.BadParameter("give one of QUERY, --file and --query")
    if out is not None:  # refused before the query runs, not after
        check_output(out, force=force, warehouse_file=warehouse_file)
    text = read_sql_file(file) if file is not None else query
    try:
        params = engine.parse_params(param)
        con = engine.connect(warehouse_file)
    except engine.SqlError as error:
        typer.echo(f"Error: {error}", err=True)
        raise typer.Exit(1) from error
    try:
        if named is not None:
            results = [engine.interruptible(con, lambda: engine.run_library(con, named, params, arrow=True))]
        else:
            if text is None and sys.stdin.isatty():
                raise typer.Exit(1 if repl(con, _prompt_reader(), fmt) else 0)
            if text is None:
                text = sys.stdin.read()
            values = {k: engine.parse_value(v) for k, v in params.items()}
            results = engine.interruptible(con, lambda: engine.execute(con, text, values, arrow=True))
        write_results(results, fmt, out, force, warehouse_file)
    except engine.SqlError as error:
        typer.echo(f"Error: {error}", err=True)
        raise typer.Exit(130 if isinstance(error, engine.QueryInterrupted) else 1) from error
    finally:
        con.close()


def schema(
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the markdown to this file.")] = None,
    force: ForceOption = False,
    warehouse_file: WarehouseOption = None,
) -> None:
    """Print the warehouse schema (tables, views, keys, columns, units, macros) as markdown for the README."""
    if out is not None:
        check_output(out, force=force, warehouse_file=warehouse_file)
    try:
        con = engine.connect(warehouse_file)
    except engine.SqlError as error:
        typer.echo(f"Error: {error}", err=True)
        raise typer.Exit(1) from error
    try:
        text = schema_doc.generate(con)
    finally:
        con.close()
    if out is not None:
        write_output(out, text, force=force, warehouse_file=warehouse_file)
    else:
        typer.echo(text, nl=False)
