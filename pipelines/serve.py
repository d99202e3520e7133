"""``impact serve``: the production profile on one machine. ``dagster-daemon`` and ``dagster-webserver`` on a
Dagster instance whose run, event-log and schedule storage is PostgreSQL, supervised until SIGINT/SIGTERM.

The database is ``IMPACT_DAGSTER_POSTGRES_URL``, else a private cluster in ``.postgres`` beside the warehouse
(:mod:`pipelines.postgres`). The instance folder is ``.dagster-serve`` beside the warehouse (the CLI's own runs
stay in ``.dagster``); a lock file there makes a second ``impact serve`` on it refuse. A child that dies after
running a while is restarted; one that dies at start stops everything. A run whose worker process died with its code
server is marked failed (:class:`DeadRunSweeper`). Dagster loads only when the command runs.
"""

from __future__ import annotations

import ctypes
import fcntl
import ipaddress
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated

import typer

from pipelines import settings
from pipelines import warehouse as wh
from pipelines.errors import ImpactError

if TYPE_CHECKING:
    import dagster as dg

    from pipelines.postgres import PrivateCluster

URL_ENV = "IMPACT_DAGSTER_POSTGRES_URL"
STORAGE_YAML = f"""\
# Run, event-log and schedule storage: PostgreSQL, its URL read from ${URL_ENV} (never written here). The event log
# is dagster-postgres's with a range run's planned check rows written faster (pipelines/dagster_storage_postgres.py).
run_storage:
  module: dagster_postgres.run_storage
  class: PostgresRunStorage
  config:
    postgres_url:
      env: {URL_ENV}
event_log_storage:
  module: pipelines.dagster_storage_postgres
  class: PostgresEventLogStorage
  config:
    postgres_url:
      env: {URL_ENV}
schedule_storage:
  module: dagster_postgres.schedule_storage
  class: PostgresScheduleStorage
  config:
    postgres_url:
      env: {URL_ENV}
"""
SERVE_MARKER = "# Written by `impact serve` at every start (edits are overwritten; serve's instance only)."
STEADY_S = 10.0
"""A child that exits sooner than this after its start is not restarted: the cause will not go away by itself."""
STOP_TIMEOUT_S = 30.0
"""How long a child may take to stop after SIGTERM before it (and its process group) is killed."""
SWEEP_S = 15.0
"""How often serve looks for runs whose worker is gone; such a run is failed when seen twice (the code server, when
alive, says first, with the worker's exit code)."""


