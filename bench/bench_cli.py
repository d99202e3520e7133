"""CLI start-up benchmark: `impact --help` and `impact sql "select 42"` against the DuckDB client.

Each command runs as a fresh subprocess (the way a user runs it), ``--repeat`` times (default 5),
interleaved so that machine load hits all of them alike; the median wall time is reported. The
baseline runs in this same invocation: ``python -c`` with the same query through the duckdb Python
client (interpreter start-up + ``import duckdb`` + the query). Ratios (wall and CPU time) are against
that baseline; the target is <= 3x in wall time for both commands (issue 13, item 6: commands load only what they use).

The warehouse for ``impact sql`` is a small one made here (schema and macros, no rows), so the
number is start-up, not query time.

Run: ``.venv/bin/python bench/bench_cli.py [--repeat 5] [--impact PATH]``; exits 1 if a target is missed
with ``--check``.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = 3.0
BASELINE = "import duckdb; print(duckdb.sql('select 42').fetchall())"


def make_warehouse(folder: Path) -> Path:
    """A small warehouse: the schema and the stored macros, written by the project's own writer."""
    path = folder / "small.duckdb"
    code = "import sys; from pipelines import warehouse; w = warehouse.writer(sys.argv[1]); w.__enter__(); w.__exit__(None, None, None)"
    subprocess.run([sys.executable, "-c", code, str(path)], cwd=ROOT, check=True)
    return path


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds: user + system) of one run of ``command``."""
    cpu, began = _children_cpu(), time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    took, used = time.perf_counter() - began, _children_cpu() - cpu
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return took, used


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--impact", default=str(Path(sys.executable).with_name("impact")),
                        help="the impact console script (default: next to this Python)")
    parser.add_argument("--check", action="store_true", help=f"exit 1 when a command is over {TARGET:g}x the baseline")
    args = parser.parse_args()
    impact = [args.impact] if Path(args.impact).exists() else [sys.executable, "-m", "pipelines.cli"]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("IMPACT_WAREHOUSE", None)
    with tempfile.TemporaryDirectory() as tmp:
        small = make_warehouse(Path(tmp))
        cases = {
            "python -c (duckdb client: select 42)": [sys.executable, "-c", BASELINE],
            "python -c pass (interpreter start-up)": [sys.executable, "-c", "pass"],
            "impact --help": [*impact, "--help"],
            'impact sql "select 42"': [*impact, "sql", "select 42", "--warehouse", str(small)],
        }
        for command in cases.values():  # warm the page cache and byte-code once, untimed
            timed(command, env)
        times: dict[str, list[float]] = {name: [] for name in cases}
        cpus: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.repeat):
            for name, command in cases.items():
                wall, cpu = timed(command, env)
                times[name].append(wall)
                cpus[name].append(cpu)
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; python {sys.version.split()[0]}; "
          f"median of {args.repeat} subprocess runs each; CPU = user + system of the child (less sensitive to load)")
    base = next(iter(cases))
    wall0, cpu0 = statistics.median(times[base]), statistics.median(cpus[base])
    print(f"{'':<40} {'wall':>8} {'range':>15} {'ratio':>7}  {'CPU':>7} {'ratio':>7}")
    missed = []
    for name in cases:
        wall, cpu = statistics.median(times[name]), statistics.median(cpus[name])
        spread = f"{min(times[name]):.2f}..{max(times[name]):.2f}"
        goal = ""
        if name.startswith("impact"):
            ok = wall / wall0 <= TARGET
            goal = f"  target <= {TARGET:g}x: {'ok' if ok else 'MISSED'}"
            if not ok:
                missed.append(name)
        print(f"{name:<40} {wall:7.3f}s {spread:>15} {wall / wall0:6.2f}x  {cpu:6.3f}s {cpu / cpu0:6.2f}x{goal}")
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
