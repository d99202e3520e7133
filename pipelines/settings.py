"""Every environment variable the product reads, declared once: name, type, default, meaning, secret flag.

A shared leaf: imports only the standard library, :mod:`pipelines.errors` and the (import-light) source
registry :mod:`pipelines.sources` for the source names. Nothing is read at
import time: :meth:`Settings.from_env` reads the environment when called, and :func:`value` reads
one variable (for callers that need only it, such as the warehouse path). A malformed value raises
:class:`SettingsError` naming the variable and what it accepts.

Secrets (API keys, bearer tokens) are not fields of :class:`Settings`, so they never reach Dagster run
config, reprs or logs: :func:`secret` reads one from the environment at the moment it is used.

``python -m pipelines.settings --markdown`` prints the README's table of variables.
"""

from __future__ import annotations

import math
import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from pipelines.errors import ImpactError
from pipelines.sources import INTRADAY_SOURCES, NEWS_SOURCES, PRICE_SOURCES  # the source registry: names accepted

_PRICE_NAMES = ", ".join(f"`{name}`" for name in PRICE_SOURCES[:-1]) + f" or `{PRICE_SOURCES[-1]}`"
_NEWS_NAMES = ", ".join(f"`{name}`" for name in NEWS_SOURCES)


class SettingsError(ImpactError, ValueError):
    """An environment variable holds a value the product cannot use; the message names it and what is allowed."""


# ------------------------------------------------------------------------------------------------ parsers
# Each takes the raw (stripped, non-empty) text and returns the typed value, or raises ValueError with
# what the variable accepts; ``value`` turns that into a SettingsError naming the variable.


def _kind(kind: str) -> Callable[[Callable[[str], Any]], Callable[[str], Any]]:
    def mark(parse: Callable[[str], Any]) -> Callable[[str], Any]:
        parse.kind = kind  # type: ignore[attr-defined]
        return parse

    return mark


@_kind("text")
def _text(raw: str) -> str:
    return raw


@_kind("path")
def _path(raw: str) -> Path:
    return Path(raw).expanduser()


@_kind("date YYYY-MM-DD")
def _date(raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValueError("expected a calendar date YYYY-MM-DD, e.g. 2023-01-02") from None


def _number(kind: type, minimum: float, strict: bool = False) -> Callable[[str], Any]:
    bound = f"> {minimum:g}" if strict else f">= {minimum:g}"
    noun = "a whole number" if kind is int else "a number"

    def parse(raw: str) -> Any:
        try:
            number = kind(raw)
        except ValueError:
            raise ValueError(f"expected {noun} {bound}") from None
        if not math.isfinite(number) or number < minimum or (strict and number == minimum):
            raise ValueError(f"expected {noun} {bound}")
        return number

    return _kind(f"{kind.__name__} {bound}")(parse)


def _choice(choices: tuple[str, ...]) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if raw not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}")
        return raw

    return _kind(f"one of {', '.join(choices)}")(parse)


def _names(choices: tuple[str, ...] | None = None, upper: bool = False) -> Callable[[str], tuple[str, ...]]:
    def parse(raw: str) -> tuple[str, ...]:
        names = [item.upper() if upper else item for item in raw.replace(",", " ").split()]
        unknown = [name for name in names if choices is not None and name not in choices]
        if unknown:
            raise ValueError(f"unknown {', '.join(unknown)}; expected a comma list of {', '.join(choices or ())}")
        return tuple(dict.fromkeys(names))

    return _kind(f"comma list of {', '.join(choices)}" if choices else "comma list")(parse)


@_kind("size, e.g. 4GB or 512MiB")
def _size(raw: str) -> str:
    if not re.fullmatch(r"\d+(\.\d+)?\s*[KMGT]i?B", raw, flags=re.IGNORECASE):
        raise ValueError("expected a size: a number and KB, MB, GB, TB (1000^i) or KiB, MiB, GiB, TiB (1024^i), e.g. 4GB")
    return raw


