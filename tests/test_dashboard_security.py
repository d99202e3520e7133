"""The dashboards' HTTP hardening: unknown Host names get 400, every response carries the security headers,
and `impact dashboard` binds beyond loopback only when told to (--allow-remote).

The app runs through Flask's test client over a real (empty-schema) warehouse; the CSP is checked in a
real browser by tests/test_dashboard_browser.py (pages render with it)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from dashboards.app import create_app
from dashboards.security import allowed_hosts
from pipelines import warehouse

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def warehouse_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("dash-security") / "w.duckdb"
    with warehouse.writer(path):
        pass  # the schema, no data
    return path


@pytest.fixture(scope="module")
def client(warehouse_file):
    app = create_app(warehouse_file, hosts=allowed_hosts("127.0.0.1", ["dash.example.org"]))
    return app.server.test_client()


@pytest.mark.parametrize(
    "host", ["127.0.0.1:8050", "localhost:8050", "localhost", "dash.example.org", "dash.example.org:443"]
)
def test_allowed_hosts_are_served(client, host):
    response = client.get("/", headers={"Host": host})
    assert response.status_code == 200, host
    assert b"_dash-renderer" in response.data


@pytest.mark.parametrize(
    "host", ["evil.example.com", "evil.example.com:8050", "127.0.0.1.evil.example.com", "dash.example.org.evil.com"]
)
def test_other_hosts_get_400(client, host):
    for path in ("/", "/_dash-layout", "/assets/style.css"):
        response = client.get(path, headers={"Host": host})
        assert response.status_code == 400, (host, path)
        assert b"_dash" not in response.data


def test_every_response_carries_the_security_headers(client):
    for path in ("/", "/_dash-layout", "/_dash-dependencies", "/assets/style.css", "/no-such-page"):
        headers = client.get(path, headers={"Host": "127.0.0.1:8050"}).headers
        assert headers["X-Frame-Options"] == "DENY", path
        assert headers["X-Content-Type-Options"] == "nosniff", path
        assert headers["Referrer-Policy"] == "no-referrer", path
        policy = dict(part.strip().split(" ", 1) for part in headers["Content-Security-Policy"].split(";"))
        assert policy["frame-ancestors"] == "'none'" and policy["object-src"] == "'none'", path
        assert policy["default-src"] == "'self'"
        scripts = policy["script-src"].split()
        assert scripts[0] == "'self'" and "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts
        assert any(source.startswith("'sha256-") for source in scripts), "Dash's inline renderer, by hash"
    assert "X-Frame-Options" in client.get("/", headers={"Host": "evil.example.com"}).headers


def test_the_hashed_inline_script_is_the_one_the_page_carries(client):
    """The policy's hash is of the renderer script the index page actually inlines (else the app would not start)."""
    import base64
    import hashlib
    import re

    response = client.get("/", headers={"Host": "127.0.0.1"})
    inline = re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>(.*?)</script>", response.text, re.S)
    assert inline, "the page inlines Dash's renderer"
    policy = response.headers["Content-Security-Policy"]
    for script in inline:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy


def test_wildcard_bind_is_not_an_allowed_host_name():
    assert allowed_hosts("0.0.0.0") == ["127.0.0.1", "localhost"]
    assert allowed_hosts("10.1.2.3", [" Dash.Lan ", "localhost"]) == ["127.0.0.1", "localhost", "10.1.2.3", "dash.lan"]


def _dashboard(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "dashboard", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
    )


@pytest.fixture
def taken_port():
    """A port some other program listens on: a command that gets as far as serving stops there at once."""
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        yield str(taken.getsockname()[1])


def test_binding_beyond_loopback_needs_allow_remote(warehouse_file, taken_port):
    done = _dashboard("--host", "0.0.0.0", "--port", taken_port, "--warehouse", str(warehouse_file))
    assert done.returncode == 2
    assert "0.0.0.0 is not a loopback interface" in done.stderr and "--allow-remote" in done.stderr
    assert "Traceback" not in done.stderr and "Dashboards on" not in done.stderr


def test_allow_remote_serves_the_configured_hosts(warehouse_file, taken_port):
    """With --allow-remote the command goes on to serve, naming the Host names it answers (the setting's and the
    flag's); the port is taken, so the server stops right there."""
    done = _dashboard(
        "--host",
        "0.0.0.0",
        "--port",
        taken_port,
        "--allow-remote",
        "--allowed-host",
        "dash.lan",
        "--warehouse",
        str(warehouse_file),
        env={"IMPACT_DASHBOARD_ALLOWED_HOSTS": "box.lan,other.lan"},
    )
    assert done.returncode != 0
    assert "reachable from other machines" in done.stderr
    assert "Host names 127.0.0.1, localhost, box.lan, other.lan, dash.lan" in " ".join(done.stderr.split())
