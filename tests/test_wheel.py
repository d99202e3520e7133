"""The wheel works installed: built from the sources, installed into a fresh venv, `impact demo` and `impact study` run.

The fresh venv gets the locked dependencies by pointing at this interpreter's site-packages with a
plain ``.pth`` line (its own ``.pth`` files, the editable hook of the checkout among them, are not
run), because copying torch and the rest into a new venv takes minutes. The project itself comes
only from the wheel, which the test checks through each package's ``__file__``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest
from setuptools import find_packages

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "README.md", "pipelines", "models", "dashboards")
DATA = ("events.yaml", "companies.yaml", "demo/calibration.json", "demo/headlines.csv")
MODEL = ("minilm-target.json", "minilm-target.safetensors", "minilm-lora-twitter.json", "minilm-lora-twitter.safetensors")


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


@pytest.mark.slow
def test_the_installed_wheel_runs_the_demo_and_the_study(tmp_path):
    build_env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    src, dist = tmp_path / "src", tmp_path / "dist"
    _copy_sources(src)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
          "-w", str(dist), str(src)], tmp_path, build_env)
    (wheel,) = dist.glob("ai_market_impact-*.whl")

    venv = tmp_path / "v"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp_path, build_env)
    python = venv / "bin" / "python"
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                     tmp_path, build_env).strip())
    deps = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    (site / "_locked_deps.pth").write_text("".join(f"{path}\n" for path in deps), encoding="utf-8")
    _run([sys.executable, "-m", "uv", "pip", "install", "--python", str(python), "--no-deps", "--offline", "-q",
          str(wheel)], tmp_path, build_env)

    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir()
    env = {k: v for k, v in build_env.items() if not k.startswith("IMPACT_") and k not in ("DAGSTER_HOME", "VIRTUAL_ENV")}
    env.update(HOME=str(home), XDG_DATA_HOME=str(home / "xdg"), COLUMNS="200",
               PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}")

    probe = """
import json, models.sentiment.classifier as c, pipelines, dashboards, pipelines.catalog as cat
from pipelines import locations, warehouse
print(json.dumps({"files": [pipelines.__file__, c.__file__, dashboards.__file__], "checkout": str(locations.checkout_root()),
    "warehouse": str(warehouse.warehouse_path()), "data": str(locations.data_dir()), "model": str(c.DEFAULT_MODEL),
    "events": len(cat.load_catalog())}))
"""
    seen = json.loads(_run([str(python), "-c", probe], work, env))
    assert all(Path(f).is_relative_to(site) for f in seen["files"]), seen["files"]
    assert seen["checkout"] == "None"
    assert Path(seen["warehouse"]) == (home / "xdg" / "ai-market-impact" / "warehouse.duckdb").resolve()
    assert seen["events"] > 0
    data, model = Path(seen["data"]), Path(seen["model"])
    assert data.is_relative_to(site) and model.is_relative_to(site)
    assert all((data / name).is_file() for name in DATA)
    assert all((model.parent / name).is_file() for name in MODEL)
    assert not (data / "warehouse.duckdb").exists()

    store = tmp_path / "w.duckdb"
    demo = _run([str(venv / "bin" / "impact"), "demo", "--warehouse", str(store)], work, env)
    assert re.search(r"NVDA\s.*-16\.97", demo), demo
    study = _run([str(venv / "bin" / "impact"), "study", "--event", "deepseek-r1-release", "--warehouse", str(store)],
                 work, env)
    nvda = re.search(r"NVDA\s*│\s*(-?\d+\.\d+)", study)  # AR(0) %: the market-model residual of the -16.97 % day
    assert nvda and float(nvda.group(1)) < -10, study
    assert not (work / "data").exists() and not (site / "data").exists()