@dataclass(frozen=True)
class Variable:
    """One environment variable: its name, how it parses, its default and what it means."""

    name: str
    parse: Callable[[str], Any]
    default: Any
    meaning: str
    shown_default: str = "—"
    """The default as the README shows it (``—``: unset)."""
    secret: bool = False
    """Never logged, stored or put in run config: read with :func:`secret` at use time."""
    read_by: str | None = None
    """Set when a room that cannot import pipelines/ (models/) reads the variable itself."""

    @property
    def type(self) -> str:
        """What the value must be, in words (``text``, ``date``, ``int >= 1``, ``one of demo, yahoo, files``...)."""
        return self.parse.kind  # type: ignore[attr-defined]


VARIABLES: tuple[Variable, ...] = (
    Variable("IMPACT_WAREHOUSE", _path, None, "DuckDB file",
             "`data/warehouse.duckdb` in a checkout, else `$XDG_DATA_HOME/ai-market-impact/warehouse.duckdb`"),
    Variable("IMPACT_DUCKDB_MEMORY_LIMIT", _size, None, "DuckDB memory limit of every warehouse connection",
             "DuckDB's: 80% of RAM"),
    Variable("IMPACT_DUCKDB_THREADS", _number(int, 1), None, "DuckDB threads of every warehouse connection",
             "DuckDB's: one per core"),
    Variable("IMPACT_DUCKDB_TEMP_DIR", _path, None, "where DuckDB spills to disk (never beside the warehouse)",
             "`ai-market-impact-<uid>` in the system temp folder"),
    Variable("IMPACT_DUCKDB_TEMP_LIMIT", _size, "8GB", "most disk DuckDB may spill to", "`8GB`"),
    Variable("DAGSTER_HOME", _path, None, "Dagster instance folder (run history, `dagster.yaml`)",
             "`.dagster` beside the warehouse"),
    Variable("XDG_DATA_HOME", _path, None, "user data folder: an installed (not checkout) copy keeps its warehouse in "
             "`ai-market-impact/` there", "`~/.local/share`", read_by="pipelines/locations.py"),
    Variable("IMPACT_PRICE_SOURCE", _choice(PRICE_SOURCES), "demo", _PRICE_NAMES, "`demo`"),
    Variable("IMPACT_PRICE_PATH", _path, None, "folder/file for `files`"),
    Variable("IMPACT_NEWS_SOURCES", _names(NEWS_SOURCES), ("demo",), f"comma list of {_NEWS_NAMES}", "`demo`"),
    Variable("IMPACT_NEWS_PATH", _path, None, "folder/file for `files` news"),
    Variable("IMPACT_INTRADAY_SOURCE", _choice(INTRADAY_SOURCES), "demo", "intraday bars: `demo`, `yahoo` or `files`",
             "`demo`"),
    Variable("IMPACT_INTRADAY_PATH", _path, None, "folder/file of vendor minute/hour CSVs for `files` intraday"),
    Variable("IMPACT_INTRADAY_INTERVAL", _text, "1m", "intraday bar length: 1m, 2m, 5m, 15m, 30m, 60m or 1h", "`1m`"),
    Variable("IMPACT_TICKERS", _names(upper=True), None, "comma list", "the AI universe + SPY, QQQ, SMH"),
    Variable("IMPACT_USER_EVENTS", _path, None, "your own event catalogue (schema as `data/events.yaml`), merged "
             "with the curated one; `impact events add` writes it", "`$XDG_DATA_HOME/ai-market-impact/events.yaml`"),
    Variable("IMPACT_HISTORY_START", _date, date(2023, 1, 2), "first partition", "`2023-01-02`"),
    Variable("IMPACT_RETRY_DELAY_S", _number(float, 0), 10.0,
             "base delay of the network assets' retries (exponential, with jitter)", "`10`"),
    Variable("IMPACT_INGEST_MAX_RUNTIME_S", _number(int, 0), 7200,
             "ingestion runs' `dagster/max_runtime`: the UI's run monitor fails a run older than this (0: no limit)",
             "`7200`"),
    Variable("IMPACT_PRICES_SCHEDULE", _text, "30 17 * * 1-5", "cron of the prices schedule (New York time)",
             "`30 17 * * 1-5`"),
    Variable("IMPACT_NEWS_SCHEDULE", _text, "55 23 * * *", "cron of the headlines schedule (New York time)",
             "`55 23 * * *`"),
    Variable("IMPACT_SCHEDULE_STATUS", _choice(("running", "stopped")), "stopped",
             "the schedules' state when an instance first sees them (`running`: they fire without a click in the UI)",
             "`stopped`"),
    Variable("IMPACT_SCHEDULE_AS_OF", _date, None, "a fixed day the schedules ingest instead of their tick's own day "
             "(replays the demo market, which ends 2025-03-31)", "the tick's day"),
    Variable("IMPACT_DAGSTER_POSTGRES_URL", _text, None, "PostgreSQL URL of `impact serve`'s Dagster storage "
             "(environment only: never logged or stored)", "a private cluster in `.postgres` beside the warehouse",
             secret=True),
    Variable("IMPACT_DASHBOARD_ALLOWED_HOSTS", _names(), (),
             "comma list of extra `Host` names `impact dashboard` answers (127.0.0.1, localhost and the bound host "
             "always)", "none"),
    Variable("ALPHAVANTAGE_API_KEY", _text, None, "Alpha Vantage news API key (environment only: never logged or stored)",
             secret=True),
    Variable("FMP_API_KEY", _text, None, "Financial Modeling Prep news API key (environment only: never logged or stored)",
             secret=True),
    Variable("IMPACT_ALPHAVANTAGE_URL", _text, None, "Alpha Vantage base URL (proxy, mirror)", "the vendor's"),
    Variable("IMPACT_FMP_URL", _text, None, "Financial Modeling Prep base URL (proxy, mirror)", "the vendor's"),
    Variable("IMPACT_SENTIMENT_BACKEND", _text, "local",
             "`local` (target-aware MiniLM), `llm` (Hugging Face causal LM) or `remote` "
             "(OpenAI-compatible completions server)", "`local`"),
    Variable("IMPACT_SENTIMENT_MODEL", _text, None,
             "`llm`: hub id, local folder, GGUF file or packaged name; `remote`: the served model name; "
             "`local`: a weights stem", "each backend's default"),
    Variable("IMPACT_SENTIMENT_DEVICE", _text, "auto", "`auto` (CUDA in bf16 when present), `cpu` or `cuda`", "`auto`"),
    Variable("IMPACT_SENTIMENT_URL", _text, None, "`remote`: base URL, e.g. `http://gpu-host:8000/v1`"),
    Variable("IMPACT_SENTIMENT_BATCH_SIZE", _number(int, 1), 32, "pairs per batch", "`32`"),
    Variable("IMPACT_SENTIMENT_TIMEOUT_S", _number(float, 0, strict=True), 30.0, "remote request timeout (seconds)", "`30`"),
    Variable("IMPACT_SENTIMENT_API_KEY", _text, None,
             "`remote`: bearer token (environment only: never stored in run config)", secret=True),
    Variable("IMPACT_MODEL_CACHE", _path, None, "where converted model weights are cached (read by models/sentiment)",
             "`~/.cache/ai-market-impact`", read_by="models/sentiment/backbone.py"),
    Variable("IMPACT_SQL_HISTORY", _path, None, "`impact sql` prompt history file", "`~/.impact_sql_history`"),
    Variable("IMPACT_DEBUG", _choice(("0", "1")), "0", "`1`: a failing `impact` command prints its full trace "
             "(as `impact --debug`)", "`0`"),
)
"""The runtime variables, in the README's order (``--markdown`` prints them)."""

