"""Kill -9 mid-ingestion: a multi-day backfill killed at random points leaves a warehouse that opens,
passes every asset check, holds no partial partition, and re-runs to exactly the clean result.

Injection: a "zygote" subprocess imports Dagster and the pipelines once, then forks one child per
trial; each child runs ``run_job`` for ingest_prices and ingest_news over a multi-week range (demo
source, persistent Dagster instance) and the test SIGKILLs it either at a uniformly random time in
[0, clean run time] or just after the DuckDB write-ahead log appears (inside a write transaction).
One more trial kills the real ``python -m pipelines.cli ingest --source files`` process.

CI: 20 forked trials + 1 CLI trial. IMPACT_LONG_TESTS=1: 100 forked trials + 5 CLI trials, a longer range.
IMPACT_RELIABILITY_SEED fixes the kill times (printed on failure).
"""

from __future__ import annotations

import json
import os
import random
import select
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from pipelines import runner, warehouse
from pipelines.assets import market, news
from pipelines.resources import NewsSourceResource, PriceSourceResource, WarehouseResource
from pipelines.sources.demo_market import DemoPriceSource

REPO = Path(__file__).resolve().parents[1]
LONG = os.environ.get("IMPACT_LONG_TESTS") == "1"
TRIALS = 100 if LONG else 20
CLI_TRIALS = 5 if LONG else 1
START, END = (date(2024, 1, 2), date(2024, 12, 31)) if LONG else (date(2024, 12, 2), date(2024, 12, 31))
TICKERS = ["NVDA", "MSFT", "META", "GOOGL", "AMZN", "AAPL", "AMD", "SPY", "QQQ", "SMH"]
SEED = int(os.environ.get("IMPACT_RELIABILITY_SEED", "20250127"))
pytestmark = pytest.mark.slow  # ~3 min on 2 busy cores: 21 real Dagster backfills and re-runs
FAST_DIR = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
"""Dagster's sqlite event log fsyncs every event (~55 ms each on a plain disk): keep instances on tmpfs."""

PRICE_COLS = "ticker, date, open, high, low, close, adj_close, volume, split_ratio, dividend, source"
HEADLINE_COLS = "headline_id, ny_date, session_date, published_at, title, summary, url, publisher, tickers, source"

ZYGOTE = r"""
import json, os, sys, warnings
warnings.filterwarnings("ignore")
from datetime import date
from pipelines.runner import run_job
from pipelines.resources import NewsSourceResource, PriceSourceResource
print(json.dumps({"ready": True}), flush=True)
for line in sys.stdin:
    spec = json.loads(line)
    pid = os.fork()
    if pid == 0:
        code = 70
        try:
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 1)
            os.environ["DAGSTER_HOME"] = spec["home"]
            start, end = date.fromisoformat(spec["start"]), date.fromisoformat(spec["end"])
            ok = run_job("ingest_prices", start, end, warehouse_file=spec["warehouse"],
                         price_source=PriceSourceResource(source="demo", tickers=spec["tickers"])).success
            ok = ok and run_job("ingest_news", start, end, warehouse_file=spec["warehouse"],
                                news_source=NewsSourceResource(sources=["demo"], tickers=spec["tickers"])).success
            code = 0 if ok else 3
        finally:
            os._exit(code)
    print(json.dumps({"pid": pid}), flush=True)
    _, status = os.waitpid(pid, 0)
    print(json.dumps({"status": status}), flush=True)
"""


def _read_line(proc: subprocess.Popen, timeout: float) -> dict:
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    if not ready:
        raise AssertionError(f"zygote said nothing for {timeout}s")
    line = proc.stdout.readline()
    if not line:
        raise AssertionError(f"zygote exited with {proc.wait()}")
    return json.loads(line)


@contextmanager
def _zygote(log: Path):
    with open(log, "w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-c", ZYGOTE], cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err,
            text=True, env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        try:
            assert _read_line(proc, 120) == {"ready": True}
            yield proc
        finally:
            proc.stdin.close()  # EOF: the zygote's loop ends and it exits by itself
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@contextmanager
def _fast_dir():
    with tempfile.TemporaryDirectory(dir=FAST_DIR, prefix="impact-kill-") as folder:
        yield Path(folder)


