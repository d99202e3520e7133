"""pipelines.settings: one declaration per environment variable, typed, read on demand, the README generated from it."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from pipelines import settings
from pipelines.settings import Settings, SettingsError

REPO = Path(__file__).resolve().parents[1]
ROOMS = ("pipelines", "models", "dashboards")


def _readme_table() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    start = text.index("| variable | meaning | default |")
    return text[start:text.index("\n\n", start) + 1]


def test_readme_table_is_generated_from_the_settings():
    assert _readme_table() == settings.markdown_table(), "run: python -m pipelines.settings --markdown"


def test_markdown_command_prints_the_table():
    done = subprocess.run([sys.executable, "-m", "pipelines.settings", "--markdown"], cwd=REPO,
                          capture_output=True, text=True, check=True)
    assert done.stdout == settings.markdown_table()
    assert all(f"| `{v.name}` |" in done.stdout for v in settings.VARIABLES)


def test_every_variable_the_code_reads_is_declared():
    """Any IMPACT_* name (and the news API keys) written in the code or the tests is declared in settings."""
    mentioned = set()
    for room in (*ROOMS, "tests", "bench"):
        for file in (REPO / room).rglob("*.py"):
            if file.name == "test_settings.py":
                continue
            mentioned |= set(re.findall(r"\b(IMPACT_[A-Z0-9_]+|ALPHAVANTAGE_API_KEY|FMP_API_KEY)\b", file.read_text()))
    declared = set(settings.BY_NAME) | {v.name for v in settings.DEVELOPMENT_VARIABLES}
    assert mentioned - declared == set()
    assert not set(settings.BY_NAME) & {v.name for v in settings.DEVELOPMENT_VARIABLES}


def test_only_settings_reads_the_environment_in_pipelines():
    readers = []
    for file in (REPO / "pipelines").rglob("*.py"):
        if file.name in {"settings.py", "bootstrap.py"}:
            continue
        text = file.read_text()
        if re.search(r"os\.environ\.get|os\.getenv|os\.environ\[", text):
            readers.append(file.relative_to(REPO).as_posix())
    assert readers == []


def test_defaults():
    s = Settings.from_env({})
    assert s == Settings()
    assert (s.price_source, s.news_sources, s.tickers, s.history_start) == ("demo", ("demo",), None, date(2023, 1, 2))
    assert (s.sentiment_backend, s.sentiment_device, s.sentiment_batch_size, s.sentiment_timeout_s) == (
        "local", "auto", 32, 30.0)
    assert (s.warehouse, s.retry_delay_s, s.sentiment_model, s.sentiment_url) == (None, 10.0, None, None)


def test_typed_parsing():
    s = Settings.from_env({
        "IMPACT_WAREHOUSE": "~/w.duckdb", "IMPACT_PRICE_SOURCE": "files", "IMPACT_PRICE_PATH": "/data/prices",
        "IMPACT_NEWS_SOURCES": "demo, fmp alphavantage,fmp", "IMPACT_TICKERS": "nvda,msft SPY",
        "IMPACT_HISTORY_START": "2015-01-02", "IMPACT_RETRY_DELAY_S": "0", "IMPACT_SENTIMENT_BATCH_SIZE": " 8 ",
        "IMPACT_SENTIMENT_TIMEOUT_S": "2.5", "IMPACT_SENTIMENT_MODEL": "", "IMPACT_FMP_URL": "http://127.0.0.1:9/api",
    })
    assert s.warehouse == Path.home() / "w.duckdb"
    assert (s.price_source, s.price_path) == ("files", Path("/data/prices"))
    assert s.news_sources == ("demo", "fmp", "alphavantage")
    assert s.tickers == ("NVDA", "MSFT", "SPY")
    assert s.history_start == date(2015, 1, 2)
    assert (s.retry_delay_s, s.sentiment_batch_size, s.sentiment_timeout_s) == (0.0, 8, 2.5)
    assert s.sentiment_model is None, "a blank value means unset"
    assert s.fmp_url == "http://127.0.0.1:9/api"


@pytest.mark.parametrize(("name", "raw", "allowed"), [
    ("IMPACT_SENTIMENT_BATCH_SIZE", "abc", "whole number >= 1"),
    ("IMPACT_SENTIMENT_BATCH_SIZE", "0", "whole number >= 1"),
    ("IMPACT_SENTIMENT_TIMEOUT_S", "-1", "number > 0"),
    ("IMPACT_RETRY_DELAY_S", "nan", "number >= 0"),
    ("IMPACT_HISTORY_START", "2023-13-45", "YYYY-MM-DD"),
    ("IMPACT_PRICE_SOURCE", "bloomberg", "one of demo, yahoo, files"),
    ("IMPACT_NEWS_SOURCES", "demo,reuters", "reuters"),
])
def test_bad_value_names_the_variable_and_what_is_allowed(name, raw, allowed):
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({name: raw})
    message = str(caught.value)
    assert name in message and repr(raw) in message and allowed in message
    with pytest.raises(SettingsError, match=name):
        settings.value(name, {name: raw})


def test_all_bad_values_are_reported_together():
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"IMPACT_SENTIMENT_BATCH_SIZE": "abc", "IMPACT_PRICE_SOURCE": "x"})
    assert "IMPACT_SENTIMENT_BATCH_SIZE" in str(caught.value) and "IMPACT_PRICE_SOURCE" in str(caught.value)


def test_settings_error_is_a_project_error_and_a_value_error():
    from pipelines.errors import ImpactError

    assert issubclass(SettingsError, ImpactError) and issubclass(SettingsError, ValueError)


def test_secrets_are_flagged_and_never_fields():
    assert set(settings.SECRETS) == {"ALPHAVANTAGE_API_KEY", "FMP_API_KEY", "IMPACT_SENTIMENT_API_KEY",
                                    "IMPACT_DAGSTER_POSTGRES_URL"}
    environ = dict.fromkeys(settings.SECRETS, "s3cr3t-value")
    s = Settings.from_env(environ)
    assert "s3cr3t-value" not in repr(s)
    assert settings.secret("FMP_API_KEY", environ) == "s3cr3t-value"
    assert settings.secret("FMP_API_KEY", {}) is None
    with pytest.raises(KeyError):
        settings.secret("IMPACT_PRICE_SOURCE", environ)


def test_secrets_stay_out_of_resource_config(monkeypatch):
    from pipelines.resources import resources_from_env

    for name in settings.SECRETS:
        monkeypatch.setenv(name, "s3cr3t-value")
    resources = resources_from_env("/tmp/never-opened.duckdb")
    assert all("s3cr3t-value" not in repr(r) for r in resources.values())


def test_every_field_has_one_variable():
    from dataclasses import fields

    assert set(settings.FIELD_VARIABLES.values()) == {f.name for f in fields(Settings)}
    assert set(settings.FIELD_VARIABLES) == {v.name for v in settings.VARIABLES if not v.secret and v.read_by is None}


def test_every_variable_is_documented():
    for variable in settings.VARIABLES:
        assert variable.meaning and variable.shown_default and variable.type, variable.name
    assert settings.BY_NAME["IMPACT_MODEL_CACHE"].read_by == "models/sentiment/backbone.py"


def test_nothing_is_read_at_import():
    """Import the partitions and the definitions with a malformed environment, then change it: the functions
    follow the environment of the call, not the one of the import."""
    code = """
