"""The rooms' import rules (ARCHITECTURE.md), checked on the source: every import, lazy ones included.

Module-level imports must also form no cycle, so any module can be imported first.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("models", "pipelines", "dashboards")
SHARED_LEAVES = {"pipelines.errors", "pipelines.settings", "pipelines.universe", "pipelines.locations", "pipelines.secrets"}

RULES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # module prefix: (forbidden import prefixes, allowed exceptions among them)
    "models": (("pipelines", "dashboards", "dagster", "duckdb", "requests", "urllib3", "httpx"), ()),
    # Dashboards read through the read model only (data.py's Store also opens its short read-only connections).
    "dashboards": (("dagster", "pipelines", "duckdb"), (*SHARED_LEAVES, "pipelines.warehouse.read", "pipelines.warehouse.connection",
                                                       "dashboards.data:duckdb")),
    "pipelines.warehouse": (("dagster", "pipelines", "dashboards"), tuple(SHARED_LEAVES)),
    "pipelines.settings": (("pipelines", "models", "dashboards", "dagster", "pandas", "duckdb"),
                           ("pipelines.errors", "pipelines.settings:pipelines.sources")),
    "pipelines.errors": (("pipelines", "models", "dashboards", "dagster"), ()),
    "pipelines.universe": (("pipelines", "models", "dashboards", "dagster"), ()),
    "pipelines.locations": (("pipelines", "models", "dashboards", "dagster"), ("pipelines.settings",)),
    "pipelines.secrets": (("pipelines", "models", "dashboards", "dagster"), ("pipelines.settings",)),
}
"""models/ speaks no HTTP: the remote sentiment backend lives in pipelines/sources/inference.py and pipelines registers it."""


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[str, bool]]:
    """(imported module, at module level?) for every import statement of a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = {id(node) for node in tree.body}
    package = _module_name(path).rsplit(".", 0 if path.name == "__init__.py" else 1)[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, id(node) in top) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            # "from package import module" imports the module; "from module import name" the module itself.
            found += [(f"{base}.{alias.name}" if f"{base}.{alias.name}" in SOURCES else base, id(node) in top) for alias in node.names]
    return found


SOURCES = {_module_name(p): p for package in PACKAGES for p in (ROOT / package).rglob("*.py")}


def _matches(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


@pytest.mark.parametrize("room", sorted(RULES))
def test_rooms_import_only_what_they_may(room):
    forbidden, allowed = RULES[room]
    breaches = []
    for module, path in SOURCES.items():
        if not _matches(module, room):
            continue
        for name, _ in _imports(path):
            if any(_matches(name, f) for f in forbidden) and not any(
                _matches(name, a) or f"{module}:{name}" == a for a in allowed
            ) and not _matches(name, room):
                breaches.append(f"{module} imports {name}")
    assert not breaches, "\n".join(sorted(set(breaches)))


def test_the_source_registry_is_light_at_import():
    """pipelines/settings.py reads the source names from pipelines.sources: importing it loads no source module."""
    import sys

    heavy = [name for name, top in _imports(SOURCES["pipelines.sources"]) if top
             and name.split(".")[0] not in sys.stdlib_module_names and name != "__future__"]
    assert heavy == [], f"pipelines/sources/__init__.py imports {heavy} at module level"


DEV_TOOLS = ("pipelines.bootstrap", "pipelines.sources.demo_calibration")
"""Developer tools (venv bootstrap, demo calibration): run as ``python -m``, never imported by the runtime."""


def test_runtime_code_does_not_import_developer_tools():
    breaches = [
        f"{module} imports {name}"
        for module, path in SOURCES.items() if module not in DEV_TOOLS
        for name, _ in _imports(path) if any(_matches(name, tool) for tool in DEV_TOOLS)
    ]
    assert not breaches, "\n".join(sorted(set(breaches)))


def test_no_import_cycle_at_module_level():
    graph = {
        module: {name for name, top in _imports(path) if top and name in SOURCES and name != module}
        for module, path in SOURCES.items()
    }
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for module in sorted(graph):
        if module not in state and (cycle := visit(module)):
            pytest.fail("import cycle: " + " -> ".join(cycle))


def test_the_rule_checker_sees_lazy_and_relative_imports(tmp_path):
    probe = ROOT / "models" / "_probe_import_rules.py"
    probe.write_text("def f():\n    import dagster\n", encoding="utf-8")
    try:
        assert ("dagster", False) in _imports(probe)
    finally:
        probe.unlink()