def _snapshot(path: Path) -> dict[str, pd.DataFrame]:
    """What the next run would see (writer: the schema completed), minus ingestion stamps."""
    with warehouse.writer(path, wait_s=10) as con:
        return {
            "prices": con.execute(f"SELECT {PRICE_COLS} FROM core.prices ORDER BY ticker, date").df(),
            "raw_prices": con.execute(f"SELECT {PRICE_COLS} FROM raw.prices ORDER BY ticker, date").df(),
            "headlines": con.execute(f"SELECT {HEADLINE_COLS} FROM core.headlines ORDER BY headline_id").df(),
            "raw_headlines": con.execute("SELECT source, headline_id FROM raw.headlines ORDER BY ALL").df(),
            "ingestions": con.execute("SELECT dataset, range_start, range_end, rows FROM raw.ingestions ORDER BY ALL").df(),
        }


def _run_checks(path: Path, snap: dict[str, pd.DataFrame]) -> dict[str, bool]:
    """Every asset check of prices and headlines on the warehouse as it is (checks of an empty table skipped)."""
    resource = WarehouseResource(path=str(path))
    checks = {}
    if len(snap["prices"]):
        with resource.writer() as con:
            checks.update({name: result.passed for name, result in market.run_price_checks(con, None).items()})
    if len(snap["headlines"]):
        for check in (news.no_duplicate_headlines, news.headlines_well_formed):
            checks[check.check_key.name] = check(dg.build_asset_check_context(), warehouse=resource).passed
    return checks


def _same(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    try:
        pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))
    except AssertionError:
        return False
    return True


def _assert_whole(path: Path, clean: dict[str, pd.DataFrame], where: str) -> str:
    """The warehouse after a kill: opens, passes checks, each dataset is all-or-nothing. Returns its state."""
    if not path.exists():
        return "no file"
    with warehouse.reader(path, wait_s=10) as con:  # a dashboard can open it (DuckDB replays the WAL)
        con.execute("SELECT 1").fetchall()
    snap = _snapshot(path)
    failed = {name: ok for name, ok in _run_checks(path, snap).items() if not ok}
    assert not failed, f"{where}: asset checks fail after the kill: {failed}"
    state = []
    for dataset, tables in (("prices", ("prices", "raw_prices")), ("headlines", ("headlines", "raw_headlines"))):
        logged = snap["ingestions"][snap["ingestions"]["dataset"] == dataset]
        core = snap[tables[0]]
        if len(core) == 0:
            assert len(snap[tables[1]]) == 0 and len(logged) == 0, f"{where}: raw {dataset} or its log without core rows"
            continue
        assert _same(core, clean[tables[0]]), f"{where}: partial {dataset}: {len(core)} rows, clean run has {len(clean[tables[0]])}"
        assert _same(snap[tables[1]], clean[tables[1]]), f"{where}: raw {dataset} differs from a clean run"
        # raw.ingestions is a history (one line per committed run): every line is a whole range.
        assert len(logged) >= 1 and (logged["rows"] == len(clean[tables[1]])).all(), f"{where}: ingestion log {logged}"
        state.append(dataset)
    return "+".join(state) or "empty"


