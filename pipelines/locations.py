"""Where the shipped data files and the default warehouse are, in a checkout and in an installed copy.

A checkout (this package's parent folder holds ``pyproject.toml`` and ``.git`` or ``data/events.yaml``)
reads the repository's ``data/`` and keeps its warehouse in ``data/warehouse.duckdb``. The wheel carries
the same files as ``pipelines/_data`` (pyproject.toml maps ``data/`` there at build time), found with
:mod:`importlib.resources`; an installed copy keeps its warehouse in the user data folder
``$XDG_DATA_HOME/ai-market-impact/`` (default ``~/.local/share/ai-market-impact/``).

A shared leaf (it imports only ``pipelines.settings``) that any room of pipelines/ may import; nothing here runs at import.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

APP_NAME = "ai-market-impact"
WAREHOUSE_FILE = "warehouse.duckdb"


def checkout_root() -> Path | None:
    """The repository this package runs from, or None when it is an installed copy."""
    root = Path(__file__).resolve().parents[1]
    if (root / "pyproject.toml").is_file() and ((root / ".git").exists() or (root / "data" / "events.yaml").is_file()):
        return root
    return None


def data_dir() -> Path:
    """The folder of the shipped data files: the checkout's ``data/``, else the wheel's ``pipelines/_data``."""
    root = checkout_root()
    if root is not None:
        return root / "data"
    return Path(str(files("pipelines").joinpath("_data")))


def data_file(*parts: str) -> Path:
    """One shipped data file, e.g. ``data_file("demo", "headlines.csv")``."""
    return data_dir().joinpath(*parts)


def user_data_dir() -> Path:
    """``$XDG_DATA_HOME/ai-market-impact`` (default ``~/.local/share/ai-market-impact``)."""
    from pipelines.settings import value

    return (value("XDG_DATA_HOME") or Path("~/.local/share")).expanduser() / APP_NAME


def default_warehouse() -> Path:
    """``data/warehouse.duckdb`` in a checkout, else the warehouse in :func:`user_data_dir`."""
    root = checkout_root()
    return root / "data" / WAREHOUSE_FILE if root is not None else user_data_dir() / WAREHOUSE_FILE


def dagster_home_path(warehouse: Path) -> Path:
    """The Dagster instance folder of ``warehouse``: ``$DAGSTER_HOME``, else ``.dagster`` beside the warehouse."""
    from pipelines.settings import value

    return Path(value("DAGSTER_HOME") or warehouse.parent / ".dagster")
