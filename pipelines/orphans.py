"""Runs whose process died: the CLI's in-process runs tag their PID, and the next run fails the dead ones.

A CLI run killed with SIGKILL never reports its end, so it stays STARTED in the Dagster instance and
holds the ``impact/warehouse-writer`` slot: queued and scheduled runs would wait for it forever.
Dagster's run monitor cannot see that (the default run launcher has no worker health check), so
:func:`fail_orphans`, called before every CLI run, marks such runs failed. Runs launched by the daemon
run in a worker process of its code server, which fails the run when the worker dies; a worker killed
together with that code server is found by :func:`dead_workers` (``impact serve`` fails those runs).
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import dagster as dg

PID_TAG = "impact/pid"
HOST_TAG = "impact/host"
START_TAG = "impact/pid-start"
"""The process's start time (Linux: clock ticks after boot): with the PID it names one process even after PIDs wrap."""


def _stat(pid: int) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name (state first), None where there is none."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()


def _start_time(pid: int) -> str | None:
    fields = _stat(pid)
    return fields[19] if fields else None


def owner_tags() -> dict[str, str]:
    """Tags naming the process that executes a run in-process: this one, on this host."""
    tags = {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}
    start = _start_time(os.getpid())
    if start is not None:
        tags[START_TAG] = start
    return tags


def process_alive(pid: int, start: str | None = None) -> bool:
    """Whether ``pid`` is a live process (not a zombie) and, when ``start`` is given, the same one that was tagged."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: it exists
    fields = _stat(pid)
    if fields is None:
        return True  # no /proc: the signal check is all there is
    if fields[0] in ("Z", "X"):
        return False
    return start is None or fields[19] == start


def fail_orphans(instance: dg.DagsterInstance) -> list[str]:
    """Mark failed the STARTING/STARTED runs of this host whose tagged process is gone; one line per run."""
    runs = instance.get_runs(
        filters=dg.RunsFilter(
            statuses=[dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED],
            tags={HOST_TAG: socket.gethostname()},
        )
    )
    notes = []
    for run in runs:
        try:
            pid = int(run.tags[PID_TAG])
        except (KeyError, ValueError):
            continue
        if process_alive(pid, run.tags.get(START_TAG)):
            continue
        note = f"marked run {run.run_id} failed: its process {pid} is gone"
        instance.report_run_failed(
            run,
            f"The process that executed this run ({pid} on {run.tags[HOST_TAG]}) "
            "ended without reporting; marked failed by the next `impact` run.",
        )
        notes.append(note)
    return notes


def _started_at(pid: int) -> float | None:
    """When ``pid`` started, in seconds since the epoch (Linux ``/proc``); None where unknown."""
    fields = _stat(pid)
    try:
        boot = next(line for line in Path("/proc/stat").read_text().splitlines() if line.startswith("btime "))
    except (OSError, StopIteration):
        return None
    return None if fields is None else int(boot.split()[1]) + int(fields[19]) / os.sysconf("SC_CLK_TCK")


def dead_workers(instance: dg.DagsterInstance) -> dict[str, int]:
    """The STARTED runs launched by the daemon whose worker process is gone: run id -> the worker's PID.

    The worker logs its PID first ("Started process for run (pid: N)."; later engine events may name step processes);
    a live process with that PID that started after the event is another one. Only for an instance whose launched
    runs all run on this machine (serve's: one daemon per instance).
    """
    dead: dict[str, int] = {}
    for run in instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])):
        if PID_TAG in run.tags:
            continue  # a CLI run: fail_orphans
        logged = [
            (int(str(value.value)), entry.timestamp)
            for entry in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT)
            if entry.dagster_event is not None
            and entry.dagster_event.engine_event_data is not None
            and (value := entry.dagster_event.engine_event_data.metadata.get("pid")) is not None
        ]
        if not logged:
            continue
        pid, said_at = logged[0]
        started = _started_at(pid)
        if process_alive(pid) and (started is None or started <= said_at + 2):  # /proc's boot time is whole seconds
            continue
        dead[run.run_id] = pid
    return dead
