"""`impact serve`: the real stack (private PostgreSQL, dagster-daemon, dagster-webserver) runs a schedule whose
cron comes from the settings, the analyze job follows by the sensor, a SIGKILLed webserver and daemon come back
while a run goes on to its end (issue 14); and the faults (port in use, unreachable PostgreSQL, a second serve,
a stale postmaster.pid) end in one clear line.

The private cluster runs as the ``postgres`` user when the tests run as root, so its folders are made under a
world-traversable temporary folder (pytest's own is private to root).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import duckdb
import pytest

from pipelines.postgres import (
    PostgresError,
    PrivateCluster,
    _as_server_user,
    check_connection,
    free_port,
    redact,
    server_bin,
)
from pipelines.serve import SWEEP_S, InstanceLock
from tests.loopback import serving

IMPACT = Path(sys.executable).with_name("impact")
AS_OF = date(2025, 3, 31)
"""The demo market's last session: the schedule ingests it (IMPACT_SCHEDULE_AS_OF) whatever today is."""
TICKERS = "NVDA,SPY,SMH"
PRICE_CHECKS = {
    "prices_are_positive",
    "ohlc_consistent",
    "no_outsized_moves",
    "no_missing_sessions",
    "prices_not_stale",
    "share_jumps_explained",
}

needs_postgres = pytest.mark.skipif(
    not list(Path("/usr/lib/postgresql").glob("*/bin/initdb")), reason="PostgreSQL server binaries not installed"
)


