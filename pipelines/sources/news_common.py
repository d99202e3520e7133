"""What every news source shares: reading a headline CSV strictly and selecting rows by NY date and ticker."""

from __future__ import annotations

import csv
import html
import re
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

import pandas as pd

from pipelines.errors import DataValidationError
from pipelines.secrets import mask_values

NEW_YORK = "America/New_York"

_LINE = re.compile(r"line (\d+)")


def read_csv_table(path: Path) -> pd.DataFrame:
    """Every cell of a UTF-8 CSV file as text ('' when empty); a malformed file raises naming it and the line."""
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except pd.errors.EmptyDataError:
        raise DataValidationError(str(path), "empty file: no header row") from None
    except pd.errors.ParserError as exc:
        line = _LINE.search(str(exc))
        where = f" at line {line.group(1)}" if line else ""
        raise DataValidationError(str(path), f"malformed CSV{where}: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise DataValidationError(str(path), f"not UTF-8 text (byte {exc.start}): {exc.reason}") from exc


def read_csv_header(path: Path) -> list[str]:
    """The column names in the first line of a CSV file (cheap: the rows are read by the parser chosen)."""
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            return next(csv.reader(handle), [])
    except UnicodeDecodeError as exc:
        raise DataValidationError(str(path), f"not UTF-8 text (byte {exc.start}): {exc.reason}") from exc
    except csv.Error as exc:
        raise DataValidationError(str(path), f"unreadable CSV header: {exc}") from exc


def clean_text(value: object) -> str | None:
    """Vendor text with HTML entities decoded (``&amp;`` -> ``&``) and any secret a server echoed masked;
    None when absent or blank."""
    if not isinstance(value, str):
        return None
    text = mask_values(html.unescape(value)).strip()
    return text or None


def domain_of(address: object) -> str | None:
    """The host of a URL or bare site name without ``www.`` (``https://www.fool.com/x`` -> ``fool.com``)."""
    text = clean_text(address)
    if text is None:
        return None
    try:
        host = urlsplit(text if "//" in text else f"//{text}").hostname
    except ValueError:  # e.g. "Invalid IPv6 URL" for a stray '[': no publisher, not a failed ingestion
        return None
    return host.removeprefix("www.") if host else None


def select_headlines(frame: pd.DataFrame, tickers: Sequence[str], start: date, end: date) -> pd.DataFrame:
    """Rows of a canonical headline frame published on New York dates start..end (inclusive) that
    mention at least one of ``tickers`` (all rows when ``tickers`` is empty)."""
    first, last = pd.Timestamp(start).date(), pd.Timestamp(end).date()
    ny_dates = frame["published_at"].dt.tz_convert(NEW_YORK).dt.date
    keep = (ny_dates >= first) & (ny_dates <= last)
    wanted = {t.strip().upper() for t in tickers if t.strip()}
    if wanted:
        keep &= frame["tickers"].map(lambda ts: not wanted.isdisjoint(ts))
    out = frame.loc[keep].reset_index(drop=True)
    out["tickers"] = out["tickers"].map(list)
    return out
