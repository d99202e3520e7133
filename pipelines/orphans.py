"""Runs whose process died: the CLI's in-process runs tag their PID, and the next run fails the dead ones.

A CLI run killed with SIGKILL never reports its end, so it stays STARTED in the Dagster instance and
holds the ``impact/warehouse-writer`` slot: queued and scheduled runs would wait for it forever.
Dagster's run monitor cannot see that (the default run launcher has no worker health check), so
:func:`fail_orphans`, called before every CLI run, marks such runs failed. Runs without the tags
(launched by the UI or a schedule) are left to Dagster's run monitoring.
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
