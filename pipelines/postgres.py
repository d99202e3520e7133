"""PostgreSQL for ``impact serve``: a private cluster beside the warehouse, and connection checks with clear errors.

The private cluster uses Debian's server binaries (``/usr/lib/postgresql/<version>/bin``), listens on
127.0.0.1 only (no Unix socket: socket paths are limited to 107 bytes) with a generated password, and
runs as the ``postgres`` user when this process is root (initdb and postgres refuse root).
"""

from __future__ import annotations

import os
import pwd
import secrets
import signal
import socket
import subprocess
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from pipelines.errors import ImpactError

SERVER_BINARIES = Path("/usr/lib/postgresql")
DATABASE = "dagster"
USER = "impact"
SERVER_USER = "postgres"
"""The unprivileged user the cluster runs as when this process is root."""

CLUSTER_CONF = """
# Written by ai-market-impact (impact serve): a private cluster for Dagster's storage.
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
max_connections = 100
shared_buffers = 32MB
"""


class PostgresError(ImpactError):
    """PostgreSQL cannot be found, started or reached; the message says which and what to do."""


def redact(url: str) -> str:
    """``url`` with its password replaced by ``***`` (for messages and logs)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def libpq_url(url: str) -> str:
    """``url`` as libpq (psycopg2) reads it: without a SQLAlchemy driver suffix such as ``+psycopg2``."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme.split('+')[0]}{sep}{rest}"


def sqlalchemy_url(url: str) -> str:
    """``url`` naming the psycopg2 driver: SQLAlchemy 2.1 reads a bare ``postgresql://`` as psycopg 3."""
    scheme, sep, rest = libpq_url(url).partition("://")
    return f"postgresql+psycopg2{sep}{rest}" if scheme in ("postgresql", "postgres") else url


def check_connection(url: str, timeout_s: int = 5) -> None:
    """Connect once and disconnect; a clear :class:`PostgresError` naming the (redacted) URL when that fails."""
    import psycopg2

    try:
        psycopg2.connect(libpq_url(url), connect_timeout=timeout_s).close()
    except psycopg2.Error as error:
        reason = " ".join(str(error).split()) or type(error).__name__
        raise PostgresError(f"cannot connect to PostgreSQL at {redact(url)}: {reason}") from None


def server_bin(root: Path = SERVER_BINARIES) -> Path:
    """The newest installed server's ``bin`` folder, or an error saying how to get one."""
    found = sorted(
        root.glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0
    )
    if not found:
        raise PostgresError(
            f"no PostgreSQL server found ({root}/<version>/bin/initdb): install it (`apt-get install postgresql`) "
            "or set IMPACT_DAGSTER_POSTGRES_URL to a server you run"
        )
    return found[-1].parent


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _as_server_user() -> tuple[Callable[[], None] | None, pwd.struct_passwd | None]:
    """When root: a preexec function that becomes ``postgres`` (and its account); else nothing to change."""
    if os.geteuid() != 0:
        return None, None
    try:
        account = pwd.getpwnam(SERVER_USER)
    except KeyError:
        raise PostgresError(
            f"running as root, and PostgreSQL refuses root: create a `{SERVER_USER}` user (the postgresql "
            "package does) or set IMPACT_DAGSTER_POSTGRES_URL"
        ) from None

    def demote() -> None:
        os.setgid(account.pw_gid)
        os.setuid(account.pw_uid)

    return demote, account