class ServeError(ImpactError):
    """``impact serve`` cannot start or keep running; the message says why and what to do."""


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def check_port_free(host: str, port: int) -> None:
    """A clear error when something already listens on ``host:port``."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the webserver binds: TIME_WAIT is no conflict
        try:
            probe.bind((host, port))
        except OSError as error:
            raise ServeError(
                f"port {port} on {host} is in use ({error.strerror}): stop what listens there or "
                "choose another with --port"
            ) from None


class InstanceLock:
    """An exclusive ``fcntl`` lock on ``<home>/serve.lock`` holding the owner's PID; released when the process ends."""

    def __init__(self, home: Path) -> None:
        self.path = home / "serve.lock"
        self.handle: IO[str] | None = None

    def acquire(self) -> None:
        handle = open(self.path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            owner = handle.read().strip() or "unknown"
            handle.close()
            raise ServeError(
                f"another `impact serve` (pid {owner}) is running on the instance {self.path.parent}: "
                "stop it first (one daemon per instance)"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self.handle = handle

    def release(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None


def write_instance_yaml(home: Path) -> None:
    """serve's dagster.yaml: the CLI instance's blocks (writer concurrency, run monitoring) plus PostgreSQL storage."""
    from pipelines.runner import DAGSTER_YAML

    shared = DAGSTER_YAML.split("\n", 1)[1]  # without the CLI's marker line: this file is serve's
    draft = home / f".dagster.yaml.{os.getpid()}"
    draft.write_text(f"{SERVE_MARKER}\n{shared}{STORAGE_YAML}")
    os.replace(draft, home / "dagster.yaml")


def _child_setup() -> None:
    """In each child: default SIGINT (shells start background jobs with it ignored), and SIGTERM when serve dies."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@dataclass
class Child:
    """One supervised process: its name, command and the process running it now."""

    name: str
    command: list[str]
    process: subprocess.Popen | None = None
    started: float = 0.0

    def start(self, env: dict[str, str]) -> None:
        # Its own process group: a terminal's Ctrl-C reaches serve alone, which stops the children in order.
        self.process = subprocess.Popen(self.command, env=env, preexec_fn=_child_setup, start_new_session=True)
        self.started = time.monotonic()
        say(f"{self.name} started (pid {self.process.pid})")

    def stop(self) -> None:
        """SIGTERM its process group (code servers and run workers with it), SIGKILL after :data:`STOP_TIMEOUT_S`."""
        if self.process is None or self.process.poll() is not None:
            return
        _signal_group(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            _signal_group(self.process.pid, signal.SIGKILL)
            self.process.wait()
        _signal_group(self.process.pid, signal.SIGKILL)  # whatever it left behind in its group


def _signal_group(pid: int, signum: int) -> None:
    try:
        os.killpg(pid, signum)
    except ProcessLookupError:
        pass


class DeadRunSweeper:
    """Fails the STARTED runs whose worker died together with its code server (a killed process group, say).

    The code server alone watches its workers, and Dagster's run monitoring has no worker health check for the
    default run launcher: such a run would stay STARTED, holding the writer slot, until its ``dagster/max_runtime``
    (analyze: never). The instance opens at the first sweep, once the children have created the storage.
    """

    def __init__(self, home: Path) -> None:
        self.home = home
        self.instance: dg.DagsterInstance | None = None
        self.seen: dict[str, int] = {}

    def sweep(self) -> None:
        import dagster as dg

        from pipelines.orphans import dead_workers

        if self.instance is None:
            self.instance = dg.DagsterInstance.from_config(str(self.home))
        dead = dead_workers(self.instance)
        for run_id, pid in dead.items():
            run = self.instance.get_run_by_id(run_id)
            if self.seen.get(run_id) != pid or run is None or run.status != dg.DagsterRunStatus.STARTED:
                continue
            self.instance.report_run_failed(
                run,
                f"The run's worker process ({pid}) ended without reporting, and so did the code server that would "
                "have said so; marked failed by `impact serve`.",
            )
            say(f"marked run {run_id} failed: its worker process {pid} is gone")
        self.seen = dead

    def close(self) -> None:
        if self.instance is not None:
            self.instance.dispose()
            self.instance = None


def say(message: str) -> None:
    print(f"impact serve: {message}", flush=True)


@dataclass
class Paths:
    """Where serve keeps things: the warehouse, the instance folder, the private PostgreSQL cluster."""

    warehouse: Path
    home: Path
    cluster: Path

    @classmethod
    def beside(cls, warehouse_file: Path | None) -> Paths:
        target = wh.warehouse_path(warehouse_file)
        return cls(target, target.parent / ".dagster-serve", target.parent / ".postgres")


class Server:
    """The supervisor: lock, PostgreSQL, dagster.yaml, then the daemon and the webserver until told to stop."""

    def __init__(self, paths: Paths, host: str, port: int) -> None:
        self.paths, self.host, self.port = paths, host, port
        self.lock = InstanceLock(paths.home)
        self.cluster: PrivateCluster | None = None
        self.stopping = False
        self.children: list[Child] = []
        self.env: dict[str, str] = {}
        self.sweeper = DeadRunSweeper(paths.home)

    def _database(self) -> str:
        """The storage URL for Dagster (SQLAlchemy form), once PostgreSQL answers there; the private cluster when no URL
        is configured."""
        from pipelines.postgres import PrivateCluster, check_connection, redact, sqlalchemy_url

        url = settings.secret(URL_ENV)
        if url is None:
            cluster = self.cluster = PrivateCluster(self.paths.cluster)
            url = cluster.start()
            say(f"PostgreSQL: private cluster {cluster.data} on 127.0.0.1:{cluster.port}")
        check_connection(url)
        say(f"Dagster storage: {redact(url)}")
        return sqlalchemy_url(url)

    def _definitions_ok(self) -> None:
        """Load the definitions here first: a bad setting is one clear line, not two crashing children."""
        import dagster as dg

        from pipelines.definitions import build_definitions

        defs = build_definitions(str(self.paths.warehouse))
        state = settings.value("IMPACT_SCHEDULE_STATUS")
        schedules = [s for s in defs.schedules or () if isinstance(s, dg.ScheduleDefinition)]
        crons = ", ".join(f"{s.name} `{s.cron_schedule}`" for s in schedules)
        say(f"schedules: {crons} (first state: {state}; IMPACT_SCHEDULE_STATUS=running starts them without the UI)")

    def start(self) -> None:
        try:
            self.paths.home.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ServeError(f"cannot create the instance folder {self.paths.home}: {error.strerror}") from None
        self.lock.acquire()
        check_port_free(self.host, self.port)
        self._definitions_ok()
        url = self._database()
        write_instance_yaml(self.paths.home)
        env = {
            **os.environ,
            "DAGSTER_HOME": str(self.paths.home),
            wh.WAREHOUSE_ENV: str(self.paths.warehouse),
            URL_ENV: url,
        }
        python = sys.executable
        self.children = [
            Child("dagster-daemon", [python, "-m", "dagster._daemon", "run", "-m", "pipelines.definitions"]),
            Child(
                "dagster-webserver",
                [
                    python,
                    "-m",
                    "dagster_webserver",
                    "-m",
                    "pipelines.definitions",
                    "-h",
                    self.host,
                    "-p",
                    str(self.port),
                ],
            ),
        ]
        for child in self.children:
            child.start(env)
        self.env = env
        os.environ.update({URL_ENV: url})  # written, not read: serve's own instance (the sweeper) reads dagster.yaml too
        say(f"Dagster UI on http://{self.host}:{self.port}/ (instance {self.paths.home}). Ctrl-C stops.")

    def supervise(self) -> int:
        """Restart a child that dies after running a while; stop all and return 1 if one dies at its start.
        Every :data:`SWEEP_S`, fail the runs whose worker is gone."""
        next_sweep = time.monotonic() + SWEEP_S
        while not self.stopping:
            if time.monotonic() >= next_sweep:
                try:
                    self.sweeper.sweep()
                except Exception as error:  # PostgreSQL restarting, say: the children matter more; next sweep retries
                    first = (str(error).strip().splitlines() or [""])[0]
                    say(f"could not look for runs whose worker is gone: {type(error).__name__}: {first}")
                next_sweep = time.monotonic() + SWEEP_S
            for child in self.children:
                process = child.process
                code = None if process is None else process.poll()
                if process is None or code is None:
                    continue
                if time.monotonic() - child.started < STEADY_S:
                    say(
                        f"{child.name} exited with {code} within {STEADY_S:.0f} s of its start (its output is above): "
                        "stopping"
                    )
                    return 1
                say(f"{child.name} (pid {process.pid}) exited with {code}: restarting it")
                child.start(self.env)
            time.sleep(0.5)
        return 0

    def stop(self) -> None:
        """Webserver, daemon, then the private PostgreSQL (fast shutdown); then the lock."""
        for child in reversed(self.children):
            child.stop()
        self.sweeper.close()
        if self.cluster is not None:
            self.cluster.stop()
            say("PostgreSQL stopped")
        self.lock.release()


def serve(
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port of the Dagster UI.")] = 3000,
    host: Annotated[
        str, typer.Option(help="Interface to bind (default loopback only; others need --allow-remote).")
    ] = "127.0.0.1",
    allow_remote: Annotated[
        bool, typer.Option("--allow-remote", help="Let --host be a non-loopback interface: the UI has no login.")
    ] = False,
    warehouse_file: Annotated[
        Path | None,
        typer.Option("--warehouse", help="DuckDB file (default: $IMPACT_WAREHOUSE or data/warehouse.duckdb)."),
    ] = None,
) -> None:
    """Run the schedules for real: dagster-daemon and dagster-webserver on PostgreSQL storage; Ctrl-C or SIGTERM stops."""
    if not is_loopback(host) and not allow_remote:
        raise typer.BadParameter(
            f"--host {host} would expose the Dagster UI (it launches runs and has no login) beyond "
            "this machine: add --allow-remote to do that deliberately",
            param_hint="--host",
        )
    server = Server(Paths.beside(warehouse_file), host, port)

    def request_stop(signum: int, frame: object) -> None:
        server.stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    code = 0
    try:
        server.start()
        code = server.supervise()
    except ImpactError as error:
        typer.echo(f"impact serve failed: {error}", err=True)
        code = 1
    finally:
        server.stop()
    say("stopped")
    raise typer.Exit(code)
