"""`impact ui` starts the real `dagster dev` on 127.0.0.1, serves our definitions, and stops on a signal."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

QUERY = "{ repositoriesOrError { ... on RepositoryConnection { nodes { jobs { name } schedules { name } } } } }"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _graphql(port: int) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql", data=json.dumps({"query": QUERY}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.load(response)


@pytest.mark.slow
def test_ui_serves_the_definitions_and_stops_on_sigterm(tmp_path):
    port = _free_port()
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "home")}
    process = subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", "ui", "--port", str(port), "--warehouse", str(tmp_path / "w.duckdb")],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90
        answer = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                answer = _graphql(port)
                if answer.get("data", {}).get("repositoriesOrError", {}).get("nodes"):
                    break
            except OSError:
                pass
            time.sleep(1)
        assert answer is not None, "the UI never answered"
        node = answer["data"]["repositoriesOrError"]["nodes"][0]
        assert {"ingest_prices", "ingest_news"} <= {j["name"] for j in node["jobs"]}
        assert {s["name"] for s in node["schedules"]} == {"prices_after_close", "news_end_of_day"}
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) is not None
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    with pytest.raises(OSError):
        _graphql(port)
