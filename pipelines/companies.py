"""The company profiles (data/companies.yaml): load and validate them, and the entity linker built from them."""

from __future__ import annotations

import difflib
import re
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from models.sentiment.entities import KINDS, RELATIONS, Company, EntityLinker, with_profiles
from models.sentiment.text import Target
from pipelines.errors import DataValidationError, LocatedError
from pipelines.locations import data_file

COMPANIES = data_file("companies.yaml")
REQUIRED = ("ticker", "kind", "name", "legal_name", "role")
LISTS = ("aliases", "cashtags", "products", "people", "competitors", "suppliers", "customers", "markets")
FIELDS = REQUIRED + LISTS
_TICKER = re.compile(r"^[A-Z][A-Z.]{0,5}$")
_CASHTAG = re.compile(r"^\$[A-Z][A-Z.]{0,5}$")


class UnknownCompanyError(LocatedError):
    """A ticker that has no profile in the companies file."""


def load_companies(path: Path | None = None) -> tuple[Company, ...]:
    """Every company of the file, in file order, with its profile line; an invalid entry raises naming the file, ticker and field."""
    return _load(path or COMPANIES)[0]


def load_linker(path: Path | None = None) -> EntityLinker:
    """An entity linker over the file's companies and the outside names declared under ``others``."""
    companies, others = _load(path or COMPANIES)
    return EntityLinker(companies, others)


@cache
def default_linker() -> EntityLinker:
    """The linker over the shipped data/companies.yaml, built once per process."""
    return load_linker()


def company(ticker: str) -> Company:
    """The shipped profile of ``ticker`` (any case); an unknown ticker raises with a suggestion and the known ones."""
    companies = default_linker().companies
    wanted = (ticker or "").strip().upper()
    if wanted in companies:
        return companies[wanted]
    close = difflib.get_close_matches(wanted, list(companies), n=1)
    hint = f"did you mean {close[0]}? " if close else ""
    raise UnknownCompanyError(
        str(COMPANIES), f"unknown ticker {ticker!r}; {hint}known tickers: {', '.join(companies)}", ticker=ticker,
    )


def _load(path: Path) -> tuple[tuple[Company, ...], dict[str, tuple[str, ...]]]:
    origin = str(path)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise DataValidationError(origin, f"cannot read the company profiles: {error}") from error
    if not isinstance(document, dict):
        raise DataValidationError(origin, "expected a mapping with 'companies' and 'others'")
    extra = sorted(set(document) - {"companies", "others"})
    if extra:
        raise DataValidationError(origin, "unknown top-level key; use 'companies' and 'others'", field=str(extra[0]))
    entries = document.get("companies")
    if not isinstance(entries, list) or not entries:
        raise DataValidationError(origin, "expected a non-empty list under 'companies'", field="companies")
    others = _parse_others(document.get("others"), origin)
    companies: list[Company] = []
    for number, entry in enumerate(entries, start=1):
        parsed = _parse_entry(entry, origin, number)
        if any(c.ticker == parsed.ticker for c in companies):
            raise DataValidationError(origin, "duplicate ticker", row=number, ticker=parsed.ticker, field="ticker")
        companies.append(parsed)
    _check_relations(companies, others, origin)
    _check_unique_names(companies, others, origin)
    return with_profiles(companies), others


def _parse_others(section: object, origin: str) -> dict[str, tuple[str, ...]]:
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise DataValidationError(origin, "'others' must map outside company names to lists of their other names", field="others")
    others: dict[str, tuple[str, ...]] = {}
    for name, aliases in section.items():
        if not isinstance(name, str) or not name.strip():
            raise DataValidationError(origin, f"outside company name {name!r} must be text", field="others")
        if aliases is not None and not _is_text_list(aliases):
            raise DataValidationError(origin, f"'others' {name!r}: expected a list of names", field="others")
        others[name] = tuple(aliases or ())
    return others