DEVELOPMENT_VARIABLES: tuple[Variable, ...] = (
    Variable("IMPACT_SKIP_BROWSER", _text, None, "`1`: the test bootstrap does not install chromium",
             read_by="pipelines/bootstrap.py"),
    Variable("IMPACT_CHROMIUM", _path, None, "chromium for the browser tests", "`/usr/bin/chromium`",
             read_by="tests/test_dashboard_browser.py"),
    Variable("IMPACT_TEST_DEMO_WAREHOUSE", _path, None, "a prebuilt demo warehouse the browser tests may reuse",
             read_by="tests/test_dashboard_browser.py"),
    Variable("IMPACT_LONG_TESTS", _text, None, "`1`: run the long reliability tests", read_by="tests/"),
    Variable("IMPACT_RELIABILITY_SEED", _number(int, 0), 20250127, "seed of the reliability tests", "`20250127`",
             read_by="tests/test_reliability_kill.py"),
)
"""Developer tools' and tests' knobs: declared here so every IMPACT_* name has one home, but no part of the
product's configuration (no Settings field, not in the README table); their readers read them."""

BY_NAME: dict[str, Variable] = {variable.name: variable for variable in VARIABLES}
SECRETS: tuple[str, ...] = tuple(variable.name for variable in VARIABLES if variable.secret)


