"""The warehouse opens in the DuckDB CLI from PyPI (``duckdb-cli``, DuckDB 1.5) and the 1.4 LTS line.

The file is kept in ``warehouse.STORAGE_VERSION``: created in it, kept in it across writes, and a file
in a newer format is converted by the next writer. The CLI tests run the real ``duckdb`` binary and skip
when the ``duckdb-cli`` package is not installed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from pipelines import warehouse
from pipelines.errors import WarehouseError
from pipelines.sources.base import validate_prices

DAYS = ["2025-01-22", "2025-01-23", "2025-01-24", "2025-01-27", "2025-01-28", "2025-01-29"]
CLOSES = {"NVDA": [140.0, 142.0, 142.62, 118.42, 128.99, 123.70], "SPY": [606.0, 609.8, 607.97, 599.37, 604.52, 601.81]}
VERSION_SQL = "SELECT tags['storage_version'] FROM duckdb_databases() WHERE database_name = current_database()"
ARS = {-1: 0.004, 0: -0.1697, 1: 0.0891}  # NVDA around DeepSeek-R1 (tau -> abnormal return), made up but fixed


def _cli() -> str:
    """The ``duckdb`` binary of the duckdb-cli package: next to this interpreter (a venv), else on PATH."""
    beside = Path(sys.executable).with_name("duckdb")
    found = str(beside) if beside.is_file() else shutil.which("duckdb")
    if found is None:
        pytest.skip("the DuckDB CLI is not installed: `pip install duckdb-cli` (the dev extra) puts `duckdb` on PATH")
    return found


def _run_cli(path: Path, sql: str) -> list[list[str]]:
    """Run ``sql`` in the CLI on ``path`` opened read-only; the CSV rows without the header."""
    done = subprocess.run([_cli(), "-readonly", "-csv", "-noheader", str(path), "-c", sql],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr or done.stdout
    return [line.split(",") for line in done.stdout.strip().splitlines()]


def _storage_version(path: Path) -> str:
    with warehouse.reader(path) as con:
        return con.execute(VERSION_SQL).fetchone()[0]


def _bars(ticker: str, closes: list[float]) -> pd.DataFrame:
    rows = [{"ticker": ticker, "date": d, "open": c, "high": c * 1.01, "low": c * 0.99, "close": c, "volume": 1_000 + i,
             "source": "test"} for i, (d, c) in enumerate(zip(DAYS, closes))]
    return validate_prices(pd.DataFrame(rows), "test")


def _build(path: Path) -> None:
    """A tiny warehouse through the real writer: prices, one event and its abnormal returns and window."""
    first, last = date.fromisoformat(DAYS[0]), date.fromisoformat(DAYS[-1])
    with warehouse.writer(path) as con:
        for ticker, closes in CLOSES.items():
            warehouse.replace_prices(con, _bars(ticker, closes), first, last, [ticker])
        con.execute("INSERT INTO core.events VALUES ('deepseek-r1-release', 'DeepSeek-R1', 'model-release', 'curated', NULL, "
                    "DATE '2025-01-27', 'next', ['NVDA'], NULL, NULL, NULL, now())")
        con.executemany("INSERT INTO mart.abnormal_returns (event_id, ticker, tau, date, ar) VALUES "
                        "('deepseek-r1-release', 'NVDA', ?, ?, ?)",
                        [[tau, DAYS[3 + tau], ar] for tau, ar in ARS.items()])
        con.execute("INSERT INTO mart.event_windows (event_id, ticker, \"window\", tau_start, tau_end, car, car_t, car_p) "
                    "VALUES ('deepseek-r1-release', 'NVDA', '[-1,+1]', -1, 1, ?, -2.5, 0.02)", [sum(ARS.values())])
    with warehouse.writer(path) as con:  # a later run rewrites a partition and checkpoints
        warehouse.replace_prices(con, _bars("NVDA", CLOSES["NVDA"]), first, last, ["NVDA"])
        con.execute("CHECKPOINT")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "warehouse.duckdb"
    _build(path)
    return path


def test_a_new_warehouse_is_created_and_kept_in_the_compatible_storage_version(built):
    assert warehouse.STORAGE_VERSION == "v1.4.0"
    assert _storage_version(built) == "v1.4.0+"
    with warehouse.reader(built) as con:
        assert con.execute("SELECT count(*) FROM core.prices").fetchone()[0] == 12


def test_the_duckdb_cli_reads_the_warehouse_and_its_macros(built):
    version = subprocess.run([_cli(), "--version"], capture_output=True, text=True, timeout=60).stdout
    assert version.startswith("v1."), version  # a DuckDB 1.x client, the ones that refuse storage newer than theirs
    assert _run_cli(built, VERSION_SQL) == [["v1.4.0+"]]
    assert _run_cli(built, "SELECT count(*) FROM duckdb_functions() WHERE schema_name = 'mart' AND function_name = 'car'") == [["1"]]
    rows = _run_cli(built, "SELECT event_id, ticker, car, days, car_t FROM mart.car(lo := -1, hi := 1)")
    assert len(rows) == 1
    event_id, ticker, car, days, car_t = rows[0]
    assert (event_id, ticker, days) == ("deepseek-r1-release", "NVDA", "3")
    assert float(car) == pytest.approx(sum(ARS.values())) and float(car_t) == -2.5
    # a macro over prices alone, and a scalar macro over the sessions view
    assert _run_cli(built, "SELECT ticker, count(*) FROM mart.abnormal_volume(lookback := 2) GROUP BY ticker ORDER BY ticker") == [
        ["NVDA", "4"], ["SPY", "4"]]
    assert _run_cli(built, "SELECT core.session_add(DATE '2025-01-25', 1)") == [["2025-01-28"]]


def test_a_warehouse_in_a_newer_format_is_converted_by_the_next_writer(tmp_path):
    path = tmp_path / "old.duckdb"
    with duckdb.connect(str(path)) as con:  # the locked duckdb's default: the newest storage format
        newer = con.execute(VERSION_SQL).fetchone()[0]
        con.execute("CREATE SCHEMA core; CREATE TABLE core.keep AS SELECT range AS n FROM range(1000)")
        con.execute("COMMENT ON TABLE core.keep IS 'kept'")
    if newer == "v1.4.0+":
        pytest.skip("this duckdb writes v1.4.0 by default: nothing to convert")
    assert _storage_version(path) == newer  # a read-only open never converts
    _build(path)
    assert _storage_version(path) == "v1.4.0+"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.duckdb"]  # no leftovers
    with warehouse.reader(path) as con:
        assert con.execute("SELECT count(*), sum(n) FROM core.keep").fetchone() == (1000, 999 * 1000 // 2)
        assert con.execute("SELECT comment FROM duckdb_tables() WHERE table_name = 'keep'").fetchone()[0] == "kept"
        assert con.execute("SELECT count(*) FROM core.prices").fetchone()[0] == 12
    if shutil.which("duckdb") or Path(sys.executable).with_name("duckdb").is_file():
        assert _run_cli(path, "SELECT count(*) FROM core.keep") == [["1000"]]


def test_a_failed_conversion_leaves_the_file_unchanged_and_says_why(tmp_path):
    path = tmp_path / "old.duckdb"
    with duckdb.connect(str(path)) as con:
        if con.execute(VERSION_SQL).fetchone()[0] == "v1.4.0+":
            pytest.skip("this duckdb writes v1.4.0 by default: nothing to convert")
        con.execute("CREATE SCHEMA core; CREATE TABLE core.keep AS SELECT 1 AS n")  # an impact warehouse (no marker)
    blocker = tmp_path / "old.duckdb.converting"
    blocker.mkdir()  # the converted copy cannot be written there
    (blocker / "x").write_text("x")
    before = path.read_bytes()
    with pytest.raises(WarehouseError, match=r"newer than v1\.4\.0 .*cannot downgrade a file in place.*the file is unchanged"):
        with warehouse.writer(path):
            pass
    assert path.read_bytes() == before
