"""Set up (or refresh) the project's virtual environment, then run the demo or the test suite.

Standard library only: it runs under any Python >= 3.11 before anything is installed.
    python3 -m pipelines.bootstrap demo    # .venv with requirements.lock + the demo pipeline on the embedded market
    python3 -m pipelines.bootstrap test    # .venv with requirements-dev.lock + the whole test suite
    python3 -m pipelines.bootstrap setup   # .venv with requirements-dev.lock, nothing run
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv"
FIRST = ROOT / "requirements-bootstrap.lock"
"""uv and torch, pinned with their hashes, installed with pip before either lock."""
LOCKS = {"runtime": ROOT / "requirements.lock", "dev": ROOT / "requirements-dev.lock"}
"""The hash-locked dependencies: the runtime ones (demo) or runtime + the dev extra (tests)."""
STAMP = VENV / ".impact-installed"


def _run(command: list[str], **kwargs: Any) -> None:
    print("+", " ".join(command), flush=True)
    subprocess.run(command, check=True, **kwargs)


def _python() -> Path:
    return VENV / "bin" / "python"


def _fingerprint(kind: str) -> str:
    """Names the lock in use and changes whenever it, the first lock or pyproject.toml changes, so a refresh reinstalls."""
    digest = hashlib.sha256(kind.encode())
    for path in (FIRST, LOCKS[kind], ROOT / "pyproject.toml"):
        digest.update(path.read_bytes())
    return f"{kind} {digest.hexdigest()}"


def install_locked(python: Path, lock: Path) -> None:
    """Install into ``python``'s environment exactly what the locks pin, every download checked against its hash.

    pip installs uv and torch from the first lock; uv then installs ``lock`` with ``--no-deps`` (the lock is
    the whole resolution, torch aside, and hash-checking refuses an installed torch it has no hash for), and
    ``uv pip check`` proves the result consistent, torch's and the project's requirements included.
    """
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    _run([*pip, "--require-hashes", "--no-deps", "-r", str(FIRST)])
    uv = [str(python), "-m", "uv", "pip"]
    _run([*uv, "install", "--python", str(python), "--require-hashes", "--no-deps", "-r", str(lock)])
    _run([*uv, "check", "--python", str(python)])


def ensure_venv(kind: str = "dev") -> Path:
    """Create .venv if needed and install the ``kind`` lock (``runtime`` or ``dev``) plus the project (editable).

    Switching from ``dev`` to ``runtime`` installs the runtime lock over the dev packages without removing them.
    """
    if not _python().exists():
        _run([sys.executable, "-m", "venv", str(VENV)])
    if STAMP.exists() and STAMP.read_text() == _fingerprint(kind):
        return _python()
    install_locked(_python(), LOCKS[kind])
    _run([str(_python()), "-m", "uv", "pip", "install", "--python", str(_python()), "--no-deps", "-e", str(ROOT)])
    STAMP.write_text(_fingerprint(kind))
    return _python()


CHROMIUM = Path("/usr/bin/chromium")


def ensure_chromium() -> None:
    """The browser tests drive Debian's chromium; install it when missing and we may (root with apt)."""
    if CHROMIUM.exists() or os.environ.get("IMPACT_SKIP_BROWSER") == "1":
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        print(
            f"warning: {CHROMIUM} is missing and cannot be installed here (needs root and apt-get); "
            "the browser tests will fail unless IMPACT_SKIP_BROWSER=1",
            flush=True,
        )
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    _run(["apt-get", "update", "-qq"], env=env)
    _run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium", "fonts-dejavu-core"], env=env)


def main(argv: list[str]) -> int:
    if len(argv) < 1 or argv[0] not in ("demo", "test", "setup"):
        print(__doc__)
        return 2
    python = ensure_venv("runtime" if argv[0] == "demo" else "dev")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if argv[0] == "setup":
        return 0
    if argv[0] == "demo":
        return subprocess.call([str(VENV / "bin" / "impact"), "demo", *argv[1:]], cwd=ROOT, env=env)
    ensure_chromium()
    return subprocess.call([str(python), "-m", "pytest", *argv[1:]], cwd=ROOT, env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
