"""`impact study` and `impact events` as a user runs them (the installed entry point in a subprocess): the event's own
tickers with the spillovers apart, the verdict above the tables, the machine formats (JSON following
pipelines/schemas/study.v1.json and parsed by chromium, tidy CSV, Parquet through pipelines/outputs.py), `--sample`,
the ad-hoc study (`--at`/`--tickers`) and full event ids."""

from __future__ import annotations

import io
import json
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from pipelines import warehouse
from pipelines.catalog import load_catalog
from pipelines.schemas import load, validate
from pipelines.study_answer import TIDY_TABLES
from tests.test_cli_errors import impact, short_failure
from tests.test_study_samples import _downgrade_to_version_2, write_study

EVENTS = ("nvda-q3fy25-earnings", "deepseek-r1-release")
"""Catalogue events inside the small warehouse's prices: NVDA alone, and all of NVDA, AMD, MSFT, META."""
NVDA = "nvda-q3fy25-earnings"


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Prices of NVDA, AMD, MSFT, META, SPY, SMH and the analyze job's study marts of EVENTS."""
    path = tmp_path_factory.mktemp("study_cli") / "w.duckdb"
    catalogue = load_catalog().set_index("event_id").loc[list(EVENTS)].reset_index()
    write_study(path, catalogue.assign(origin="curated")[["event_id", "origin", "tickers", "day0"]])
    return path


def _no_nan(text: str) -> dict:
    """json.loads that refuses NaN and Infinity (not JSON)."""

    def refuse(token: str) -> None:
        raise AssertionError(f"{token} in the JSON output")

    return json.loads(text, parse_constant=refuse)


def test_table_has_the_verdict_above_the_events_own_firms_and_the_spillovers_apart(small, tmp_path):
    done = impact("study", "--event", NVDA, "--warehouse", str(small), tmp=tmp_path)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.startswith("stored study (event-study marts")
    verdict = out.index("Verdict, event sample: the event's own tickers, 1 firm")
    assert verdict < out.index("CAR[0,0]: NVDA") < out.index("Firms, event sample")
    event_part = out[verdict : out.index("Verdict, spillover sample")]
    assert "NVDA" in event_part and not any(t in event_part for t in ("AMD", "MSFT", "META"))
    assert "Group tests, event sample" not in out  # one firm: its own t is the answer
    spill = out[out.index("Verdict, spillover sample: other stocks (spillovers, tested apart), 3 firms") :]
    assert all(t in spill for t in ("AMD", "MSFT", "META")) and "Group tests, spillover sample" in spill
    assert "firms share day 0, so only tests robust to cross-correlation count" in spill


def test_a_study_stored_before_samples_is_refitted_and_said_so(small, tmp_path):
    old = tmp_path / "old.duckdb"
    shutil.copy(small, old)
    _downgrade_to_version_2(old)
    before = old.read_bytes()
    done = impact("study", "--event", NVDA, "--warehouse", str(old), tmp=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("re-fitted: the stored study predates samples (the next `impact analyze`")
    assert "Verdict, event sample" in done.stdout and old.read_bytes() == before  # a reader changes nothing


def test_json_follows_the_schema_in_fractions_with_null_for_missing(small, tmp_path):
    done = impact(
        "study",
        "--event",
        NVDA,
        "--window",
        "0,0",
        "--window",
        "-1,1",
        "--format",
        "json",
        "--warehouse",
        str(small),
        tmp=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    payload = _no_nan(done.stdout)
    assert validate(payload, load("study.v1")) == []
    assert payload["schema_version"] == "study.v1" and payload["source"]["kind"] == "stored"
    event, spill = payload["samples"]
    assert (event["sample"], event["tickers"], spill["sample"]) == ("event", ["NVDA"], "spillover")
    assert sorted(spill["tickers"]) == ["AMD", "META", "MSFT"]
    stored = warehouse.query(
        "SELECT car FROM mart.event_windows WHERE event_id = ? AND ticker = 'NVDA' AND \"window\" = '[-1,+1]'",
        [NVDA],
        path=small,
    )["car"][0]
    firm = next(f for f in event["firms"] if f["window"] == "[-1,+1]")
    assert firm["car"] == pytest.approx(stored, rel=1e-12)  # a fraction, not percent
    one_firm = {t["test"]: t for t in event["tests"] if t["window"] == "[0,0]"}
    assert one_firm["bmp_t"]["statistic"] is None  # undefined with one firm: null, never NaN
    assert {t["n"] for t in spill["tests"]} == {3}
    assert [v["window"] for v in event["verdicts"]] == ["[0,0]", "[-1,+1]"]
    assert event["verdicts"][0]["group_test"] is None and spill["verdicts"][0]["group_test"] == "kp_bmp_t"
    assert all(key == key.lower() and " " not in key and "%" not in key for key in firm)


def test_schema_validator_catches_what_the_schema_forbids():
    schema = load("study.v1")
    assert any("missing 'samples'" in e for e in validate({"schema_version": "study.v1"}, schema))
    bad = {
        "schema_version": "study.v2",
        "event": {},
        "model": "market",
        "benchmark": None,
        "estimation_window": [1],
        "windows": [{"window": "[0,0]", "tau_start": 0.5, "tau_end": 0}],
        "source": {"kind": "x", "detail": ""},
        "samples": [],
        "extra": 1,
    }
    errors = "\n".join(validate(bad, schema))
    for expected in (
        "$.schema_version: 'study.v2' is not 'study.v1'",
        "$.event: missing 'event_id'",
        "$.estimation_window: fewer than 2 items",
        "$.windows[0].tau_start: float 0.5 is not integer",
        "$.source.kind: 'x' is not one of",
        "$: unexpected key 'extra'",
    ):
        assert expected in errors, errors


def test_chromium_parses_the_json(small, tmp_path):
    chromium = Path(os.environ.get("IMPACT_CHROMIUM", "/usr/bin/chromium"))
    if os.environ.get("IMPACT_SKIP_BROWSER") == "1":
        pytest.skip("IMPACT_SKIP_BROWSER=1: browser tests skipped")
    if not chromium.is_file():
        pytest.fail(f"chromium not found at {chromium}: install it or set IMPACT_SKIP_BROWSER=1", pytrace=False)
    from playwright.sync_api import sync_playwright

    done = impact("study", "--event", NVDA, "--format", "json", "--warehouse", str(small), tmp=tmp_path)
    assert done.returncode == 0, done.stderr
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium), args=["--no-sandbox", "--disable-gpu"])
        try:
            parsed = browser.new_page().evaluate(
                "text => { const p = JSON.parse(text); return [p.schema_version, p.samples.length, "
                "p.samples[0].tests.find(t => t.test === 'bmp_t').statistic, p.samples[1].verdicts[0].group_test]; }",
                done.stdout,
            )
        finally:
            browser.close()
    assert parsed == ["study.v1", 2, None, "kp_bmp_t"]


