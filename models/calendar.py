"""NYSE trading calendar: sessions, early closes, and aligning a timestamp to the session it moves.

Backed by ``exchange_calendars`` (XNYS), which carries holidays and special closures such as
2025-01-09 (national day of mourning for President Carter).
"""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from typing import Literal

import exchange_calendars as xcals
import pandas as pd

EXCHANGE_TZ = "America/New_York"
AlignPolicy = Literal["next", "previous", "exact"]


@lru_cache(maxsize=1)
def _calendar() -> xcals.ExchangeCalendar:
    return xcals.get_calendar("XNYS", start="2000-01-03")


def _day(value: date | datetime | str | pd.Timestamp) -> pd.Timestamp:
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert(EXCHANGE_TZ).tz_localize(None)
    return stamp.normalize()


def sessions(start: date | str | pd.Timestamp, end: date | str | pd.Timestamp) -> pd.DatetimeIndex:
    """NYSE sessions from ``start`` to ``end`` inclusive, as naive midnight timestamps."""
    first, last = _day(start), _day(end)
    if last < first:
        return pd.DatetimeIndex([])
    calendar = _calendar()
    first = max(first, calendar.first_session)
    last = min(last, calendar.last_session)
    if last < first:
        return pd.DatetimeIndex([])
    return pd.DatetimeIndex(calendar.sessions_in_range(first, last)).tz_localize(None)


def is_session(day: date | str | pd.Timestamp) -> bool:
    """True when the NYSE was open on ``day`` (a New York calendar date)."""
    return _calendar().is_session(_day(day))


def session_close(day: date | str | pd.Timestamp) -> pd.Timestamp:
    """The UTC close time of a session (13:00 ET on early-close days, 16:00 ET otherwise)."""
    return _calendar().session_close(_day(day))


def next_session(day: date | str | pd.Timestamp) -> pd.Timestamp:
    """The first session strictly after ``day``."""
    return _calendar().date_to_session(_day(day) + pd.Timedelta(days=1), direction="next").tz_localize(None)


def previous_session(day: date | str | pd.Timestamp) -> pd.Timestamp:
    """The last session strictly before ``day``."""
    return _calendar().date_to_session(_day(day) - pd.Timedelta(days=1), direction="previous").tz_localize(None)


def align_to_session(announced_at: datetime | str | pd.Timestamp, policy: AlignPolicy = "next") -> pd.Timestamp:
    """The session whose close-to-close return first reflects news published at ``announced_at``.

    ``next``: news during a session (before its close) belongs to that session; after the close,
    on a weekend or a holiday it belongs to the next session. ``previous``: the last session that
    closed at or before the announcement (the session already priced). ``exact``: the New York
    date of the announcement, which must itself be a session.
    A naive timestamp is read as New York time.
    """
    stamp = pd.Timestamp(announced_at)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize(EXCHANGE_TZ)
    day = _day(stamp)
    if policy == "exact":
        if not is_session(day):
            raise ValueError(f"{day.date()} is not an NYSE session (announced_at {stamp.isoformat()})")
        return day
    if policy == "next":
        if is_session(day) and stamp < session_close(day):
            return day
        return next_session(day)
    if policy == "previous":
        if is_session(day) and stamp >= session_close(day):
            return day
        return previous_session(day)
    raise ValueError(f"unknown alignment policy {policy!r}; use 'next', 'previous' or 'exact'")


def align_many(timestamps: pd.Series | pd.DatetimeIndex) -> pd.DatetimeIndex:
    """Vectorised ``align_to_session(..., "next")`` for tz-aware timestamps: the first session whose
    close comes after each timestamp (so after-close, weekend and holiday news moves the next session)."""
    stamps = pd.DatetimeIndex(timestamps)
    if stamps.tz is None:
        raise ValueError("align_many needs tz-aware timestamps")
    calendar = _calendar()
    closes = calendar.closes
    positions = closes.searchsorted(stamps.tz_convert("UTC"), side="right")
    if len(positions) and positions.max() >= len(closes):
        late = stamps[positions >= len(closes)][0]
        raise ValueError(
            f"{late.isoformat()} is after the last session the calendar knows ({calendar.last_session.date()})"
        )
    return pd.DatetimeIndex(closes.index[positions]).tz_localize(None)


def parse_announced(text: str) -> pd.Timestamp:
    """A moment with its time zone: ``2025-01-27 09:00 America/New_York``, ``2025-01-27 14:00 UTC`` or ISO-8601 with
    an offset; ValueError saying what to write when there is no zone or the text is not a time."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    words = text.strip().rsplit(None, 1)
    if len(words) == 2 and not words[1][:1].isdigit() and not words[1].startswith(("+", "-")):
        stamp = pd.Timestamp(words[0]) if parses_as_time(words[0]) else None
        if stamp is None or pd.isna(stamp) or stamp.tzinfo is not None:
            raise ValueError(
                "not a time: write e.g. '2025-01-27 09:00 America/New_York' or '2025-01-27T09:00:00-05:00'"
            )
        try:
            zone = ZoneInfo(words[1])
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {words[1]!r}; use an IANA name such as America/New_York or UTC"
            ) from None
        moment = stamp.to_pydatetime().replace(tzinfo=zone)
        if moment.replace(fold=1).utcoffset() != moment.utcoffset() or (
            moment.astimezone(ZoneInfo("UTC")).astimezone(zone).replace(tzinfo=None) != moment.replace(tzinfo=None)
        ):
            raise ValueError(
                f"{words[0]} is skipped or repeated in {words[1]} (a daylight-saving change): "
                "give a UTC offset instead, e.g. '2025-11-02T01:30:00-04:00'"
            )
        return pd.Timestamp(moment)
    stamp = pd.Timestamp(text) if parses_as_time(text) else None
    if stamp is None or pd.isna(stamp):
        raise ValueError("not a time: write e.g. '2025-01-27 09:00 America/New_York' or '2025-01-27T09:00:00-05:00'")
    if stamp.tzinfo is None:
        raise ValueError("no time zone: add one, e.g. '2025-01-27 09:00 America/New_York' or an offset '-05:00'")
    return stamp


def parses_as_time(value: object) -> bool:
    """True when pandas reads ``value`` as a time (catalogue fields and typed moments are checked with it)."""
    try:
        pd.Timestamp(value)
    except (ValueError, TypeError):
        return False
    return True
