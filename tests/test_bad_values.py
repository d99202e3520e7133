"""Out-of-range vendor values never reach the warehouse: rejected before any cast or write, named to the row."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner, Result

from models.calendar import sessions
from pipelines import warehouse
from pipelines.cli import app
from pipelines.errors import DataValidationError
from pipelines.sources.files import FilePriceSource

DAYS = sessions(date(2025, 1, 2), date(2025, 2, 14))
HEADER = ["Date", "Open", "High", "Low", "Close", "Adj Close", "Volume", "Dividends", "Stock Splits"]


def _bars(days: pd.DatetimeIndex = DAYS) -> pd.DataFrame:
    """A clean Yahoo-style export: steady prices, realistic volumes, no dividends or splits."""
    price = 120.0 + np.arange(len(days))
    return pd.DataFrame({
        "Date": days.strftime("%Y-%m-%d"), "Open": price, "High": price + 2, "Low": price - 2, "Close": price + 1,
        "Adj Close": price + 1, "Volume": 200_000_000 + np.arange(len(days)), "Dividends": 0.0, "Stock Splits": 0.0,
    })[HEADER]


def _write(folder: Path, frame: pd.DataFrame) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "NVDA.csv"
    frame.to_csv(path, index=False)
    return path


BAD_VALUES = {
    # case: (column, value as the vendor wrote it)
    "volume_wraps_int64": ("Volume", "1e20"),
    "volume_too_many_digits": ("Volume", "99999999999999999999999"),
    "volume_above_max": ("Volume", "2e13"),
    "negative_volume": ("Volume", "-5"),
    "nan_volume": ("Volume", "NaN"),
    "price_1e300": ("Close", "1e300"),
    "price_above_max": ("High", "1e7"),
    "infinite_price": ("Open", "inf"),
    "zero_adjusted_price": ("Adj Close", "0"),
    "absurd_split": ("Stock Splits", "1e9"),
    "negative_dividend": ("Dividends", "-0.5"),
}


@pytest.mark.parametrize("case", sorted(BAD_VALUES))
def test_out_of_range_value_is_named_to_file_row_and_field(tmp_path: Path, case: str) -> None:
    column, value = BAD_VALUES[case]
    frame = _bars().astype({column: object})
    frame.loc[4, column] = value
    path = _write(tmp_path, frame)
    with pytest.raises(DataValidationError) as caught:
        FilePriceSource(tmp_path).fetch_prices(["NVDA"], DAYS[0].date(), DAYS[-1].date())
    error = caught.value
    assert (error.origin, error.row, error.field) == (str(path), 5, column)
    assert value in str(error) and "finite number" in str(error)


def test_uint64_parquet_volume_is_rejected_not_wrapped(tmp_path: Path) -> None:
    frame = _bars().assign(Volume=np.full(len(DAYS), np.iinfo(np.uint64).max, dtype=np.uint64))
    frame.to_parquet(tmp_path / "NVDA.parquet", index=False)
    with pytest.raises(DataValidationError, match="volume must be a finite number >= 0 and < 1e\\+13") as caught:
        FilePriceSource(tmp_path).fetch_prices(["NVDA"], DAYS[0].date(), DAYS[-1].date())
    assert (caught.value.row, caught.value.field) == (1, "Volume")


def _impact(*args: str, home: Path) -> subprocess.CompletedProcess:
    """The real CLI in a child process: what a user's terminal shows, stdout and stderr both."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "DAGSTER_HOME": str(home / "dagster"), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "pipelines.cli", *args], capture_output=True, text=True, env=env,
                          cwd=Path(__file__).resolve().parents[1], timeout=300)


def _snapshot(path: Path) -> dict[str, pd.DataFrame]:
    """Every table of the warehouse, rows sorted: equal snapshots mean equal data."""
    with warehouse.reader(path) as con:
        tables = con.execute("SELECT schema_name || '.' || table_name FROM duckdb_tables() ORDER BY 1").fetchall()
        return {name: con.execute(f"SELECT * FROM {name} ORDER BY ALL").df() for (name,) in tables}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def dagster_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    monkeypatch.setenv("COLUMNS", "200")
    return tmp_path / "dagster"


@pytest.mark.slow
@pytest.mark.usefixtures("dagster_home")
def test_volume_1e20_is_refused_before_any_write_and_later_ranges_still_ingest(tmp_path: Path) -> None:
    vendor, path = tmp_path / "vendor", tmp_path / "w.duckdb"
    good = _bars()
    bad = good.astype({"Volume": object})
    bad.loc[bad["Date"] == "2025-02-03", "Volume"] = "1e20"
    file = _write(vendor, bad)
    row = int(np.flatnonzero(bad["Date"] == "2025-02-03")[0]) + 1

    def args(start: str, end: str) -> list[str]:
        return ["ingest", "--source", "files", "--path", str(vendor), "--tickers", "NVDA", "--no-analyze",
                "--start", start, "--end", end, "--warehouse", str(path)]

    def ingest(start: str, end: str) -> Result:
        return CliRunner().invoke(app, args(start, end))

    fresh = ingest("2025-01-27", "2025-02-07")
    assert fresh.exit_code == 1, fresh.output
    assert not path.exists(), "a refused first ingest creates no warehouse"

    _write(vendor, good)
    first = ingest("2025-01-02", "2025-01-17")
    assert first.exit_code == 0, first.output
    before, digest = _snapshot(path), _sha256(path)
    assert len(before["core.prices"]) == len(sessions(date(2025, 1, 2), date(2025, 1, 17)))

    _write(vendor, bad)
    refused = _impact(*args("2025-01-27", "2025-02-07"), home=tmp_path)
    assert refused.returncode == 1
    shown = refused.stdout + refused.stderr
    assert "Traceback" not in shown and "Stack Trace" not in shown, shown
    errors = [line for line in shown.splitlines() if line.strip() and " 0:00:" not in line]  # all but progress lines
    assert 1 <= len(errors) <= 2, shown
    assert f"prices (files) failed: {file}, row {row}, ticker NVDA, date 2025-02-03, field 'Volume'" in errors[0]
    assert "'1e20'" in errors[0]
    assert _sha256(path) == digest, "the warehouse file is byte-for-byte unchanged"
    after = _snapshot(path)
    assert after.keys() == before.keys()
    for table in before:
        pd.testing.assert_frame_equal(after[table], before[table], obj=table)

    _write(vendor, good)
    later = ingest("2025-02-03", "2025-02-14")
    assert later.exit_code == 0, later.output
    blocking = [line for line in later.output.splitlines() if "prices_are_positive" in line]
    assert len(blocking) == 1 and "pass" in blocking[0], later.output
    stored = warehouse.query("SELECT date, volume FROM core.prices WHERE ticker = 'NVDA' ORDER BY date", path=path)
    assert len(stored) == len(sessions(date(2025, 1, 2), date(2025, 1, 17))) + len(sessions(date(2025, 2, 3), date(2025, 2, 14)))
    assert stored["volume"].between(200_000_000, 200_000_000 + len(DAYS)).all()
