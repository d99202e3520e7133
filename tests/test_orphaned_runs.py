"""A CLI run killed with SIGKILL stays STARTED in the Dagster instance, holding the writer slot: the next run
marks it failed (its tagged process is gone) and goes on; dagster.yaml turns Dagster's run monitor on."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.test_utils import create_run_for_test

from pipelines import orphans, runner
from pipelines.definitions import MAX_RUNTIME_TAG, WRITER_TAG, build_definitions

REPO = Path(__file__).resolve().parents[1]
FAST_DIR = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
"""Dagster's sqlite event log fsyncs every event: keep the instance on tmpfs."""
NEXT_RUN_BOUND_S = 120
"""The run after the kill must start and finish within this (a CLI start on two busy cores is ~20 s)."""
IN_PROGRESS = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]


def _dead_pid() -> int:
    """The PID of a process that has ended and been reaped."""
    done = subprocess.Popen(["true"])
    done.wait()
    return done.pid


@pytest.fixture
def instance():
    with tempfile.TemporaryDirectory(dir=FAST_DIR) as home, dg.instance_for_test(temp_dir=home) as instance:
        yield instance


def test_a_run_whose_process_is_gone_is_marked_failed(instance):
    tags = orphans.owner_tags()
    live = create_run_for_test(instance, status=dg.DagsterRunStatus.STARTED, tags=tags)
    dead = create_run_for_test(
        instance, status=dg.DagsterRunStatus.STARTED, tags={**tags, orphans.PID_TAG: str(_dead_pid())}
    )
    reused = create_run_for_test(instance, status=dg.DagsterRunStatus.STARTING, tags={**tags, orphans.START_TAG: "1"})
    foreign = create_run_for_test(
        instance,
        status=dg.DagsterRunStatus.STARTED,
        tags={**tags, orphans.PID_TAG: str(_dead_pid()), orphans.HOST_TAG: "another-host"},
    )
    untagged = create_run_for_test(instance, status=dg.DagsterRunStatus.STARTED)

    notes = orphans.fail_orphans(instance)

    status = {run.run_id: instance.get_run_by_id(run.run_id).status for run in (live, dead, reused, foreign, untagged)}
    assert status[dead.run_id] == status[reused.run_id] == dg.DagsterRunStatus.FAILURE
    assert status[live.run_id] == status[foreign.run_id] == status[untagged.run_id] == dg.DagsterRunStatus.STARTED
    assert sorted(notes) == sorted(
        [
            f"marked run {dead.run_id} failed: its process {dead.tags[orphans.PID_TAG]} is gone",
            f"marked run {reused.run_id} failed: its process {os.getpid()} is gone",
        ]
    )
    assert orphans.fail_orphans(instance) == [], "a failed run is not failed twice"


def test_zombie_counts_as_gone():
    child = subprocess.Popen(["true"])
    deadline = time.monotonic() + 10
    while orphans.process_alive(child.pid) and time.monotonic() < deadline:
        time.sleep(0.01)  # exited but not reaped yet: a zombie
    assert not orphans.process_alive(child.pid)
    child.wait()


def test_dagster_yaml_turns_run_monitoring_on_and_replaces_an_old_one_of_ours(tmp_path, monkeypatch):
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    for home in (ours, theirs):
        home.mkdir()
    old = (
        "# Written by ai-market-impact. DuckDB has one writer at a time: runs that write queue behind each other.\n"
        'concurrency:\n  runs:\n    tag_concurrency_limits:\n      - key: "impact/warehouse-writer"\n'
        "        limit: 1\ntelemetry:\n  enabled: false\n"
    )
    (ours / "dagster.yaml").write_text(old)
    (theirs / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("DAGSTER_HOME", str(ours))
    runner.dagster_home(tmp_path / "w.duckdb")
    assert (ours / "dagster.yaml").read_text() == runner.cli_dagster_yaml(ours)
    instance = dg.DagsterInstance.from_config(str(ours))
    assert instance.run_monitoring_enabled and instance.run_monitoring_max_resume_run_attempts == 0
    assert instance.get_concurrency_config().run_queue_config.tag_concurrency_limits == [
        {"key": "impact/warehouse-writer", "limit": 1}
    ]
    monkeypatch.setenv("DAGSTER_HOME", str(theirs))
    runner.dagster_home(tmp_path / "w.duckdb")
    assert (theirs / "dagster.yaml").read_text() == "telemetry:\n  enabled: false\n", "a user's own file is kept"


def test_ingestion_runs_carry_the_max_runtime_setting(monkeypatch):
    monkeypatch.setenv("IMPACT_INGEST_MAX_RUNTIME_S", "900")
    defs = build_definitions("/tmp/never-opened.duckdb")
    for job in ("ingest_prices", "ingest_news"):
        assert defs.resolve_job_def(job).tags == {**WRITER_TAG, MAX_RUNTIME_TAG: "900"}
    assert MAX_RUNTIME_TAG not in defs.resolve_job_def("analyze").tags


def _ingest(warehouse: Path, start: str, end: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pipelines.cli",
        "ingest",
        "--source",
        "demo",
        "--start",
        start,
        "--end",
        end,
        "--no-analyze",
        "--warehouse",
        str(warehouse),
    ]


def _wait_for_started(instance: dg.DagsterInstance, proc: subprocess.Popen, timeout: float) -> dg.DagsterRun:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the CLI ended ({proc.returncode}) before a run was seen STARTED"
        runs = instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))
        if runs:
            return runs[0]
        time.sleep(0.05)
    raise AssertionError(f"no STARTED run within {timeout}s")


@pytest.mark.slow  # two real CLI processes, ~1-2 min on two busy cores
def test_the_run_after_a_kill_9_starts_and_fails_the_orphan(tmp_path, monkeypatch):
    warehouse = tmp_path / "w.duckdb"
    with tempfile.TemporaryDirectory(dir=FAST_DIR, prefix="impact-orphan-") as home:
        monkeypatch.setenv("DAGSTER_HOME", home)
        instance = runner.instance_for(warehouse)  # the CLI's own instance, its storage created here first
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        proc = subprocess.Popen(
            _ingest(warehouse, "2024-01-02", "2024-12-31"),
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            orphan = _wait_for_started(instance, proc, 180)
            os.kill(proc.pid, signal.SIGKILL)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=60)
        assert proc.returncode == -signal.SIGKILL
        assert orphan.tags[orphans.PID_TAG] == str(proc.pid)
        assert instance.get_run_by_id(orphan.run_id).status == dg.DagsterRunStatus.STARTED, "the kill left it STARTED"

        began = time.monotonic()
        done = subprocess.run(
            _ingest(warehouse, "2024-12-02", "2024-12-06"),
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=NEXT_RUN_BOUND_S,
        )
        took = time.monotonic() - began
        print(f"the run after the kill took {took:.1f}s")
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        assert f"marked run {orphan.run_id} failed: its process {proc.pid} is gone" in done.stdout
        assert instance.get_run_by_id(orphan.run_id).status == dg.DagsterRunStatus.FAILURE
        holding = instance.get_runs(filters=dg.RunsFilter(statuses=IN_PROGRESS, tags=WRITER_TAG))
        assert holding == [], "no run holds the writer slot: queued and scheduled runs can start"
        later = instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.SUCCESS]))
        assert {run.job_name for run in later} == {"ingest_prices", "ingest_news"}
