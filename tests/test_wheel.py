"""The wheel: pyproject lists every package, and the built wheel carries the data, the model and its checksums.

tests/test_installed.py installs it into a fresh venv with the locked runtime dependencies and runs it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

from setuptools import find_packages

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "README.md", "pipelines", "models", "dashboards")
DATA = ("events.yaml", "companies.yaml", "demo/calibration.json", "demo/headlines.csv", "demo/shares.yaml")
MODEL = (
    "minilm-target.json",
    "minilm-target.safetensors",
    "minilm-lora-twitter.json",
    "minilm-lora-twitter.safetensors",
)


def test_pyproject_lists_every_package():
    """pyproject.toml lists the packages (data/ ships as pipelines._data); a new package must join the list."""
    listed = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"]
    found = find_packages(str(ROOT), include=["pipelines*", "models*", "dashboards*"])
    assert sorted(listed) == sorted([*found, "pipelines._data"])


def _copy_sources(target: Path) -> None:
    """The files the build reads, so that no stale build/ folder of the checkout leaks into the wheel."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    target.mkdir(parents=True)
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=ignore)
        else:
            shutil.copy2(source, target / name)
    for name in DATA:
        (target / "data" / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / "data" / name, target / "data" / name)
    (target / "data" / "warehouse.duckdb").write_bytes(b"not shipped")  # must stay out of the wheel


def _run(command: list[str], cwd: Path, env: dict[str, str], timeout: float = 600) -> str:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{command} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return done.stdout


def build_wheel(tmp_path: Path) -> Path:
    """Build the project's wheel from a clean copy of its sources; returns the .whl path."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    src, dist = tmp_path / "src", tmp_path / "dist"
    _copy_sources(src)
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-q",
            "-w",
            str(dist),
            str(src),
        ],
        tmp_path,
        env,
    )
    (wheel,) = dist.glob("ai_market_impact-*.whl")
    return wheel


def test_the_wheel_carries_the_data_the_model_and_its_checksums(tmp_path):
    names = set(zipfile.ZipFile(build_wheel(tmp_path)).namelist())
    assert {f"pipelines/_data/{name}" for name in DATA} <= names
    assert {f"models/sentiment/assets/{name}" for name in (*MODEL, "weights.sha256.json")} <= names
    assert not any(name.endswith(".duckdb") for name in names)
    assert not any(name.startswith(("tests/", "bench/", "data/")) for name in names)
