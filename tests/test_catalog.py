"""The event catalogues: alignment to sessions, validation, claimed moves vs real prices, the user's own events."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from models.calendar import align_to_session, is_session
from pipelines.catalog import CATALOG, catalog_version, load_catalog, parse_announced
from pipelines.errors import DataValidationError


def test_catalogue_aligns_every_event_to_a_session():
    catalog = load_catalog()
    assert len(catalog) >= 12
    assert catalog["event_id"].is_unique
    assert all(is_session(day) for day in catalog["day0"])
    by_id = catalog.set_index("event_id")
    r1 = by_id.loc["deepseek-r1-release"]
    assert r1["day0"] == pd.Timestamp("2025-01-27") and r1["day0_rule"] == "override"
    # Published on the MLK holiday: the plain policy would have picked the next session, 2025-01-21.
    assert align_to_session(r1["announced_at"]) == pd.Timestamp("2025-01-21")
    # After-close earnings belong to the next session.
    assert by_id.loc["nvda-q4fy25-earnings", "day0"] == pd.Timestamp("2025-02-27")


@pytest.mark.parametrize(
    ("announced", "policy", "expected"),
    [
        ("2025-01-24T15:59:00-05:00", "next", "2025-01-24"),
        ("2025-01-24T16:00:00-05:00", "next", "2025-01-27"),  # at the close: next session
        ("2025-01-25T12:00:00-05:00", "next", "2025-01-27"),  # Saturday
        ("2025-01-09T10:00:00-05:00", "next", "2025-01-10"),  # Carter day of mourning
        ("2024-11-29T13:30:00-05:00", "next", "2024-12-02"),  # after the 13:00 early close
        ("2025-01-27T14:00:00Z", "previous", "2025-01-24"),
        ("2025-01-27T22:00:00Z", "previous", "2025-01-27"),
        ("2025-01-27T10:00:00-05:00", "exact", "2025-01-27"),
    ],
)
def test_alignment_policies(announced, policy, expected):
    assert align_to_session(announced, policy) == pd.Timestamp(expected)


def test_exact_policy_rejects_a_holiday():
    with pytest.raises(ValueError, match="2025-01-20 is not an NYSE session"):
        align_to_session("2025-01-20T10:00:00-05:00", "exact")


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        ("- {event_id: a, name: A, kind: earnings, tickers: [NVDA]}", "announced_at"),
        ("- {event_id: a, name: A, kind: rumour, announced_at: '2025-01-27T10:00:00Z', tickers: [NVDA]}", "kind"),
        ("- {event_id: a, name: A, kind: earnings, announced_at: '2025-01-27 10:00', tickers: [NVDA]}", "announced_at"),
        ("- {event_id: a, name: A, kind: earnings, announced_at: '2025-01-27T10:00:00Z', tickers: NVDA}", "tickers"),
        (
            "- {event_id: a, name: A, kind: earnings, announced_at: '2025-01-20T10:00:00Z', tickers: [NVDA], reaction_day: '2025-01-27'}",
            "reaction_note",
        ),
        (
            "- {event_id: a, name: A, kind: earnings, announced_at: '2025-01-20T10:00:00Z', tickers: [NVDA], reaction_day: '2025-01-26', reaction_note: x}",
            "reaction_day",
        ),
    ],
)
def test_invalid_entries_name_the_event_and_field(tmp_path, entry, field):
    path = tmp_path / "events.yaml"
    path.write_text("events:\n" + entry + "\n")
    with pytest.raises(DataValidationError) as caught:
        load_catalog(path)
    assert caught.value.field == field
    assert "events.yaml" in str(caught.value) and "row 1" in str(caught.value)


def test_duplicate_ids_are_refused(tmp_path):
    path = tmp_path / "events.yaml"
    one = "- {event_id: a, name: A, kind: earnings, announced_at: '2025-01-27T10:00:00Z', tickers: [NVDA]}"
    path.write_text("events:\n" + one + "\n" + one + "\n")
    with pytest.raises(DataValidationError, match="duplicate event_id 'a'"):
        load_catalog(path)


@pytest.mark.shared_data
def test_claimed_moves_match_the_reference_prices(shared_data):
    """Every move the catalogue claims is the real close-to-close return on day0 (adjusted closes)."""
    folder = shared_data / "prices" / "adjclose_only"
    checked = 0
    for event in load_catalog().itertuples():
        for ticker, claimed in event.claimed_moves.items():
            closes = pd.read_csv(folder / f"{ticker}.csv", index_col="Date", parse_dates=True)["Close"]
            real = 100 * closes.pct_change().loc[event.day0]
            assert real == pytest.approx(claimed, abs=0.011), (
                f"{event.event_id} {ticker}: claimed {claimed}, real {real:.2f}"
            )
            checked += 1
    assert checked >= 25


# --- the user's catalogue (IMPACT_USER_EVENTS) and `impact events add` -------------------------------------

USER_EVENT = (
    "- {event_id: my-launch, name: My launch, kind: product, announced_at: '2025-01-27T09:00:00-05:00', "
    "tickers: [nvda, MSFT]}"
)


@pytest.fixture
def user_file(tmp_path, monkeypatch):
    """The user's catalogue path, in a fresh folder (not created)."""
    path = tmp_path / "mine" / "events.yaml"
    monkeypatch.setenv("IMPACT_USER_EVENTS", str(path))
    return path