@pytest.fixture
def open_folder() -> Iterator[Path]:
    """A temporary folder the ``postgres`` user can reach (0755 under /tmp), removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="impact-serve-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def environment(folder: Path, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("IMPACT_", "DAGSTER_"))}
    return {**env, "IMPACT_WAREHOUSE": str(folder / "warehouse.duckdb"), "COLUMNS": "200", **extra}


def impact_serve(*args: str, env: dict[str, str], timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run([str(IMPACT), "serve", *args], capture_output=True, text=True, timeout=timeout, env=env)


def failure(done: subprocess.CompletedProcess) -> str:
    """stderr of a serve that refused: exit 1, one line, no trace."""
    assert done.returncode == 1, f"exit {done.returncode}\nstdout: {done.stdout}\nstderr: {done.stderr}"
    assert "Traceback" not in done.stdout + done.stderr, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


# ------------------------------------------------------------------------------------------------ fast faults


def test_port_in_use_is_one_clear_line(open_folder):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = impact_serve("--port", str(port), env=environment(open_folder))
    assert f"port {port} on 127.0.0.1 is in use" in failure(done)
    assert not (open_folder / ".postgres").exists()  # refused before anything was started


def test_a_second_serve_on_the_instance_is_refused(open_folder):
    home = open_folder / ".dagster-serve"
    home.mkdir()
    lock = InstanceLock(home)
    lock.acquire()  # what a running serve holds
    try:
        done = impact_serve("--port", str(free_port()), env=environment(open_folder))
    finally:
        lock.release()
    line = failure(done)
    assert f"another `impact serve` (pid {os.getpid()}) is running on the instance {home}" in line


def test_a_data_folder_that_cannot_be_written_is_one_clear_line(open_folder):
    blocker = open_folder / "not-a-folder"
    blocker.write_text("a file where the data folder should be")
    done = impact_serve(
        "--port", str(free_port()), "--warehouse", str(blocker / "warehouse.duckdb"), env=environment(open_folder)
    )
    assert f"cannot create the instance folder {blocker / '.dagster-serve'}" in failure(done)


def test_remote_host_needs_allow_remote(open_folder):
    done = impact_serve("--host", "0.0.0.0", env=environment(open_folder))
    assert done.returncode == 2
    assert "--allow-remote" in done.stderr and "Traceback" not in done.stderr


def test_unreachable_postgres_names_the_url_without_its_password(open_folder):
    url = f"postgresql://dagster:s3cret-pw@127.0.0.1:{free_port()}/dagster"
    done = impact_serve("--port", str(free_port()), env=environment(open_folder, IMPACT_DAGSTER_POSTGRES_URL=url))
    line = failure(done)
    assert line.startswith(f"impact serve failed: cannot connect to PostgreSQL at {redact(url)}: ")
    assert "s3cret-pw" not in done.stdout + done.stderr
    assert "dagster:***@127.0.0.1" in line


def test_missing_server_binaries_say_what_to_install(tmp_path):
    with pytest.raises(
        PostgresError, match=r"no PostgreSQL server found .*apt-get install postgresql.*IMPACT_DAGSTER_POSTGRES_URL"
    ):
        server_bin(tmp_path)


def test_schedules_take_cron_state_and_day_from_the_settings():
    import dagster as dg
    import pandas as pd

    from pipelines.definitions import ingestion_schedules
    from pipelines.settings import Settings, SettingsError

    prices, news = ingestion_schedules(
        Settings(
            prices_schedule="*/5 * * * *", news_schedule="0 * * * *", schedule_status="running", schedule_as_of=AS_OF
        )
    )
    assert (prices.cron_schedule, news.cron_schedule) == ("*/5 * * * *", "0 * * * *")
    assert prices.default_status == news.default_status == dg.DefaultScheduleStatus.RUNNING
    tick = dg.build_schedule_context(scheduled_execution_time=pd.Timestamp("2026-12-01 17:30", tz="America/New_York"))
    assert prices(tick).partition_key == news(tick).partition_key == AS_OF.isoformat()
    assert ingestion_schedules(Settings())[0].default_status == dg.DefaultScheduleStatus.STOPPED
    with pytest.raises(SettingsError, match=r"IMPACT_PRICES_SCHEDULE='every day' is not valid: expected a cron"):
        ingestion_schedules(Settings(prices_schedule="every day"))


def test_analyze_follows_the_daemons_ingestion_runs_not_the_clis():
    import dagster as dg

    from pipelines.definitions import analyze_after_ingest
    from pipelines.orphans import PID_TAG

    instance = dg.DagsterInstance.ephemeral()

    def evaluate(job: str, tags: dict[str, str]):
        run = dg.DagsterRun(job_name=job, run_id="a1b2c3d4-run", tags=tags)
        event = dg.DagsterEvent(event_type_value=dg.DagsterEventType.RUN_SUCCESS.value, job_name=job)
        return analyze_after_ingest(
            dg.build_run_status_sensor_context(
                sensor_name="analyze_after_ingest", dagster_event=event, dagster_instance=instance, dagster_run=run
            )
        )

    request = evaluate("ingest_news", {"dagster/schedule_name": "news_end_of_day"})
    assert isinstance(request, dg.RunRequest) and request.run_key == "a1b2c3d4-run"
    assert analyze_after_ingest.default_status == dg.DefaultSensorStatus.RUNNING
    assert isinstance(evaluate("ingest_prices", {PID_TAG: "123"}), dg.SkipReason)  # the CLI analyses its own
    assert isinstance(evaluate("analyze", {}), dg.SkipReason)


def _started_run(instance, pid: int, logged_ago_s: float = 0.0, run_id: str | None = None) -> str:
    """A STARTED daemon-launched run whose worker logged ``pid`` ``logged_ago_s`` seconds ago, as Dagster's does;
    with ``run_id``, a later engine event naming ``pid`` in that run (a step process)."""
    import uuid

    import dagster as dg
    from dagster._core.events import EngineEventData
    from dagster._core.events.log import EventLogEntry

    run = dg.DagsterRun(job_name="ingest_news", run_id=run_id or str(uuid.uuid4()), status=dg.DagsterRunStatus.STARTED)
    if run_id is None:
        instance.add_run(run)
    event = dg.DagsterEvent(
        event_type_value=dg.DagsterEventType.ENGINE_EVENT.value,
        job_name=run.job_name,
        message=f"Started process for run (pid: {pid}).",
        event_specific_data=EngineEventData.in_process(pid),
    )
    entry = EventLogEntry(
        None, 10, "", run.run_id, time.time() - logged_ago_s, job_name=run.job_name, dagster_event=event
    )
    instance.store_event(entry)
    return run.run_id


def test_runs_whose_worker_is_gone_are_failed_at_the_second_sweep(tmp_path):
    import dagster as dg

    from pipelines.orphans import PID_TAG, dead_workers
    from pipelines.serve import DeadRunSweeper

    sweeper = DeadRunSweeper(tmp_path)
    sweeper.sweep()  # opens the instance (SQLite here: the storage does not matter)
    instance = sweeper.instance
    gone = subprocess.Popen(["true"])
    gone.wait()
    with subprocess.Popen(["sleep", "60"]) as reused:
        try:
            dead = _started_run(instance, gone.pid)
            alive = _started_run(instance, os.getpid(), logged_ago_s=0)
            _started_run(instance, gone.pid, run_id=alive)  # a step process that ended: the worker is what counts
            reused_pid = _started_run(instance, reused.pid, logged_ago_s=120)  # the PID now names a newer process
            cli = dg.DagsterRun(
                job_name="ingest_news", run_id="c11-run", status=dg.DagsterRunStatus.STARTED, tags={PID_TAG: "1"}
            )
            instance.add_run(cli)  # the CLI's own runs are fail_orphans' business
            assert dead_workers(instance) == {dead: gone.pid, reused_pid: reused.pid}
            sweeper.sweep()  # first sighting: the code server, were it alive, would say first
            assert instance.get_run_by_id(dead).status == dg.DagsterRunStatus.STARTED
            sweeper.sweep()
        finally:
            reused.kill()
    assert instance.get_run_by_id(dead).status == dg.DagsterRunStatus.FAILURE
    assert instance.get_run_by_id(reused_pid).status == dg.DagsterRunStatus.FAILURE
    assert instance.get_run_by_id(alive).status == dg.DagsterRunStatus.STARTED
    assert instance.get_run_by_id("c11-run").status == dg.DagsterRunStatus.STARTED
    failure = instance.all_logs(dead, of_type=dg.DagsterEventType.RUN_FAILURE)[0].message
    assert f"worker process ({gone.pid}) ended without reporting" in failure and "impact serve" in failure
    sweeper.close()


@needs_postgres
@pytest.mark.skipif(os.geteuid() != 0, reason="only root hands the cluster to the postgres user")
def test_as_root_a_folder_postgres_cannot_reach_is_named(tmp_path):
    private = tmp_path / "private"  # pytest's temporary folders are root's alone (0700)
    private.mkdir(mode=0o700)
    with pytest.raises(
        PostgresError, match=r"runs as user postgres \(it refuses root\), which cannot write .*chmod o\+x"
    ):
        PrivateCluster(private / ".postgres").ensure()


@pytest.fixture(scope="module")
def cluster() -> Iterator[PrivateCluster]:
    """One private cluster (initdb once) for the tests that start and stop it."""
    folder = Path(tempfile.mkdtemp(prefix="impact-pg-"))
    folder.chmod(0o755)
    created = PrivateCluster(folder / ".postgres")
    yield created
    created.stop()
    shutil.rmtree(folder, ignore_errors=True)


@needs_postgres
def test_wrong_password_is_reported_with_the_url_redacted(cluster):
    check_connection(cluster.start())
    wrong = f"postgresql://impact:not-the-password@127.0.0.1:{cluster.port}/dagster"
    with pytest.raises(PostgresError) as raised:
        check_connection(wrong)
    message = str(raised.value)
    assert f"cannot connect to PostgreSQL at postgresql://impact:***@127.0.0.1:{cluster.port}/dagster" in message
    assert "password authentication failed" in message and "not-the-password" not in message


@needs_postgres
def test_postmaster_pid_left_by_a_killed_server_is_recovered(cluster):
    cluster.start()
    pid = int((cluster.data / "postmaster.pid").read_text().split()[0])
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert (cluster.data / "postmaster.pid").exists()  # the crash left it
    check_connection(cluster.start())


@needs_postgres
def test_a_server_left_running_by_a_killed_serve_is_restarted(cluster):
    """serve SIGKILLed: its daemon and webserver die with it (PR_SET_PDEATHSIG), its PostgreSQL keeps running."""
    cluster.start()
    left = int((cluster.data / "postmaster.pid").read_text().split()[0])
    again = PrivateCluster(cluster.folder)  # the next serve knows nothing of the first
    check_connection(again.start())
    assert not _alive(left)
    cluster.port = again.port


@needs_postgres
def test_postmaster_pid_naming_a_live_unrelated_process_is_recovered(cluster):
    """After a reboot the PID in a stale postmaster.pid can be another program's, of the same user: PostgreSQL
    alone refuses to start ("lock file already exists") and ``pg_ctl stop`` would signal that program."""
    cluster.start()
    cluster.stop()
    demote, _ = _as_server_user()
    other = subprocess.Popen(["sleep", "120"], preexec_fn=demote)  # the user the server runs as
    try:
        (cluster.data / "postmaster.pid").write_text(f"{other.pid}\n{cluster.data}\n")
        check_connection(cluster.start())
        assert other.poll() is None  # and it was not signalled
    finally:
        other.kill()
        other.wait()


# ------------------------------------------------------------------------------------------ the whole stack


def _wait(what: str, predicate, timeout_s: float, log: Path):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(1)
    raise AssertionError(
        f"timed out after {timeout_s:.0f} s waiting for {what}; serve's output:\n{log.read_text()[-6000:]}"
    )


@needs_postgres
@pytest.mark.slow
def test_schedule_fires_on_postgres_and_survives_killed_children_mid_run(open_folder, monkeypatch, slow_news):
    import dagster as dg

    from pipelines.postgres import sqlalchemy_url

    monkeypatch.delenv("IMPACT_DAGSTER_POSTGRES_URL", raising=False)
    log = open_folder / "serve.log"
    port = free_port()
    env = environment(
        open_folder,
        IMPACT_PRICES_SCHEDULE="* * * * *",
        IMPACT_SCHEDULE_STATUS="running",
        IMPACT_SCHEDULE_AS_OF=AS_OF.isoformat(),
        IMPACT_TICKERS=TICKERS,
        IMPACT_PRICE_SOURCE="demo",
        IMPACT_NEWS_SOURCES="fmp",
        FMP_API_KEY="test-key",
        IMPACT_FMP_URL=f"http://127.0.0.1:{slow_news}/stock_news",
    )
    with open(log, "w") as out:
        serve = subprocess.Popen(
            [str(IMPACT), "serve", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        storage = _wait("the PostgreSQL line", lambda: re.search(r"on 127\.0\.0\.1:(\d+)\n", log.read_text()), 120, log)
        cluster = PrivateCluster(open_folder / ".postgres")
        cluster.port = int(storage.group(1))
        monkeypatch.setenv("IMPACT_DAGSTER_POSTGRES_URL", sqlalchemy_url(cluster.url()))  # dagster.yaml reads it
        instance = dg.DagsterInstance.from_config(str(open_folder / ".dagster-serve"))
        by_schedule = dg.RunsFilter(job_name="ingest_prices", tags={"dagster/schedule_name": "prices_after_close"})

        # The tick launches the run, recorded in PostgreSQL; it ingests the day and runs every check.
        first = _wait(
            "a successful scheduled run",
            lambda: next((r for r in instance.get_runs(by_schedule) if r.status == dg.DagsterRunStatus.SUCCESS), None),
            480,  # the first tick waits for the daemon, the webserver and PostgreSQL to start: minutes on a loaded 2-core machine
            log,
        )
        assert first.tags["dagster/partition"] == AS_OF.isoformat()
        checks = {
            e.dagster_event.event_specific_data.asset_check_key.name: e.dagster_event.event_specific_data.passed
            for e in instance.all_logs(first.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
        }
        assert checks == dict.fromkeys(PRICE_CHECKS, True)
        with Cursor(cluster.url()) as cursor:
            cursor.execute("SELECT status FROM runs WHERE run_id = %s", (first.run_id,))
            assert cursor.fetchone() == ("SUCCESS",)

        # The sensor launches analyze after it, by itself.
        _wait(
            "analyze launched by the sensor",
            lambda: instance.get_runs(dg.RunsFilter(job_name="analyze", tags={"impact/after-run": first.run_id})),
            90,
            log,
        )

        # The webserver reads the same history from PostgreSQL.
        assert {"runId": first.run_id, "status": "SUCCESS"} in _graphql(port, RUNS_QUERY)["data"]["runsOrError"][
            "results"
        ]

        # A run launched through the webserver is in progress (its news source holds the answer) when the webserver,
        # then the daemon, get SIGKILL: serve restarts both, the history is kept, the run goes on and succeeds (its
        # worker is a child of the daemon's code server, which outlives its parent until its runs end), so the writer
        # slot is freed and the next tick runs and succeeds.
        news = _launch_run(port, "ingest_news", AS_OF.isoformat())
        _wait("the news run's request to its source", SlowNews.asked.is_set, 240, log)
        for name in SERVED:
            pid = int(re.findall(rf"{name} started \(pid (\d+)\)", log.read_text())[-1])
            os.kill(pid, signal.SIGKILL)
            restarted = f"{name} (pid {pid}) exited with -9: restarting it"
            _wait(f"{name} restarted", lambda line=restarted: line in log.read_text(), 30, log)
        assert instance.get_run_by_id(news).status == dg.DagsterRunStatus.STARTED  # still held by its source
        assert instance.get_run_by_id(first.run_id).status == dg.DagsterRunStatus.SUCCESS
        SlowNews.release.set()
        ended = _wait(
            "the news run to end",
            lambda: (run := instance.get_run_by_id(news)) and run.is_finished and run,
            120,
            log,
        )
        assert ended.status == dg.DagsterRunStatus.SUCCESS, _run_failure(instance, news)

        # A run whose worker dies together with its code server (the daemon's process group SIGKILLed, as
        # `kill -9 -PGID` or a killed cgroup do): nobody in Dagster notices, serve marks it failed within two sweeps.
        _wait("the restarted webserver to answer", lambda: _answers(port), 120, log)
        SlowNews.asked.clear()
        SlowNews.release.clear()
        lost = _launch_run(port, "ingest_news", AS_OF.isoformat())
        _wait("the second news run's request to its source", SlowNews.asked.is_set, 240, log)
        daemon = int(re.findall(r"dagster-daemon started \(pid (\d+)\)", log.read_text())[-1])
        os.killpg(daemon, signal.SIGKILL)
        failed = _wait(
            "the run whose worker was killed to be marked failed",
            lambda: (run := instance.get_run_by_id(lost)) and run.is_finished and run,
            2 * SWEEP_S + 60,
            log,
        )
        freed_at = time.time()
        SlowNews.release.set()
        assert failed.status == dg.DagsterRunStatus.FAILURE
        assert "ended without reporting" in _run_failure(instance, lost)
        assert f"marked run {lost} failed: its worker process" in log.read_text()
        # The writer slot is free again: a scheduled run succeeds after that.
        _wait(
            "a scheduled run that succeeds after the failed one",
            lambda: [
                r
                for r in instance.get_run_records(by_schedule)
                if r.dagster_run.status == dg.DagsterRunStatus.SUCCESS and (r.end_time or 0) > freed_at
            ],
            240,
            log,
        )
        assert {"runId": news, "status": "SUCCESS"} in _graphql(port, RUNS_QUERY)["data"]["runsOrError"]["results"]
    finally:
        serve.send_signal(signal.SIGTERM)
        code = serve.wait(90)
    assert code == 0, log.read_text()[-4000:]
    text = log.read_text()
    assert "PostgreSQL stopped" in text and not (open_folder / ".postgres" / "data" / "postmaster.pid").exists()
    for pid in map(int, re.findall(r"started \(pid (\d+)\)", text)):
        assert not _alive(pid), f"child {pid} outlived serve"
    # Nor anything a child started in its process group: the killed webserver's code server ends when its
    # heartbeats stop (Dagster: 45 s), the killed daemon's once its run has ended.
    groups = {int(pid) for pid in re.findall(r"started \(pid (\d+)\)", text)}
    _wait("the killed children's code servers to exit", lambda: not _group_members(groups), 90, log)
    with duckdb.connect(str(open_folder / "warehouse.duckdb"), read_only=True) as con:
        rows = con.execute("SELECT ticker FROM core.prices WHERE date = ? ORDER BY ticker", [AS_OF]).fetchall()
    assert [r[0] for r in rows] == sorted(TICKERS.split(","))


SERVED = ("dagster-webserver", "dagster-daemon")
RUNS_QUERY = "{ runsOrError { ... on Runs { results { runId status } } } }"
LAUNCH_RUN = """mutation ($params: ExecutionParams!) { launchRun(executionParams: $params) {
  __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message } } }"""


class SlowNews(BaseHTTPRequestHandler):
    """FMP's stock_news on 127.0.0.1 that holds every answer until the test sets :attr:`release` (its client times
    out after 30 s and asks again): a run in progress for as long as the test needs. One NVDA headline per day."""

    asked = threading.Event()
    release = threading.Event()

    def do_GET(self) -> None:
        SlowNews.asked.set()
        if not SlowNews.release.wait(120):
            self.send_error(503)
            return
        item = {
            "symbol": "NVDA",
            "publishedDate": f"{AS_OF} 10:00:00",
            "title": "Nvidia headline held by a slow source",
            "site": "example.com",
            "text": "",
            "url": "https://example.com/held",
        }
        body = json.dumps([item]).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the worker that asked was killed meanwhile

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def slow_news() -> Iterator[int]:
    """The port of a :class:`SlowNews` server, its events cleared; released at the end whatever happened."""
    SlowNews.asked.clear()
    SlowNews.release.clear()
    with serving(SlowNews) as port:
        try:
            yield port
        finally:
            SlowNews.release.set()


def _launch_run(port: int, job: str, partition: str) -> str:
    """Launch ``job`` for ``partition`` as the UI's Launch button does (GraphQL ``launchRun``); the run's id."""
    params = {
        "selector": {
            "repositoryLocationName": "pipelines.definitions",
            "repositoryName": "__repository__",
            "jobName": job,
        },
        "runConfigData": {},
        "executionMetadata": {"tags": [{"key": "dagster/partition", "value": partition}]},
    }
    answer = _graphql(port, LAUNCH_RUN, {"params": params})["data"]["launchRun"]
    assert answer["__typename"] == "LaunchRunSuccess", answer
    return answer["run"]["runId"]


def _run_failure(instance, run_id: str) -> str:
    """The messages of a run's failure events, for an assertion's text."""
    import dagster as dg

    return "\n".join(e.message or "" for e in instance.all_logs(run_id, of_type=dg.DagsterEventType.RUN_FAILURE))


def _graphql(port: int, query: str, variables: dict | None = None) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query, "variables": variables or {}}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def _answers(port: int) -> bool:
    """Whether the webserver on ``port`` answers GraphQL."""
    try:
        return "data" in _graphql(port, "{ version }")
    except OSError:
        return False


def _group_members(groups: set[int]) -> list[int]:
    """Live processes whose process group is one of ``groups``."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, _, group = stat.read_text().rsplit(")", 1)[1].split()[:3]
        except OSError:
            continue
        if int(group) in groups and state != "Z":
            members.append(int(stat.parent.name))
    return members


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


class Cursor:
    """A cursor on ``url`` for the duration of a ``with`` block (autocommit)."""

    def __init__(self, url: str) -> None:
        import psycopg2

        self.connection = psycopg2.connect(url, connect_timeout=10)
        self.connection.autocommit = True

    def __enter__(self):
        return self.connection.cursor()

    def __exit__(self, *exc: object) -> None:
        self.connection.close()
