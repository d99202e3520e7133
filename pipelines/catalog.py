"""The curated event catalogue (data/events.yaml): load, validate and align each event to its day0."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from models.calendar import AlignPolicy, align_to_session, is_session
from pipelines.errors import DataValidationError
from pipelines.locations import data_file

CATALOG = data_file("events.yaml")
KINDS = ("earnings", "model_release", "product", "policy", "corporate", "macro", "detected")
CATALOG_COLUMNS = (
    "event_id", "name", "kind", "announced_at", "day0", "day0_rule", "tickers", "description", "claimed_moves",
)


def load_catalog(path: Path = CATALOG, policy: AlignPolicy = "next") -> pd.DataFrame:
    """One row per event with its aligned ``day0``; an invalid entry raises naming the event and field."""
    origin = str(path)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise DataValidationError(origin, f"cannot read the catalogue: {error}") from error
    entries = document.get("events") if isinstance(document, dict) else None
    if not isinstance(entries, list) or not entries:
        raise DataValidationError(origin, "expected a non-empty list under 'events'", field="events")
    rows = []
    for number, entry in enumerate(entries, start=1):
        rows.append(_parse_entry(entry, origin, number, policy))
    frame = pd.DataFrame(rows, columns=list(CATALOG_COLUMNS))
    duplicated = frame["event_id"].duplicated()
    if duplicated.any():
        at = int(duplicated.to_numpy().nonzero()[0][0])
        raise DataValidationError(origin, f"duplicate event_id {frame['event_id'][at]!r}", row=at + 1, field="event_id")
    return frame


def _parse_entry(entry: object, origin: str, number: int, policy: AlignPolicy) -> dict[str, object]:
    if not isinstance(entry, dict):
        raise DataValidationError(origin, "each event must be a mapping", row=number)
    event_id = entry.get("event_id")
    where = f"{origin} event {event_id!r}" if event_id else origin

    def fail(detail: str, field: str) -> DataValidationError:
        return DataValidationError(where, detail, row=number, field=field)

    for field in ("event_id", "name", "kind", "announced_at", "tickers"):
        if not entry.get(field):
            raise fail("missing", field)
    if entry["kind"] not in KINDS:
        raise fail(f"unknown kind {entry['kind']!r}; use one of {', '.join(KINDS)}", "kind")
    announced = pd.Timestamp(entry["announced_at"]) if _parses(entry["announced_at"]) else None
    if announced is None or announced.tzinfo is None:
        raise fail(f"announced_at {entry['announced_at']!r} must be ISO-8601 with a UTC offset", "announced_at")
    tickers = entry["tickers"]
    if not isinstance(tickers, list) or not all(isinstance(t, str) and t.strip() for t in tickers):
        raise fail("tickers must be a list of symbols", "tickers")
    if "reaction_day" in entry:
        if not entry.get("reaction_note"):
            raise fail("a reaction_day override needs a reaction_note saying why", "reaction_note")
        if not _parses(entry["reaction_day"]) or not is_session(pd.Timestamp(entry["reaction_day"])):
            raise fail(f"reaction_day {entry['reaction_day']!r} is not an NYSE session", "reaction_day")
        day0, rule = pd.Timestamp(entry["reaction_day"]).normalize(), "override"
        if day0 < announced.tz_convert("America/New_York").tz_localize(None).normalize():
            raise fail("reaction_day is before announced_at", "reaction_day")
    else:
        day0, rule = align_to_session(announced, policy), policy
    moves = entry.get("claimed_moves") or {}
    if not isinstance(moves, dict) or not all(isinstance(v, (int, float)) for v in moves.values()):
        raise fail("claimed_moves must map tickers to percentages", "claimed_moves")
    return {
        "event_id": str(entry["event_id"]),
        "name": str(entry["name"]),
        "kind": entry["kind"],
        "announced_at": announced.tz_convert("UTC"),
        "day0": day0,
        "day0_rule": rule,
        "tickers": [t.strip().upper() for t in tickers],
        "description": str(entry.get("description", "")).strip(),
        "claimed_moves": {str(k).upper(): float(v) for k, v in moves.items()},
    }


def _parses(value: object) -> bool:
    try:
        pd.Timestamp(value)
    except (ValueError, TypeError):
        return False
    return True