def test_the_user_catalogue_is_merged_with_the_curated_one(user_file):
    curated = load_catalog(CATALOG)
    assert load_catalog().equals(curated)  # no user file: the curated events alone
    user_file.parent.mkdir()
    user_file.write_text("events:\n" + USER_EVENT + "\n")
    merged = load_catalog().set_index("event_id")
    assert len(merged) == len(curated) + 1
    mine = merged.loc["my-launch"]
    assert mine["day0"] == pd.Timestamp("2025-01-27") and mine["day0_rule"] == "next"
    assert mine["tickers"] == ["NVDA", "MSFT"]
    user_file.write_text("# nothing yet\n")  # an empty user catalogue is allowed (the curated one is not)
    assert len(load_catalog()) == len(curated)


def test_a_user_id_equal_to_a_curated_one_names_both_files(user_file):
    user_file.parent.mkdir()
    user_file.write_text(
        "events:\n" + USER_EVENT + "\n" + USER_EVENT.replace("my-launch", "deepseek-r1-release") + "\n"
    )
    with pytest.raises(DataValidationError) as caught:
        load_catalog()
    message = str(caught.value)
    assert str(user_file) in message and str(CATALOG) in message and "deepseek-r1-release" in message
    assert caught.value.row == 2 and caught.value.field == "event_id"


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        (USER_EVENT.replace("kind: product", "kind: detected"), "kind"),  # the analysis's own kind
        (USER_EVENT.replace("my-launch", "detected-nvda-2025-01-27"), "event_id"),
        (USER_EVENT.replace("my-launch", "My Launch"), "event_id"),
        (USER_EVENT.replace("nvda", "NV DA"), "tickers"),
        (USER_EVENT.replace("2025-01-27T09:00:00-05:00", "2035-01-27T09:00:00-05:00"), "announced_at"),
    ],
)
def test_user_entries_get_the_catalogue_checks(user_file, entry, field):
    user_file.parent.mkdir()
    user_file.write_text("events:\n" + entry + "\n")
    with pytest.raises(DataValidationError) as caught:
        load_catalog()
    assert caught.value.field == field and str(user_file) in str(caught.value)


def test_the_catalogue_version_follows_the_user_file(user_file):
    before = catalog_version()
    user_file.parent.mkdir()
    user_file.write_text("events:\n" + USER_EVENT + "\n")
    assert catalog_version() != before


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("2025-01-27 09:00 America/New_York", "2025-01-27 14:00"),
        ("2025-07-01 09:00 America/New_York", "2025-07-01 13:00"),
        ("2025-01-27 14:00 UTC", "2025-01-27 14:00"),
        ("2025-01-27T09:00:00-05:00", "2025-01-27 14:00"),
    ],
)
def test_announced_times_carry_their_zone(text, utc):
    assert parse_announced(text) == pd.Timestamp(utc, tz="UTC")


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("2025-01-27 09:00", "no time zone"),
        ("2025-01-27 09:00 Mars/Olympus", "unknown time zone"),
        ("2025-03-09 02:30 America/New_York", "daylight-saving"),  # a time that did not exist in New York
        ("next monday", "not a time"),
    ],
)
def test_announced_times_without_a_zone_are_refused(text, says):
    with pytest.raises(ValueError, match=says):
        parse_announced(text)


def _impact(*args: str) -> subprocess.CompletedProcess:
    """The installed `impact` command, as a user runs it (the environment is the test's)."""
    command = [str(Path(sys.executable).with_name("impact")), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "250"})


ADD = [
    "events",
    "add",
    "--id",
    "my-launch",
    "--name",
    "My launch",
    "--at",
    "2025-01-27 09:00 America/New_York",
    "--tickers",
    "nvda,MSFT",
    "--kind",
    "product",
]


def test_events_add_writes_the_user_catalogue_and_refuses_bad_input_unchanged(user_file, tmp_path):
    added = _impact(*ADD, "--description", "Our own launch.")
    assert added.returncode == 0, added.stderr
    assert "my-launch" in added.stdout and "day0 2025-01-27" in added.stdout and str(user_file) in added.stdout
    mine = load_catalog().set_index("event_id").loc["my-launch"]
    assert mine["tickers"] == ["NVDA", "MSFT"] and mine["description"] == "Our own launch."
    assert mine["announced_at"] == pd.Timestamp("2025-01-27 14:00", tz="UTC")
    before = user_file.read_bytes()
    for args, says in (
        (ADD, "already in this file"),
        ([*ADD[:3], "deepseek-r1-release", *ADD[4:]], str(CATALOG)),
        ([*ADD[:3], "other", *ADD[4:7], "2025-01-27 09:00", *ADD[8:]], "--at '2025-01-27 09:00': no time zone"),
        ([*ADD[:3], "other", *ADD[4:-1], "rumour"], "field 'kind': unknown kind 'rumour'"),
        ([*ADD[:3], "other", *ADD[4:9], "NVDA,N!", *ADD[10:]], "ticker 'N!'"),
    ):
        refused = _impact(*args)
        assert refused.returncode == 1, refused.stdout
        assert says in refused.stderr and len(refused.stderr.strip().splitlines()) <= 2, refused.stderr
        assert "Traceback" not in refused.stderr
        assert user_file.read_bytes() == before
    assert sorted(p.name for p in user_file.parent.iterdir()) == ["events.yaml"]  # no temporary file left
    second = _impact(*[*ADD[:3], "my-second", *ADD[4:7], "2025-02-03 16:30 America/New_York", *ADD[8:]])
    assert second.returncode == 0, second.stderr
    assert "day0 2025-02-04" in second.stdout  # after the close: the next session
    listed = _impact("events", "--warehouse", str(tmp_path / "none.duckdb"))
    assert listed.returncode == 0 and "my-launch" in listed.stdout and "my-second" in listed.stdout
