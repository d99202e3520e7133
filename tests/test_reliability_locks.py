"""Lock contention on the one DuckDB file: dashboards reading while a Dagster run writes, and two
writing runs at once.

Injected: reader subprocesses calling ``pipelines.warehouse.query`` in a tight loop during real
``run_job`` runs; a subprocess holding the write lock (``warehouse.writer``) for a few seconds
while a run starts; two ``run_job`` subprocesses writing the same range at the same time.
Expected: readers only ever see whole results or retry; the writer's run succeeds; the
overlapping runs both succeed (the second waits for the lock) or one fails naming the lock, and
the warehouse equals a single clean run. Every subprocess ends by itself (a deadline or its work).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from pipelines import warehouse
from pipelines.errors import WarehouseError
from pipelines.resources import PriceSourceResource
from pipelines.runner import run_job

REPO = Path(__file__).resolve().parents[1]
START, END = date(2024, 11, 1), date(2024, 12, 31)
TICKERS = ["NVDA", "MSFT", "META", "AMD", "SPY"]
FAST_DIR = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
ENV = {**os.environ, "PYTHONPATH": str(REPO)}

READER = r"""
import json, sys, time
from pipelines import warehouse
from pipelines.errors import WarehouseError
path, stop_file, deadline = sys.argv[1], sys.argv[2], time.monotonic() + float(sys.argv[3])
stats = {"ok": 0, "lock_errors": 0, "other": [], "counts": set(), "slowest": 0.0}
import os
while time.monotonic() < deadline and not os.path.exists(stop_file):
    began = time.monotonic()
    try:
        n = int(warehouse.query("SELECT count(*) AS n FROM core.prices", path=path)["n"][0])
        stats["ok"] += 1
        stats["counts"].add(n)
    except WarehouseError as error:
        stats["lock_errors"] += 1
        stats["other"].append("WarehouseError: " + str(error)[:200])
    except Exception as error:
        stats["other"].append(f"{type(error).__name__}: {str(error)[:200]}")
    stats["slowest"] = max(stats["slowest"], time.monotonic() - began)
stats["counts"] = sorted(stats["counts"])
print(json.dumps(stats), flush=True)
"""

HOLDER = r"""
import sys, time
from pipelines import warehouse
with warehouse.writer(sys.argv[1]) as con:
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""

RUN = r"""
import json, sys, warnings
warnings.filterwarnings("ignore")
from datetime import date
from pipelines.runner import run_job
from pipelines.resources import PriceSourceResource
outcome = run_job("ingest_prices", date.fromisoformat(sys.argv[2]), date.fromisoformat(sys.argv[3]), warehouse_file=sys.argv[1],
                  price_source=PriceSourceResource(source="demo", tickers=sys.argv[4].split(",")))
print(json.dumps({"success": outcome.success, "error": outcome.error, "checks": outcome.checks}), flush=True)
"""


@pytest.fixture
def instance():
    with tempfile.TemporaryDirectory(dir=FAST_DIR) as folder, dg.instance_for_test(temp_dir=folder) as inst:
        yield inst


def _prices(path: Path) -> pd.DataFrame:
    with warehouse.reader(path) as con:
        return con.execute("SELECT * EXCLUDE (ingested_at) FROM core.prices ORDER BY ticker, date").df()


def _ingest(path: Path, instance, start=START, end=END):
    return run_job("ingest_prices", start, end, warehouse_file=path, instance=instance,
                   price_source=PriceSourceResource(source="demo", tickers=TICKERS))


def test_readers_in_a_loop_while_a_run_writes(tmp_path, instance):
    path = tmp_path / "w.duckdb"
    first = _ingest(path, instance, START, date(2024, 11, 29))  # something to read: November
    assert first.success, first.error
    november = len(_prices(path))
    stop = tmp_path / "stop"
    readers = [subprocess.Popen([sys.executable, "-c", READER, str(path), str(stop), "120"], cwd=REPO, env=ENV,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    try:
        time.sleep(4)  # let the readers import and start hammering the file
        began = time.monotonic()
        runs = [_ingest(path, instance) for _ in range(2)]  # November and December, twice
        took = time.monotonic() - began
    finally:
        stop.touch()
        results = [reader.communicate(timeout=60) for reader in readers]
    for outcome in runs:
        assert outcome.success, outcome.error
        assert all(outcome.checks.values()), outcome.checks
    whole = len(_prices(path))
    for out, err in results:
        assert out, f"a reader died: {err[-2000:]}"
        stats = json.loads(out)
        assert stats["ok"] > 0 and not stats["other"], stats
        assert set(stats["counts"]) <= {november, whole}, f"a reader saw a partial partition: {stats['counts']}"
    print(f"2 runs with 2 looping readers: {took:.1f}s; reads {[json.loads(o)['ok'] for o, _ in results]}")
    assert took < 120, "the writer waited on readers for its whole lock budget"


def test_a_run_waits_for_a_writer_holding_the_lock(tmp_path, instance):
    path = tmp_path / "w.duckdb"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(path), "5"], cwd=REPO, env=ENV,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held", holder.stderr.read()
        began = time.monotonic()
        outcome = _ingest(path, instance)
        waited = time.monotonic() - began
    finally:
        holder.communicate(timeout=60)
    assert outcome.success, outcome.error
    assert waited >= 2, f"the run did not wait for the lock ({waited:.1f}s)"
    assert len(_prices(path)) == len(TICKERS) * 41


def test_a_short_lock_budget_fails_clearly(tmp_path):
    path = tmp_path / "w.duckdb"
    with warehouse.writer(path):
        pass
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(path), "4"], cwd=REPO, env=ENV,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held", holder.stderr.read()
        for opener in (lambda: warehouse.writer(path, wait_s=0.5), lambda: warehouse.reader(path, wait_s=0.5)):
            began = time.monotonic()
            with pytest.raises(WarehouseError, match="lock") as caught:
                with opener():
                    pass
            assert time.monotonic() - began < 3
            assert str(path) in str(caught.value)
    finally:
        holder.communicate(timeout=60)
    with warehouse.reader(path) as con:  # intact afterwards
        assert con.execute("SELECT count(*) FROM core.prices").fetchone()[0] == 0


def test_two_overlapping_runs_never_corrupt(tmp_path, instance):
    clean_path = tmp_path / "clean.duckdb"
    assert _ingest(clean_path, instance).success
    clean = _prices(clean_path).drop(columns=["source"])
    path = tmp_path / "w.duckdb"
    with tempfile.TemporaryDirectory(dir=FAST_DIR) as home:
        env = {**ENV, "DAGSTER_HOME": home}  # the CLI's setup: one Dagster home for both runs
        runs = [subprocess.Popen([sys.executable, "-c", RUN, str(path), str(START), str(END), ",".join(TICKERS)],
                                 cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for _ in range(2)]
        results = [run.communicate(timeout=400) for run in runs]
    outcomes = []
    for out, err in results:
        assert out, f"a run crashed: {err[-3000:]}"
        outcomes.append(json.loads(out.strip().splitlines()[-1]))
    for outcome in outcomes:
        if not outcome["success"]:
            assert "lock" in outcome["error"], f"an overlapping run failed unclearly: {outcome['error']}"
    assert any(o["success"] for o in outcomes), outcomes
    pd.testing.assert_frame_equal(_prices(path).drop(columns=["source"]).drop(columns=["run_id"], errors="ignore"),
                                  clean.drop(columns=["run_id"], errors="ignore"))
    with warehouse.reader(path) as con:
        assert con.execute("SELECT count(*) FROM raw.prices").fetchone()[0] == len(clean)