def _declared(name: str) -> Variable:
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"{name} is not declared in pipelines/settings.py") from None


def value(name: str, environ: Mapping[str, str] | None = None) -> Any:
    """One variable, typed: its default when unset or blank; :class:`SettingsError` when malformed."""
    variable = _declared(name)
    raw = (os.environ if environ is None else environ).get(name, "").strip()
    if not raw:
        return variable.default
    try:
        return variable.parse(raw)
    except ValueError as error:
        shown = "(hidden)" if variable.secret else repr(raw)
        raise SettingsError(f"environment variable {name}={shown} is not valid: {error}") from None


def secret(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """A secret read from the environment now (never stored): None when unset."""
    if not _declared(name).secret:
        raise KeyError(f"{name} is not a secret; read it through Settings")
    return value(name, environ) or None


@dataclass(frozen=True)
class Settings:
    """The product's configuration, typed, without secrets. Build with :meth:`from_env`."""

    warehouse: Path | None = BY_NAME["IMPACT_WAREHOUSE"].default
    duckdb_memory_limit: str | None = BY_NAME["IMPACT_DUCKDB_MEMORY_LIMIT"].default
    duckdb_threads: int | None = BY_NAME["IMPACT_DUCKDB_THREADS"].default
    duckdb_temp_dir: Path | None = BY_NAME["IMPACT_DUCKDB_TEMP_DIR"].default
    duckdb_temp_limit: str = BY_NAME["IMPACT_DUCKDB_TEMP_LIMIT"].default
    dagster_home: Path | None = BY_NAME["DAGSTER_HOME"].default
    price_source: str = BY_NAME["IMPACT_PRICE_SOURCE"].default
    price_path: Path | None = BY_NAME["IMPACT_PRICE_PATH"].default
    news_sources: tuple[str, ...] = BY_NAME["IMPACT_NEWS_SOURCES"].default
    news_path: Path | None = BY_NAME["IMPACT_NEWS_PATH"].default
    intraday_source: str = BY_NAME["IMPACT_INTRADAY_SOURCE"].default
    intraday_path: Path | None = BY_NAME["IMPACT_INTRADAY_PATH"].default
    intraday_interval: str = BY_NAME["IMPACT_INTRADAY_INTERVAL"].default
    tickers: tuple[str, ...] | None = BY_NAME["IMPACT_TICKERS"].default
    """None: the default universe (pipelines.universe.DEFAULT_TICKERS)."""
    user_events: Path | None = BY_NAME["IMPACT_USER_EVENTS"].default
    history_start: date = BY_NAME["IMPACT_HISTORY_START"].default
    retry_delay_s: float = BY_NAME["IMPACT_RETRY_DELAY_S"].default
    ingest_max_runtime_s: int = BY_NAME["IMPACT_INGEST_MAX_RUNTIME_S"].default
    prices_schedule: str = BY_NAME["IMPACT_PRICES_SCHEDULE"].default
    news_schedule: str = BY_NAME["IMPACT_NEWS_SCHEDULE"].default
    schedule_status: str = BY_NAME["IMPACT_SCHEDULE_STATUS"].default
    schedule_as_of: date | None = BY_NAME["IMPACT_SCHEDULE_AS_OF"].default
    dashboard_allowed_hosts: tuple[str, ...] = BY_NAME["IMPACT_DASHBOARD_ALLOWED_HOSTS"].default
    alphavantage_url: str | None = BY_NAME["IMPACT_ALPHAVANTAGE_URL"].default
    fmp_url: str | None = BY_NAME["IMPACT_FMP_URL"].default
    sentiment_backend: str = BY_NAME["IMPACT_SENTIMENT_BACKEND"].default
    sentiment_model: str | None = BY_NAME["IMPACT_SENTIMENT_MODEL"].default
    sentiment_device: str = BY_NAME["IMPACT_SENTIMENT_DEVICE"].default
    sentiment_url: str | None = BY_NAME["IMPACT_SENTIMENT_URL"].default
    sentiment_batch_size: int = BY_NAME["IMPACT_SENTIMENT_BATCH_SIZE"].default
    sentiment_timeout_s: float = BY_NAME["IMPACT_SENTIMENT_TIMEOUT_S"].default
    sql_history: Path | None = BY_NAME["IMPACT_SQL_HISTORY"].default
    debug: str = BY_NAME["IMPACT_DEBUG"].default

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read every field's variable now; all malformed values are reported together in one error."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        problems: list[str] = []
        for name, attribute in FIELD_VARIABLES.items():
            try:
                values[attribute] = value(name, environ)
            except SettingsError as error:
                problems.append(str(error))
        if problems:
            raise SettingsError("; ".join(problems))
        return cls(**values)


FIELD_VARIABLES: dict[str, str] = {
    "IMPACT_WAREHOUSE": "warehouse",
    "IMPACT_DUCKDB_MEMORY_LIMIT": "duckdb_memory_limit",
    "IMPACT_DUCKDB_THREADS": "duckdb_threads",
    "IMPACT_DUCKDB_TEMP_DIR": "duckdb_temp_dir",
    "IMPACT_DUCKDB_TEMP_LIMIT": "duckdb_temp_limit",
    "DAGSTER_HOME": "dagster_home",
    "IMPACT_PRICE_SOURCE": "price_source",
    "IMPACT_PRICE_PATH": "price_path",
    "IMPACT_NEWS_SOURCES": "news_sources",
    "IMPACT_NEWS_PATH": "news_path",
    "IMPACT_INTRADAY_SOURCE": "intraday_source",
    "IMPACT_INTRADAY_PATH": "intraday_path",
    "IMPACT_INTRADAY_INTERVAL": "intraday_interval",
    "IMPACT_TICKERS": "tickers",
    "IMPACT_USER_EVENTS": "user_events",
    "IMPACT_HISTORY_START": "history_start",
    "IMPACT_RETRY_DELAY_S": "retry_delay_s",
    "IMPACT_INGEST_MAX_RUNTIME_S": "ingest_max_runtime_s",
    "IMPACT_PRICES_SCHEDULE": "prices_schedule",
    "IMPACT_NEWS_SCHEDULE": "news_schedule",
    "IMPACT_SCHEDULE_STATUS": "schedule_status",
    "IMPACT_SCHEDULE_AS_OF": "schedule_as_of",
    "IMPACT_DASHBOARD_ALLOWED_HOSTS": "dashboard_allowed_hosts",
    "IMPACT_ALPHAVANTAGE_URL": "alphavantage_url",
    "IMPACT_FMP_URL": "fmp_url",
    "IMPACT_SENTIMENT_BACKEND": "sentiment_backend",
    "IMPACT_SENTIMENT_MODEL": "sentiment_model",
    "IMPACT_SENTIMENT_DEVICE": "sentiment_device",
    "IMPACT_SENTIMENT_URL": "sentiment_url",
    "IMPACT_SENTIMENT_BATCH_SIZE": "sentiment_batch_size",
    "IMPACT_SENTIMENT_TIMEOUT_S": "sentiment_timeout_s",
    "IMPACT_SQL_HISTORY": "sql_history",
    "IMPACT_DEBUG": "debug",
}
"""Which Settings field each variable fills; secrets and variables another room reads (models/) have none."""

def markdown_table() -> str:
    """The README's table of variables (``python -m pipelines.settings --markdown``)."""
    lines = ["| variable | meaning | default |", "|---|---|---|"]
    lines += [f"| `{v.name}` | {v.meaning} | {v.shown_default} |" for v in VARIABLES]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args != ["--markdown"]:
        print("usage: python -m pipelines.settings --markdown", file=sys.stderr)
        return 2
    sys.stdout.write(markdown_table())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