def test_csv_is_tidy_and_carries_the_group_tests_and_the_verdict(small, tmp_path):
    done = impact("study", "--event", NVDA, "--format", "csv", "--warehouse", str(small), tmp=tmp_path)
    assert done.returncode == 0, done.stderr
    frame = pd.read_csv(io.StringIO(done.stdout))
    assert list(frame.columns[:3]) == ["table", "sample", "event_id"]
    assert set(frame["table"]) == set(TIDY_TABLES) - {"excluded"}
    tests = frame[frame["table"] == "tests"]
    assert set(tests["sample"]) == {"event", "spillover"} and "kp_bmp_t" in set(tests["test"])
    verdicts = frame[frame["table"] == "verdicts"].set_index(["sample", "window"])
    assert verdicts.loc[("event", "[0,0]"), "sentence"].startswith("CAR[0,0]: NVDA")
    firms = frame[(frame["table"] == "firms") & (frame["sample"] == "event")]
    assert list(firms["ticker"]) == ["NVDA", "NVDA"] and firms["car"].abs().max() < 1  # fractions
    cells = pd.read_csv(io.StringIO(done.stdout), dtype=str, keep_default_na=False).to_numpy().ravel()
    assert not {"nan", "NaN", "inf", "-inf", "None"} & set(cells)  # missing values are empty cells


def test_parquet_needs_out_and_never_overwrites_the_warehouse(small, tmp_path):
    err = short_failure(
        impact("study", "--event", NVDA, "--format", "parquet", "--warehouse", str(small), tmp=tmp_path)
    )
    assert "--out" in err
    err = short_failure(
        impact(
            "study",
            "--event",
            NVDA,
            "--format",
            "parquet",
            "--out",
            str(small),
            "--warehouse",
            str(small),
            tmp=tmp_path,
        )
    )
    assert "warehouse" in err
    target = tmp_path / "study.parquet"
    done = impact(
        "study", "--event", NVDA, "--format", "parquet", "--out", str(target), "--warehouse", str(small), tmp=tmp_path
    )
    assert done.returncode == 0, done.stderr
    frame = pd.read_parquet(target)
    assert set(frame["table"]) >= {"verdicts", "firms", "tests"} and frame["tau_start"].dtype == "Int64"
    again = impact(
        "study", "--event", NVDA, "--format", "parquet", "--out", str(target), "--warehouse", str(small), tmp=tmp_path
    )
    assert "exists" in short_failure(again)


