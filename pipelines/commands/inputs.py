"""Checks of `impact` command values made before any run starts, so a mistake costs no Dagster run.

Each failure is an :class:`~pipelines.errors.InputError` that names the value and what to do instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from pipelines.errors import InputError, did_you_mean


def check_sessions(first: date, last: date) -> None:
    """Refuse a ``--start``..``--end`` range without an NYSE session (a weekend, a holiday): it has no prices."""
    from models import calendar

    if len(calendar.sessions(first, last)):
        return
    around = []
    for option, nearest in (("--start", calendar.previous_session), ("--end", calendar.next_session)):
        try:
            around.append(f"{option} {nearest(first if option == '--start' else last):%Y-%m-%d}")
        except ValueError:  # beyond the calendar's range
            pass
    hint = f"; the nearest sessions: {' or '.join(around)}" if around else ""
    raise InputError(
        f"no NYSE sessions between {first} and {last}: weekends and market holidays have no prices. "
        f"Widen the range{hint}."
    )


def check_tickers(source: str, tickers: Sequence[str]) -> None:
    """Refuse tickers the price source cannot have; only the demo market's list is known before asking."""
    if source != "demo":
        return
    from pipelines.sources.demo_market import DEMO_UNIVERSE

    for ticker in tickers:
        if ticker not in DEMO_UNIVERSE:
            raise InputError(
                f"--tickers: the demo market has no ticker {ticker!r}; {did_you_mean(ticker, DEMO_UNIVERSE)}"
                f"it has {', '.join(DEMO_UNIVERSE)}"
            )


def check_event(event: str, known: Iterable[str]) -> None:
    """Refuse an event id that is not in the catalogue (or the warehouse's detected events)."""
    known = list(known)
    if event not in known:
        raise InputError(f"unknown event {event!r}; {did_you_mean(event, known)}`impact events --detected` lists them")
