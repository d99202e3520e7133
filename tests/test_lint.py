"""Lint as part of the test command: ruff (configured in pyproject.toml) over every package, the tests and the benchmarks."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _ruff() -> str:
    beside = Path(sys.executable).with_name("ruff")
    found = str(beside) if beside.is_file() else shutil.which("ruff")
    if not found:
        pytest.skip("ruff is not installed: `pip install ruff` (the dev extra)")
    return found


def test_ruff_finds_nothing():
    done = subprocess.run([_ruff(), "check", "--output-format", "concise", "pipelines", "models", "dashboards", "tests", "bench"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
