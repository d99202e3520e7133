"""The project's own errors: each names the source, file, ticker, date, row or field at fault."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any


class ImpactError(Exception):
    """Base class for every error the product raises on purpose; `impact` prints its message, no trace."""

    exit_code = 1
    """The exit status of an `impact` command that this error ends."""


class InputError(ImpactError):
    """A value given to a command that it cannot use (unknown event or ticker, bad window, unreadable file)."""


class OutputError(ImpactError):
    """An ``--out`` path that would overwrite data (the warehouse, the Dagster home, an existing file)."""


class RunFailed(ImpactError):
    """A Dagster run of an `impact` command failed; the message is the failing step's own error."""


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``"did you mean X? "`` for the choice closest to ``word``, or ``""`` when none is close."""
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f"did you mean {close[0]}? " if close else ""


class LocatedError(ImpactError):
    """An error that says where it happened: ``origin`` plus any of ticker, date, row, field."""

    def __init__(
        self,
        origin: str,
        detail: str,
        *,
        ticker: str | None = None,
        date: Any = None,
        row: int | None = None,
        field: str | None = None,
    ) -> None:
        self.origin = origin
        self.detail = detail
        self.ticker = ticker
        self.date = date
        self.row = row
        self.field = field
        where = [origin]
        if row is not None:
            where.append(f"row {row}")
        if ticker is not None:
            where.append(f"ticker {ticker}")
        if date is not None:
            where.append(f"date {str(date)[:10]}")
        if field is not None:
            where.append(f"field '{field}'")
        super().__init__(f"{', '.join(where)}: {detail}")


class SourceError(LocatedError):
    """A source could not deliver: unknown ticker, empty answer, refused request."""


class TransientSourceError(SourceError):
    """A source failed in a way that may pass (timeout, 429, 5xx): worth a retry."""


class DataValidationError(LocatedError):
    """Rows arrived but break the contract: malformed file, NaN or negative price, duplicate date."""


class WarehouseError(ImpactError):
    """The warehouse cannot be opened or written (locked, read-only path, disk full)."""
