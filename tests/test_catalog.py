"""The curated event catalogue: alignment to sessions, validation, and claimed moves vs real prices."""

from __future__ import annotations

import pandas as pd
import pytest

from models.calendar import align_to_session, is_session
from pipelines.catalog import load_catalog
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
        ("- {event_id: a, name: A, kind: earnings, announced_at: '2025-01-20T10:00:00Z', tickers: [NVDA], reaction_day: '2025-01-27'}", "reaction_note"),
        ("- {event_id: a, name: A, kind: earnings, announced_at: '2025-01-20T10:00:00Z', tickers: [NVDA], reaction_day: '2025-01-26', reaction_note: x}", "reaction_day"),
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
            assert real == pytest.approx(claimed, abs=0.011), f"{event.event_id} {ticker}: claimed {claimed}, real {real:.2f}"
            checked += 1
    assert checked >= 25