def _parse_entry(entry: object, origin: str, number: int) -> Company:
    if not isinstance(entry, dict):
        raise DataValidationError(origin, "each company must be a mapping", row=number)
    ticker = entry.get("ticker")
    if not isinstance(ticker, str) or not _TICKER.match(ticker):
        raise DataValidationError(origin, f"missing or malformed ticker {ticker!r} (upper-case symbol like NVDA)", row=number, field="ticker")

    def fail(detail: str, field: str) -> DataValidationError:
        return DataValidationError(origin, detail, ticker=ticker, field=field)

    for field in entry:
        if field not in FIELDS:
            close = difflib.get_close_matches(str(field), FIELDS, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise fail(f"unknown field; {hint}allowed: {', '.join(FIELDS)}", str(field))
    for field in REQUIRED:
        if not isinstance(entry.get(field), str) or not entry[field].strip():
            raise fail("missing (must be non-empty text)", field)
    if entry["kind"] not in KINDS:
        raise fail(f"unknown kind {entry['kind']!r}; use one of {', '.join(KINDS)}", "kind")
    for field in LISTS:
        if entry.get(field) is not None and not _is_text_list(entry[field]):
            raise fail("expected a list of non-empty names", field)
    lists: dict[str, Any] = {field: tuple(entry.get(field) or ()) for field in LISTS}
    for tag in lists["cashtags"]:
        if not _CASHTAG.match(tag):
            raise fail(f"cashtag {tag!r} must look like $NVDA", "cashtags")
    if entry["kind"] == "benchmark" and any(lists[relation + "s"] for relation in RELATIONS):
        raise fail("a benchmark has markets, not competitors, suppliers or customers", "kind")
    return Company(ticker, entry["name"], entry["kind"], entry["legal_name"], entry["role"], **lists)


def _is_text_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) and item.strip() for item in value)


def _check_relations(companies: list[Company], others: dict[str, tuple[str, ...]], origin: str) -> None:
    tickers = [c.ticker for c in companies]
    for company in companies:
        seen: dict[str, str] = {}
        for relation in RELATIONS:
            field = relation + "s"
            for item in company.related(relation):
                if item == company.ticker:
                    raise DataValidationError(origin, "a company cannot be its own " + relation, ticker=company.ticker, field=field)
                if item in seen:
                    raise DataValidationError(
                        origin, f"{item!r} is already listed as {seen[item]}; keep one relation per counterpart",
                        ticker=company.ticker, field=field,
                    )
                seen[item] = relation
                if item in tickers or item in others:
                    continue
                if _TICKER.match(item):
                    close = difflib.get_close_matches(item, tickers, n=1)
                    hint = f"did you mean {close[0]}? " if close else ""
                    detail = f"unknown ticker {item!r}; {hint}tickers in this file: {', '.join(tickers)} (or declare it under 'others')"
                else:
                    close = difflib.get_close_matches(item, list(others), n=1)
                    hint = f"did you mean {close[0]!r}? " if close else ""
                    detail = f"unknown company {item!r}; {hint}declare outside companies under 'others'"
                raise DataValidationError(origin, detail, ticker=company.ticker, field=field)


def _check_unique_names(companies: list[Company], others: dict[str, tuple[str, ...]], origin: str) -> None:
    owner: dict[str, str] = {}

    def claim(form: str, who: str, ticker: str | None, field: str) -> None:
        key = form.casefold()
        if key in owner and owner[key] != who:
            raise DataValidationError(origin, f"name {form!r} also stands for {owner[key]}", ticker=ticker, field=field)
        owner[key] = who

    for company in companies:
        for field in ("name", "legal_name", "aliases", "cashtags", "products", "people"):
            value = getattr(company, field)
            for form in (value,) if isinstance(value, str) else value:
                claim(form, company.ticker, company.ticker, field)
    for name, aliases in others.items():
        for form in (name, *aliases):
            claim(form, name, None, "others")


def target_for(ticker: str) -> Target:
    """The scoring target of ``ticker``: its profile's Target, or the bare ticker for one outside the companies file.

    Source tags can name tickers the file does not profile (a user's own universe); they are still scored, by symbol.
    """
    try:
        return company(ticker).target()
    except UnknownCompanyError:
        return Target(ticker, ticker)