import os, sys
from datetime import date
os.environ["IMPACT_HISTORY_START"] = "not-a-date"   # would raise if anything read it at import
os.environ["IMPACT_RETRY_DELAY_S"] = "soon"
os.environ["IMPACT_SENTIMENT_BATCH_SIZE"] = "abc"
import pipelines.partitions as partitions
import pipelines.definitions, pipelines.resources, pipelines.sources, pipelines.warehouse
assert partitions.price_partitions.start.date() == date(2023, 1, 2), "the templates are the declared defaults"
assert partitions.NETWORK_RETRY.delay == 10
os.environ["IMPACT_HISTORY_START"] = "2019-06-03"
assert partitions.history_start() == date(2019, 6, 3)
os.environ["IMPACT_HISTORY_START"] = "2020-01-06"
assert partitions.history_start() == date(2020, 1, 6)
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stdout + done.stderr


def test_definitions_follow_the_environment_when_built(monkeypatch):
    from pipelines.definitions import build_definitions

    monkeypatch.setenv("IMPACT_HISTORY_START", "2015-01-02")
    monkeypatch.setenv("IMPACT_RETRY_DELAY_S", "0")
    monkeypatch.setenv("IMPACT_PRICE_SOURCE", "yahoo")
    monkeypatch.setenv("IMPACT_TICKERS", "nvda,spy")
    defs = build_definitions("/tmp/never-opened.duckdb")
    job = defs.resolve_job_def("ingest_prices")
    assert job.partitions_def.get_first_partition_key() == "2015-01-02"
    assert defs.resolve_job_def("ingest_news").partitions_def.get_first_partition_key() == "2015-01-02"
    prices = defs.resolve_assets_def(["core", "prices"])
    assert prices.op.retry_policy.delay == 0 and prices.op.retry_policy.max_retries == 3
    resources = defs.resources
    assert (resources["price_source"].source, resources["price_source"].tickers) == ("yahoo", ["NVDA", "SPY"])

    monkeypatch.delenv("IMPACT_HISTORY_START")
    monkeypatch.delenv("IMPACT_RETRY_DELAY_S")
    defaults = build_definitions("/tmp/never-opened.duckdb")
    assert defaults.resolve_job_def("ingest_prices").partitions_def.get_first_partition_key() == "2023-01-02"
    assert defaults.resolve_assets_def(["core", "prices"]).op.retry_policy.delay == 10


def test_bad_value_stops_building_the_definitions(monkeypatch):
    from pipelines.definitions import build_definitions

    monkeypatch.setenv("IMPACT_SENTIMENT_BATCH_SIZE", "abc")
    with pytest.raises(SettingsError, match="IMPACT_SENTIMENT_BATCH_SIZE='abc'"):
        build_definitions("/tmp/never-opened.duckdb")


def test_warehouse_path_and_base_urls_read_at_use(monkeypatch, tmp_path):
    from pipelines import warehouse
    from pipelines.sources import make_news_source

    monkeypatch.setenv("IMPACT_WAREHOUSE", str(tmp_path / "a.duckdb"))
    assert warehouse.warehouse_path() == tmp_path / "a.duckdb"
    monkeypatch.setenv("IMPACT_FMP_URL", "http://127.0.0.1:9/fmp")
    assert make_news_source("fmp").base_url == "http://127.0.0.1:9/fmp"
    monkeypatch.delenv("IMPACT_FMP_URL")
    assert make_news_source("fmp").base_url != "http://127.0.0.1:9/fmp"


def test_settings_is_a_leaf():
    """Only the standard library, pipelines.errors and the source registry: no Dagster, pandas or the rest of pipelines."""
    code = ("import sys; import pipelines.settings; "
            "bad = [m for m in sys.modules if m.split('.')[0] in {'dagster', 'pandas', 'duckdb', 'models'} "
            "or (m.startswith('pipelines.') and m not in {'pipelines.settings', 'pipelines.errors', 'pipelines.sources'})]; "
            "print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
