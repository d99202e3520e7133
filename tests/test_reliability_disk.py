"""Disk full and read-only warehouse paths: a clear error, never a corrupted warehouse.

Injected with real filesystems (the test runs as root; skipped otherwise): a read-only tmpfs as the
warehouse folder, an existing warehouse whose folder is remounted read-only, and a 3 MiB tmpfs that
fills up (ENOSPC) during a write. Expected: the failure names the file and the cause; the stored rows
are intact and readable; once space or write access returns, the next write succeeds.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from pipelines import warehouse
from pipelines.errors import WarehouseError
from pipelines.resources import PriceSourceResource
from pipelines.runner import run_job
from pipelines.sources.demo_market import DemoPriceSource

TICKERS = ["NVDA", "SPY"]
START, END = date(2024, 12, 2), date(2024, 12, 31)


def _can_mount() -> bool:
    if os.geteuid() != 0:
        return False
    with tempfile.TemporaryDirectory() as folder:
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", folder], capture_output=True).returncode:
            return False
        subprocess.run(["umount", folder], check=True)
    return True


pytestmark = pytest.mark.skipif(not _can_mount(), reason="needs root and tmpfs mounts to make real read-only/full filesystems")


@contextmanager
def _tmpfs(size: str, read_only: bool = False):
    with tempfile.TemporaryDirectory() as folder:
        options = f"size={size}" + (",ro" if read_only else "")
        subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", folder], check=True)
        try:
            yield Path(folder)
        finally:
            subprocess.run(["umount", "-l", folder], check=True)


def _remount(folder: Path, mode: str) -> None:
    """Remount with new options: 'ro', 'rw' or 'size=...'."""
    subprocess.run(["mount", "-o", f"remount,{mode}", str(folder)], check=True)


@pytest.fixture
def instance():
    with tempfile.TemporaryDirectory() as folder, dg.instance_for_test(temp_dir=folder) as inst:
        yield inst


def _seed(path: Path) -> pd.DataFrame:
    frame = DemoPriceSource().fetch_prices(TICKERS, START, END)
    with warehouse.writer(path) as con:
        warehouse.replace_prices(con, frame, START, END, TICKERS)
    return _rows(path)


def _rows(path: Path) -> pd.DataFrame:
    with warehouse.reader(path) as con:
        return con.execute("SELECT * FROM core.prices ORDER BY ticker, date").df()


def _big_frame(tickers: int = 300, days: int = 1000) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = tickers * days
    frame = pd.DataFrame({
        "ticker": np.repeat([f"T{i:03d}" for i in range(tickers)], days),
        "date": np.tile(pd.bdate_range("2020-01-01", periods=days), tickers),
    })
    for field in ("open", "high", "low", "close", "adj_close"):
        frame[field] = rng.random(n) + 1
    frame["high"], frame["low"] = frame[["open", "high", "close"]].max(axis=1), frame[["open", "low", "close"]].min(axis=1)
    return frame.assign(volume=rng.integers(0, 10**6, n), split_ratio=1.0, dividend=0.0, source="files")


def test_read_only_folder_fails_the_run_clearly(instance):
    with _tmpfs("1m", read_only=True) as folder:
        path = folder / "w.duckdb"
        outcome = run_job("ingest_prices", START, END, warehouse_file=path, instance=instance,
                          price_source=PriceSourceResource(source="demo", tickers=TICKERS))
        assert not outcome.success
        assert "cannot open warehouse" in outcome.error and str(path) in outcome.error, outcome.error
        assert "read-only" in outcome.error.lower(), outcome.error
        assert not path.exists()


def test_warehouse_whose_folder_turns_read_only(instance):
    with _tmpfs("16m") as folder:
        path = folder / "w.duckdb"
        before = _seed(path)
        _remount(folder, "ro")
        try:
            with pytest.raises(WarehouseError, match="cannot open warehouse"):
                with warehouse.writer(path, wait_s=1):
                    pass
            outcome = run_job("ingest_prices", START, END, warehouse_file=path, instance=instance,
                              price_source=PriceSourceResource(source="demo", tickers=TICKERS))
            assert not outcome.success and str(path) in outcome.error, outcome.error
            pd.testing.assert_frame_equal(_rows(path), before)  # dashboards still read it
        finally:
            _remount(folder, "rw")
        outcome = run_job("ingest_prices", START, END, warehouse_file=path, instance=instance,
                          price_source=PriceSourceResource(source="demo", tickers=TICKERS))
        assert outcome.success, outcome.error


def test_disk_full_leaves_the_warehouse_intact():
    with _tmpfs("3m") as folder:
        path = folder / "w.duckdb"
        before = _seed(path)
        big = _big_frame()
        with pytest.raises(Exception) as caught:
            with warehouse.writer(path) as con:
                warehouse.replace_prices(con, big, date(2020, 1, 1), date(2023, 12, 31), sorted(big["ticker"].unique()))
        chain = []
        error: BaseException | None = caught.value
        while error is not None:
            chain.append(str(error))
            error = error.__cause__ or error.__context__
        assert any("No space left" in text for text in chain), chain
        pd.testing.assert_frame_equal(_rows(path), before)
        leftovers = sorted(p.name for p in folder.iterdir())
        assert leftovers == ["w.duckdb"], leftovers  # no WAL with half a transaction left behind
        _remount(folder, "size=32m")  # space comes back (the file keeps the blocks the failed write took)
        with warehouse.writer(path) as con:
            warehouse.replace_prices(con, DemoPriceSource().fetch_prices(TICKERS, START, END), START, END, TICKERS)


def test_disk_full_error_names_the_cause():
    with _tmpfs("3m") as folder:
        path = folder / "w.duckdb"
        _seed(path)
        big = _big_frame()
        with pytest.raises(WarehouseError, match="No space left on device"):
            with warehouse.writer(path) as con:
                warehouse.replace_prices(con, big, date(2020, 1, 1), date(2023, 12, 31), sorted(big["ticker"].unique()))
