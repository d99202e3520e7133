"""The event catalogues: the curated one (data/events.yaml) and the user's (``IMPACT_USER_EVENTS``), merged.

Both have the same schema and validation; each event is aligned to its day0 session. A user event id
equal to a curated one is an error naming both files. :func:`add_user_event` appends one event to the
user's catalogue with the same checks, written atomically (a refused event leaves the file unchanged).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pandas as pd
import yaml

from models.calendar import AlignPolicy, align_to_session, is_session, parses_as_time
from models.calendar import parse_announced as parse_announced  # re-exported for its callers
from pipelines.errors import DataValidationError
from pipelines.locations import data_file, user_data_dir
from pipelines.sources.base import TICKER_SYMBOL

CATALOG = data_file("events.yaml")
USER_CATALOG_FILE = "events.yaml"
KINDS = ("earnings", "model_release", "product", "policy", "corporate", "macro", "detected")
USER_KINDS = tuple(kind for kind in KINDS if kind != "detected")
"""Kinds a user event may have: ``detected`` is the analysis's own (events found from abnormal returns)."""
EVENT_ID = re.compile(r"[a-z0-9][a-z0-9._-]{0,79}")
"""An event id: lower-case letters, digits, '.', '_' and '-', up to 80 characters (it goes into URLs and commands)."""
DETECTED_PREFIX = "detected-"
"""Ids the analysis gives the events it detects (``detected-<ticker>-<day>``): no catalogue may use them."""
CATALOG_COLUMNS = (
    "event_id",
    "name",
    "kind",
    "announced_at",
    "day0",
    "day0_rule",
    "tickers",
    "description",
    "claimed_moves",
)


def user_catalog() -> Path:
    """The user's catalogue: ``$IMPACT_USER_EVENTS``, else ``events.yaml`` in the user data folder."""
    from pipelines.settings import value

    return value("IMPACT_USER_EVENTS") or user_data_dir() / USER_CATALOG_FILE


def load_catalog(path: Path | None = None, policy: AlignPolicy = "next") -> pd.DataFrame:
    """One row per event with its aligned ``day0``; an invalid entry raises naming the file, event and field.

    ``path`` None: the curated catalogue merged with the user's (absent: none). A path: that file alone.
    """
    if path is not None:
        return _load(path, policy, user=False)
    curated = _load(CATALOG, policy, user=False)
    user_path = user_catalog()
    if not user_path.exists():
        return curated
    user = _load(user_path, policy, user=True)
    _check_no_clash(curated, user, user_path)
    return pd.concat([curated, user], ignore_index=True) if len(user) else curated


def catalog_version() -> str:
    """A digest of the curated catalogue and the user's (when present): changes when either file does."""
    digest = hashlib.sha256(CATALOG.read_bytes())
    user_path = user_catalog()
    if user_path.is_file():
        digest.update(user_path.read_bytes())
    return digest.hexdigest()[:16]


def add_user_event(entry: dict[str, object], policy: AlignPolicy = "next") -> tuple[Path, pd.Series]:
    """Append ``entry`` (the catalogue's fields) to the user's catalogue; returns the file and the aligned event.

    The entry gets the same checks as the catalogue's (and no id of either catalogue); the file is written to a
    temporary file beside it and renamed over it, so a refused or failed write leaves it unchanged.
    """
    from pipelines.outputs import write_output

    path = user_catalog()
    entries = _read_entries(path, user=True) if path.exists() else []
    curated = _load(CATALOG, policy, user=False)
    user = _load(path, policy, user=True) if path.exists() else _empty()
    parsed = _parse_entry(entry, str(path), len(entries) + 1, policy, user=True)
    added = pd.DataFrame([parsed], columns=list(CATALOG_COLUMNS))
    _check_no_clash(curated, added, path, row=len(entries) + 1)
    if parsed["event_id"] in set(user["event_id"]):
        raise DataValidationError(
            f"{path} event {parsed['event_id']!r}",
            "this event_id is already in this file: choose another id",
            row=len(entries) + 1,
            field="event_id",
        )
    document = {"events": [*entries, {key: value for key, value in entry.items() if value not in (None, "")}]}
    header = "# Your own events for ai-market-impact (`impact events add` writes here); schema as data/events.yaml.\n"
    write_output(path, header + yaml.safe_dump(document, sort_keys=False, allow_unicode=True), force=True)
    return path, added.iloc[0]


def _empty() -> pd.DataFrame:
    return pd.DataFrame(columns=list(CATALOG_COLUMNS))