class PrivateCluster:
    """A PostgreSQL cluster in ``folder`` (``data/`` the cluster, ``password`` the generated password)."""

    def __init__(self, folder: Path, bin_dir: Path | None = None) -> None:
        self.folder = folder
        self.data = folder / "data"
        self.bin = bin_dir or server_bin()
        self.port: int | None = None

    def _run(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        demote, _ = _as_server_user()
        return subprocess.run(
            [str(self.bin / args[0]), *args[1:]],
            preexec_fn=demote,
            capture_output=True,
            text=True,
            cwd="/",
            start_new_session=True,  # Ctrl-C in a terminal reaches serve, which stops the server in order
            **kwargs,
        )

    def _check_reachable(self) -> None:
        """As root, the server user must be able to write the cluster folder: say so plainly if it cannot."""
        _, account = _as_server_user()
        if account is None:
            return
        os.chown(self.folder, account.pw_uid, account.pw_gid)
        probe = subprocess.run(
            ["test", "-w", str(self.folder), "-a", "-x", str(self.folder)], preexec_fn=_as_server_user()[0]
        )
        if probe.returncode != 0:
            raise PostgresError(
                f"the private PostgreSQL runs as user {SERVER_USER} (it refuses root), which cannot write {self.folder}: "
                "make its parent folders traversable (chmod o+x) or set IMPACT_DAGSTER_POSTGRES_URL"
            )

    @property
    def password(self) -> str:
        return (self.folder / "password").read_text().strip()

    def url(self) -> str:
        """The URL of the running cluster's Dagster database."""
        return f"postgresql://{USER}:{quote(self.password, safe='')}@127.0.0.1:{self.port}/{DATABASE}"

    def ensure(self) -> None:
        """Create the cluster (initdb) when ``folder`` has none."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            os.chmod(self.folder, 0o700)
        except OSError as error:
            raise PostgresError(f"cannot create the PostgreSQL folder {self.folder}: {error.strerror}") from None
        self._check_reachable()
        if (self.data / "PG_VERSION").exists():
            return
        password = secrets.token_urlsafe(24)
        secret_file = self.folder / "password"
        secret_file.write_text(password + "\n")
        os.chmod(secret_file, 0o600)
        _, account = _as_server_user()
        if account is not None:
            os.chown(secret_file, account.pw_uid, account.pw_gid)
        result = self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            USER,
            "--auth=scram-sha-256",
            f"--pwfile={secret_file}",
            "-E",
            "UTF8",
            "--no-instructions",
        )
        if result.returncode != 0:
            raise PostgresError(f"initdb {self.data} failed: {_last_line(result.stderr)}")
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(CLUSTER_CONF)

    def _postmaster(self) -> tuple[int | None, bool]:
        """The PID in ``postmaster.pid`` (None: no file) and whether it is a live postgres of this cluster; a PID
        that is not (a crash left the file; after a reboot the PID may be another program's) is stale."""
        try:
            pid = int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None, False
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return pid, False
        return pid, any(part.endswith(b"postgres") for part in command) and str(self.data).encode() in command

    def start(self) -> str:
        """Start the cluster on a free port (recovering from a crash) and make the database; its URL."""
        self.ensure()
        pid, ours = self._postmaster()
        if ours:
            self.stop()  # a server left by a serve that was killed: restart it on a port we know
        elif pid is not None:
            (self.data / "postmaster.pid").unlink()  # stale: PostgreSQL would refuse to start while a PID in it lives
        self.port = free_port()
        result = self._run(
            "pg_ctl",
            "start",
            "-D",
            str(self.data),
            "-w",
            "-t",
            "60",
            "-l",
            str(self.folder / "server.log"),
            "-o",
            f"-p {self.port}",
        )
        if result.returncode != 0:
            log = self.folder / "server.log"
            lines = log.read_text().splitlines() if log.exists() else []
            fatal = [line for line in lines if "FATAL" in line or "PANIC" in line]
            raise PostgresError(
                f"PostgreSQL in {self.data} did not start: {fatal[-1] if fatal else _last_line(result.stderr)} "
                f"(log: {self.folder / 'server.log'})"
            )
        self._create_database()
        return self.url()

    def _create_database(self) -> None:
        import psycopg2

        admin = f"postgresql://{USER}:{quote(self.password, safe='')}@127.0.0.1:{self.port}/postgres"
        connection = psycopg2.connect(admin, connect_timeout=10)
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,))
                if cursor.fetchone() is None:
                    cursor.execute(f'CREATE DATABASE "{DATABASE}"')
        finally:
            connection.close()

    def stop(self) -> None:
        """Stop the server (fast: open sessions are ended, not waited for); nothing when it is not running."""
        pid, ours = self._postmaster()
        if not ours or pid is None:
            return  # never signal the process a stale postmaster.pid names
        if self._run("pg_ctl", "stop", "-D", str(self.data), "-m", "fast", "-w", "-t", "60").returncode != 0:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGQUIT)  # immediate shutdown: the next start recovers from the WAL


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"