def test_sample_universe_and_a_ticker_list_refit_and_say_why(small, tmp_path):
    done = impact(
        "study", "--event", NVDA, "--sample", "universe", "--format", "json", "--warehouse", str(small), tmp=tmp_path
    )
    assert done.returncode == 0, done.stderr
    payload = _no_nan(done.stdout)
    assert payload["source"]["kind"] == "refit" and "sample universe" in payload["source"]["detail"]
    assert [(s["sample"], sorted(s["tickers"])) for s in payload["samples"]] == [
        ("universe", ["AMD", "META", "MSFT", "NVDA"])
    ]
    chips = impact(
        "study", "--event", NVDA, "--sample", "NVDA,AMD", "--format", "json", "--warehouse", str(small), tmp=tmp_path
    )
    samples = {s["sample"]: s["tickers"] for s in _no_nan(chips.stdout)["samples"]}
    assert samples == {"custom": ["NVDA", "AMD"], "spillover": ["META", "MSFT"]}
    same = impact(
        "study", "--event", NVDA, "--sample", "nvda", "--format", "json", "--warehouse", str(small), tmp=tmp_path
    )
    assert _no_nan(same.stdout)["source"]["kind"] == "stored"  # the stored study's own sample
    err = short_failure(
        impact("study", "--event", NVDA, "--sample", "NVDA,AMDD", "--warehouse", str(small), tmp=tmp_path)
    )
    assert "--sample: no prices for 'AMDD'" in err and "did you mean AMD?" in err


def test_ad_hoc_study_aligns_day0_like_the_catalogue(small, tmp_path):
    done = impact(
        "study",
        "--at",
        "2025-01-24 16:30 America/New_York",
        "--tickers",
        "nvda,MSFT,META",
        "--format",
        "json",
        "--warehouse",
        str(small),
        tmp=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    payload = _no_nan(done.stdout)
    assert validate(payload, load("study.v1")) == []
    event = payload["event"]
    assert event["event_id"] is None and event["day0"] == "2025-01-27"  # after Friday's close -> Monday
    assert event["announced_at"] == "2025-01-24T21:30:00+00:00" and event["tickers"] == ["NVDA", "MSFT", "META"]
    assert [s["sample"] for s in payload["samples"]] == ["event", "spillover"]
    assert payload["samples"][1]["tickers"] == ["AMD"] and payload["source"]["kind"] == "refit"
    table = impact(
        "study",
        "--at",
        "2025-01-27 09:00 America/New_York",
        "--tickers",
        "NVDA,MSFT,META",
        "--warehouse",
        str(small),
        tmp=tmp_path,
    )
    assert table.returncode == 0 and "(day0 2025-01-27)" in table.stdout and "CAR[0,0]: NVDA" in table.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--at", "2025-01-27 09:00 America/New_York", "--tickers", "NVDA,MSTF"), "did you mean MSFT?"),
        (("--at", "2025-01-27 09:00"), "needs both --at and --tickers (missing --tickers)"),
        (("--at", "2025-01-27 09:00", "--tickers", "NVDA"), "--at '2025-01-27 09:00': no time zone"),
        (("--event", NVDA, "--tickers", "NVDA"), "not both"),
        ((), "give --event ID"),
        (("--event", NVDA, "--out", "x.json"), "--out writes json, csv or parquet"),
    ],
)
def test_study_mistakes_are_short_errors(small, tmp_path, args, expected):
    assert expected in short_failure(impact("study", *args, "--warehouse", str(small), tmp=tmp_path))


def test_unknown_format_is_a_usage_error(small, tmp_path):
    done = impact("study", "--event", NVDA, "--format", "xml", "--warehouse", str(small), tmp=tmp_path)
    assert done.returncode == 2 and "unknown format 'xml'; use table, json, csv, parquet" in done.stderr
    assert "Traceback" not in done.stderr


def test_events_show_full_ids_and_take_machine_formats(small, tmp_path):
    done = impact("events", "--warehouse", str(small), tmp=tmp_path, env={"COLUMNS": "80"})
    assert done.returncode == 0, done.stderr
    ids = load_catalog()["event_id"]
    assert all(event_id in done.stdout for event_id in ids), done.stdout
    as_json = impact("events", "--format", "json", "--warehouse", str(small), tmp=tmp_path)
    payload = _no_nan(as_json.stdout)
    assert validate(payload, load("events.v1")) == [] and [e["event_id"] for e in payload["events"]] == list(ids)
    deepseek = next(e for e in payload["events"] if e["event_id"] == "deepseek-r1-release")
    assert deepseek["day0"] == "2025-01-27" and "NVDA" in deepseek["tickers"]
    as_csv = pd.read_csv(
        io.StringIO(impact("events", "--format", "csv", "--warehouse", str(small), tmp=tmp_path).stdout)
    )
    assert list(as_csv["event_id"]) == list(ids)
    target = tmp_path / "events.parquet"
    written = impact("events", "--format", "parquet", "--out", str(target), "--warehouse", str(small), tmp=tmp_path)
    assert written.returncode == 0 and list(pd.read_parquet(target)["event_id"]) == list(ids)