def _read_entries(path: Path, user: bool) -> list:
    """The list under ``events`` of one catalogue file (a user's catalogue may be empty; the curated one not)."""
    origin = str(path)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise DataValidationError(origin, f"cannot read the catalogue: {error}") from error
    if user and (document is None or (isinstance(document, dict) and document.get("events") is None)):
        return []
    entries = document.get("events") if isinstance(document, dict) else None
    if not isinstance(entries, list) or (not user and not entries):
        raise DataValidationError(origin, "expected a non-empty list under 'events'", field="events")
    return entries


def _load(path: Path, policy: AlignPolicy, user: bool) -> pd.DataFrame:
    """One catalogue file's events, validated (``user``: the user's rules: may be empty, no ``detected`` kind)."""
    origin = str(path)
    rows = [
        _parse_entry(entry, origin, number, policy, user=user)
        for number, entry in enumerate(_read_entries(path, user), start=1)
    ]
    frame = pd.DataFrame(rows, columns=list(CATALOG_COLUMNS))
    duplicated = frame["event_id"].duplicated()
    if duplicated.any():
        at = int(duplicated.to_numpy().nonzero()[0][0])
        raise DataValidationError(origin, f"duplicate event_id {frame['event_id'][at]!r}", row=at + 1, field="event_id")
    return frame


def _check_no_clash(curated: pd.DataFrame, user: pd.DataFrame, user_path: Path, row: int | None = None) -> None:
    """A user event id must not be a curated one: the error names both files."""
    clash = user["event_id"].isin(set(curated["event_id"]))
    if clash.any():
        at = int(clash.to_numpy().nonzero()[0][0])
        event_id = user["event_id"].iloc[at]
        raise DataValidationError(
            f"{user_path} event {event_id!r}",
            f"event_id {event_id!r} is already used by the curated catalogue {CATALOG}: choose another id",
            row=row if row is not None else at + 1,
            field="event_id",
        )


def _parse_entry(entry: object, origin: str, number: int, policy: AlignPolicy, user: bool = False) -> dict[str, object]:
    if not isinstance(entry, dict):
        raise DataValidationError(origin, "each event must be a mapping", row=number)
    event_id = entry.get("event_id")
    where = f"{origin} event {event_id!r}" if event_id else origin

    def fail(detail: str, field: str) -> DataValidationError:
        return DataValidationError(where, detail, row=number, field=field)

    for field in ("event_id", "name", "kind", "announced_at", "tickers"):
        if not entry.get(field):
            raise fail("missing", field)
    if not isinstance(event_id, str) or not EVENT_ID.fullmatch(event_id) or event_id.startswith(DETECTED_PREFIX):
        raise fail(
            f"event_id {event_id!r} must be lower-case letters, digits, '.', '_' or '-' (at most 80, starting with a "
            f"letter or digit, not {DETECTED_PREFIX!r}), e.g. acme-q1-2025-earnings",
            "event_id",
        )
    kinds = USER_KINDS if user else KINDS
    if entry["kind"] not in kinds:
        raise fail(f"unknown kind {entry['kind']!r}; use one of {', '.join(kinds)}", "kind")
    announced = pd.Timestamp(entry["announced_at"]) if parses_as_time(entry["announced_at"]) else None
    if announced is None or announced.tzinfo is None:
        raise fail(f"announced_at {entry['announced_at']!r} must be ISO-8601 with a UTC offset", "announced_at")
    tickers = entry["tickers"]
    if not isinstance(tickers, list) or not all(isinstance(t, str) and t.strip() for t in tickers):
        raise fail("tickers must be a list of symbols", "tickers")
    bad = [t for t in tickers if not TICKER_SYMBOL.fullmatch(t.strip().upper())]
    if bad:
        raise fail(f"ticker {bad[0]!r} is not a symbol (letters, digits, '.', '^', '=', '-'; at most 15)", "tickers")
    if "reaction_day" in entry:
        if not entry.get("reaction_note"):
            raise fail("a reaction_day override needs a reaction_note saying why", "reaction_note")
        if not parses_as_time(entry["reaction_day"]) or not _is_session(pd.Timestamp(entry["reaction_day"])):
            raise fail(f"reaction_day {entry['reaction_day']!r} is not an NYSE session", "reaction_day")
        day0, rule = pd.Timestamp(entry["reaction_day"]).normalize(), "override"
        if day0 < announced.tz_convert("America/New_York").tz_localize(None).normalize():
            raise fail("reaction_day is before announced_at", "reaction_day")
    else:
        try:
            day0, rule = align_to_session(announced, policy), policy
        except ValueError as error:  # outside the trading calendar's years
            raise fail(
                f"announced_at {entry['announced_at']!r} cannot be aligned to a session: {error}", "announced_at"
            ) from None
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


def _is_session(day: pd.Timestamp) -> bool:
    try:
        return is_session(day)
    except ValueError:  # outside the trading calendar's years
        return False
