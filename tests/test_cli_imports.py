"""Commands load only what they use: `impact --help` and `impact sql` start without Dagster, torch or pandas.

Each command runs in a fresh interpreter (``python -c`` calling the typer app with the command's
arguments), which then prints the heavy packages it has loaded. The Arrow rendering that lets
`impact sql` print without pandas is checked against the pandas rendering it stands in for.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from pipelines import sql as engine
from pipelines import warehouse
from pipelines.commands import sql as sql_command

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("dagster", "torch", "transformers", "pandas", "dash", "plotly", "exchange_calendars", "statsmodels", "scipy")

RUN = f"""
import sys
from pipelines.cli import app
try:
    app(sys.argv[1:], prog_name="impact")
    code = 0
except SystemExit as stop:
    code = stop.code or 0
print("LOADED:" + ",".join(sorted(m for m in {HEAVY!r} if m in sys.modules)))
sys.exit(code)
"""


@pytest.fixture(scope="module")
def small_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli_imports") / "small.duckdb"
    with warehouse.writer(path):  # the schema and the stored macros, no rows
        pass
    return path


def _loaded(*args: str) -> tuple[list[str], str]:
    done = subprocess.run([sys.executable, "-c", RUN, *args], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    *output, last = done.stdout.rstrip("\n").split("\n")
    assert last.startswith("LOADED:"), done.stdout
    return [m for m in last.removeprefix("LOADED:").split(",") if m], "\n".join(output)


def test_help_loads_no_heavy_package() -> None:
    loaded, output = _loaded("--help")
    assert "sql" in output and "ingest" in output
    assert loaded == [], f"`impact --help` imported {loaded}"


def test_sql_loads_no_heavy_package(small_warehouse: Path) -> None:
    loaded, output = _loaded("sql", "select 42 AS answer", "--warehouse", str(small_warehouse))
    assert output.split() == ["answer", "------", "42", "(1", "row)"]
    assert loaded == [], f"`impact sql` imported {loaded}"


# --------------------------------------------------------------------------------------------- Arrow = pandas text

TYPED = """
SELECT * FROM (VALUES
    (42, 9007199254740993::BIGINT, -3::TINYINT, 200::UTINYINT, 18446744073709551615::UBIGINT,
     1.5::DOUBLE, 0.1::FLOAT, 1.50::DECIMAL(4, 2), 170141183460469231731687303715884105727::HUGEINT,
     'a | b', true, DATE '2025-01-27', TIMESTAMP '2025-01-27 00:00:00', TIMESTAMP '2025-01-27 10:30:00.123456',
     TIMESTAMP_S '2025-01-27 10:30:00', TIMESTAMP_MS '2025-01-27 00:00:00', NULL),
    (NULL, NULL, 7::TINYINT, NULL, 5::UBIGINT,
     'NaN'::DOUBLE, 'inf'::FLOAT, NULL, NULL,
     NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
    (-7, 123456789::BIGINT, 0::TINYINT, 1::UTINYINT, 0::UBIGINT,
     -1e-300::DOUBLE, '-inf'::FLOAT, -0.01::DECIMAL(4, 2), -1::HUGEINT,
     'Zürich', false, DATE '0001-01-01', TIMESTAMP '9999-12-31 23:59:59.999999', TIMESTAMP '0001-01-01 00:00:01',
     TIMESTAMP_S '1970-01-01 00:00:00', TIMESTAMP_MS '2000-02-29 12:00:00.5', NULL)
) AS t(i32, i64, i8, u8, u64, f64, f32, dec, huge, text, flag, day, midnight, micros, secs, millis, nothing)
"""


@pytest.mark.parametrize("query", [TYPED, TYPED + " WHERE false", "SELECT 42", "SELECT 'x' AS a, NULL::INTEGER AS b"])
def test_arrow_rendering_matches_pandas(query: str) -> None:
    con = duckdb.connect()
    [result] = engine.execute(con, query, arrow=True)
    grid = sql_command._arrow_grid(result.arrow)
    assert grid is not None, "these column types print without pandas"
    assert grid == sql_command._frame_grid(result.arrow.to_pandas())
    assert sql_command.render(result, "table") == sql_command.render_table(result.arrow.to_pandas())
    assert sql_command.render(result, "markdown") == sql_command.render_markdown(result.arrow.to_pandas())


@pytest.mark.parametrize("query", [
    "SELECT [1, 2] AS l, 1 AS i",                              # lists
    "SELECT TIMESTAMPTZ '2025-01-27 10:00:00+00' AS t",        # time zones
    "SELECT INTERVAL 1 DAY AS d",
    "SELECT 1 AS a, 2 AS a",                                   # duplicate names
])
def test_other_types_render_through_pandas(query: str) -> None:
    con = duckdb.connect()
    [result] = engine.execute(con, query, arrow=True)
    assert sql_command._arrow_grid(result.arrow) is None
    assert sql_command.render(result, "table") == sql_command.render_table(result.arrow.to_pandas())
