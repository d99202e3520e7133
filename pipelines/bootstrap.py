"""Set up (or refresh) the project's virtual environment, then run the demo or the test suite.

Standard library only: it runs under any Python >= 3.11 before anything is installed.
    python3 -m pipelines.bootstrap demo    # .venv + the demo pipeline on the embedded market
    python3 -m pipelines.bootstrap test    # .venv + the whole test suite
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv"
LOCK = ROOT / "requirements.lock"
STAMP = VENV / ".impact-installed"
TORCH = "torch==2.13.0"


def _run(command: list[str], **kwargs: object) -> None:
    print("+", " ".join(command), flush=True)
    subprocess.run(command, check=True, **kwargs)


def _python() -> Path:
    return VENV / "bin" / "python"


def _fingerprint() -> str:
    """Changes whenever the lock file or pyproject.toml changes, so a refresh reinstalls."""
    digest = hashlib.sha256()
    for path in (LOCK, ROOT / "pyproject.toml"):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def ensure_venv() -> Path:
    """Create .venv if needed and install the locked dependencies plus the project (editable)."""
    if not _python().exists():
        _run([sys.executable, "-m", "venv", str(VENV)])
    if STAMP.exists() and STAMP.read_text() == _fingerprint():
        return _python()
    pip = [str(_python()), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    _run([*pip, "uv>=0.5"])
    # torch first, with pip: the lock leaves torch (and CUDA wheels) out so that this pin decides the
    # build; uv then keeps the installed torch, which satisfies the project's range.
    _run([*pip, TORCH])
    uv = [str(_python()), "-m", "uv", "pip", "install", "--python", str(_python())]
    _run([*uv, "-r", str(LOCK)])
    _run([*uv, "--no-deps", "-e", str(ROOT)])
    STAMP.write_text(_fingerprint())
    return _python()


CHROMIUM = Path("/usr/bin/chromium")


def ensure_chromium() -> None:
    """The browser tests drive Debian's chromium; install it when missing and we may (root with apt)."""
    if CHROMIUM.exists() or os.environ.get("IMPACT_SKIP_BROWSER") == "1":
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        print(f"warning: {CHROMIUM} is missing and cannot be installed here (needs root and apt-get); "
              "the browser tests will fail unless IMPACT_SKIP_BROWSER=1", flush=True)
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    _run(["apt-get", "update", "-qq"], env=env)
    _run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium", "fonts-dejavu-core"], env=env)


def main(argv: list[str]) -> int:
    if len(argv) < 1 or argv[0] not in ("demo", "test", "setup"):
        print(__doc__)
        return 2
    python = ensure_venv()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if argv[0] == "setup":
        return 0
    if argv[0] == "demo":
        return subprocess.call([str(VENV / "bin" / "impact"), "demo", *argv[1:]], cwd=ROOT, env=env)
    ensure_chromium()
    return subprocess.call([str(python), "-m", "pytest", *argv[1:]], cwd=ROOT, env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