def _rerun(path: Path, home: Path) -> None:
    """The re-run an operator makes: same warehouse, same Dagster home (whose last run was killed)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DAGSTER_HOME", str(home))
        with runner.instance_for(path) as instance:
            for job, resource in (("ingest_prices", {"price_source": PriceSourceResource(source="demo", tickers=TICKERS)}),
                                  ("ingest_news", {"news_source": NewsSourceResource(sources=["demo"], tickers=TICKERS)})):
                outcome = runner.run_job(job, START, END, warehouse_file=path, instance=instance, **resource)
                assert outcome.success, f"re-run of {job} failed: {outcome.error}"
                assert all(outcome.checks.values()), f"re-run of {job}: checks {outcome.checks}"
            # The killed child's run no longer holds the writer slot: the re-run marked it failed.
            stuck = instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]))
            assert stuck == [], f"runs left in progress after the re-run: {[run.run_id for run in stuck]}"


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> dict[str, pd.DataFrame]:
    """A clean in-process run of both jobs: the reference every killed-and-rerun warehouse must equal."""
    path = tmp_path_factory.mktemp("clean") / "w.duckdb"
    with _fast_dir() as home, dg.instance_for_test(temp_dir=str(home)) as instance:
        for job, resource in (("ingest_prices", {"price_source": PriceSourceResource(source="demo", tickers=TICKERS)}),
                              ("ingest_news", {"news_source": NewsSourceResource(sources=["demo"], tickers=TICKERS)})):
            outcome = runner.run_job(job, START, END, warehouse_file=path, instance=instance, **resource)
            assert outcome.success, outcome.error
    snap = _snapshot(path)
    assert len(snap["prices"]) > 0 and len(snap["headlines"]) > 0
    return snap


def _kill_at(pid: int, delay: float | None, wal: Path, budget: float) -> str:
    """SIGKILL ``pid`` after ``delay`` seconds, or (delay None) just after ``wal`` appears (a write is open)."""
    began = time.monotonic()
    if delay is None:
        while not wal.exists() and time.monotonic() - began < budget:
            time.sleep(0.001)
        time.sleep(random.uniform(0, 0.03))
    else:
        time.sleep(delay)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return "finished first"
    return f"killed at {time.monotonic() - began:.2f}s"


def test_kill_9_mid_backfill_leaves_a_whole_warehouse(tmp_path, clean):
    rng = random.Random(SEED)
    states: list[str] = []
    with _zygote(tmp_path / "zygote.log") as proc, _fast_dir() as fast:

        def trial(i: int, delay: float | None, budget: float) -> tuple[int, str, Path, Path]:
            path, home = tmp_path / f"w{i}.duckdb", fast / f"home{i}"
            spec = {"home": str(home), "warehouse": str(path), "start": str(START), "end": str(END), "tickers": TICKERS}
            proc.stdin.write(json.dumps(spec) + "\n")
            proc.stdin.flush()
            pid = _read_line(proc, 30)["pid"]
            how = "completed" if delay == -1 else _kill_at(pid, delay, path.with_name(path.name + ".wal"), budget)
            status = _read_line(proc, 600)["status"]
            return status, how, path, home

        began = time.monotonic()
        status, _, path, home = trial(0, -1, 0)  # an unkilled child: the run length to draw kill times from
        full = time.monotonic() - began
        assert status == 0, f"the unkilled child failed (status {status}); see {tmp_path / 'zygote.log'}"
        assert _assert_whole(path, clean, "unkilled") == "prices+headlines"

        for i in range(1, TRIALS + 1):
            delay = None if i % 2 == 0 else rng.uniform(0, full)
            status, how, path, home = trial(i, delay, full)
            where = f"trial {i} (seed {SEED}, {how}, {'at WAL' if delay is None else f'delay {delay:.2f}s'})"
            assert status in (0, signal.SIGKILL), f"{where}: child ended with status {status}"
            states.append(_assert_whole(path, clean, where))
            _rerun(path, home)
            assert _assert_whole(path, clean, where + " after re-run") == "prices+headlines"
    killed = sum(1 for s in states if s != "prices+headlines")
    print(f"{TRIALS} kill trials, states after the kill: {pd.Series(states).value_counts().to_dict()}")
    assert killed >= TRIALS // 3, f"too few trials interrupted the backfill: {states}"


def test_kill_9_the_real_cli_during_a_write(tmp_path, clean):
    """``python -m pipelines.cli ingest --source files`` killed once its write transaction has begun."""
    folder = tmp_path / "bars"
    folder.mkdir()
    frame = DemoPriceSource().fetch_prices(TICKERS, START, END)
    for ticker, bars in frame.groupby("ticker"):
        bars.drop(columns=["ticker", "source"]).assign(date=bars["date"].dt.strftime("%Y-%m-%d")).to_csv(
            folder / f"{ticker}.csv", index=False)
    for i in range(CLI_TRIALS):
        path = tmp_path / f"cli{i}.duckdb"
        with _fast_dir() as home:
            env = {**os.environ, "DAGSTER_HOME": str(home), "PYTHONPATH": str(REPO)}
            cmd = [sys.executable, "-m", "pipelines.cli", "ingest", "--start", str(START), "--end", str(END),
                   "--source", "files", "--path", str(folder), "--tickers", ",".join(TICKERS), "--warehouse", str(path)]
            proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                how = _kill_at(proc.pid, None, path.with_name(path.name + ".wal"), 180)
            finally:
                code = proc.wait(timeout=60)
            assert code in (0, -signal.SIGKILL), code
            state = _assert_whole(path, {**clean, "prices": clean["prices"].assign(source="files"),
                                         "raw_prices": clean["raw_prices"].assign(source="files")}, f"cli trial {i} ({how})")
            assert state in ("no file", "empty", "prices"), state
            rerun = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
            assert rerun.returncode == 0, rerun.stdout[-2000:] + rerun.stderr[-2000:]
            with warehouse.reader(path) as con:
                again = con.execute(f"SELECT {PRICE_COLS} FROM core.prices ORDER BY ticker, date").df()
            assert _same(again, clean["prices"].assign(source="files"))
