"""Secrets never leave the process: every text we log, raise or store passes through :func:`redact`.

A shared leaf (standard library and :mod:`pipelines.settings` only). :func:`redact` replaces the
literal value of every configured secret (the variables ``pipelines/settings.py`` marks
``secret=True``, read from the environment when called) and of every key handed to a client in code
(:func:`register`), whatever surrounds it: a URL (also percent-encoded), a JSON body, a header echo,
an exception's text. It also hides ``apikey=``/``api_key=``/``token=`` query values it does not know.

:func:`install` hooks the redaction into Python logging once per process: every log record is
redacted when it is created (our loggers, urllib3's request lines, Dagster's ``context.log`` and the
records Dagster captures), so no handler added later can see a secret. :func:`scrub` redacts an
exception and its cause chain in place before it is raised on, so Dagster's stored step failures
and the CLI's messages carry none.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Iterator
from urllib.parse import quote, quote_plus

from pipelines import settings

MASK = "***"
MIN_LENGTH = 4
"""Shorter values are not treated as secrets: masking every "abc" in every message would hide data, not keys."""

_PARAM = re.compile(r"(?i)\b(api[_-]?key|apikey|access_token|token)=([^&\s'\"]+)")
_registered: set[str] = set()
_lock = threading.Lock()
_installed = False


def register(value: str | None) -> None:
    """Treat ``value`` as a secret from now on (a key passed to a client directly, not through the environment)."""
    if value and len(value) >= MIN_LENGTH:
        with _lock:
            _registered.add(value)


def secret_values() -> list[str]:
    """Every secret value known now: the configured secret variables that are set, and the registered keys."""
    found = {settings.secret(name) or "" for name in settings.SECRETS} | _registered
    return sorted((v for v in found if len(v) >= MIN_LENGTH), key=len, reverse=True)


def _spellings(value: str) -> Iterator[str]:
    """The forms a value takes in transit: as is, percent-encoded (path, query) and JSON-escaped."""
    yield value
    yield quote(value, safe="")
    yield quote_plus(value, safe="")
    yield json.dumps(value)[1:-1]


def mask_values(text: str) -> str:
    """``text`` with every known secret value, in each of its spellings, replaced by ``***`` (nothing else changed)."""
    for value in secret_values():
        for spelling in dict.fromkeys(_spellings(value)):
            if spelling in text:
                text = text.replace(spelling, MASK)
    return text


def redact(text: str) -> str:
    """``text`` with every known secret value and every ``apikey=``-style query value replaced by ``***``."""
    return _PARAM.sub(lambda m: f"{m.group(1)}={MASK}", mask_values(text))


def _redact_record(record: logging.LogRecord) -> None:
    """Redact a record in place: its formatted message and, when it carries one, its exception text."""
    try:
        message = record.getMessage()
    except Exception:  # a malformed call: logging reports it when the record is emitted
        return
    cleaned = redact(message)
    if cleaned != message:
        record.msg, record.args = cleaned, ()
    if record.exc_info and record.exc_info[1] is not None:
        scrub(record.exc_info[1])
        if record.exc_text:
            record.exc_text = redact(record.exc_text)


class RedactingFilter(logging.Filter):
    """A logging filter that redacts records instead of dropping them (for handlers a caller builds itself)."""

    def filter(self, record: logging.LogRecord) -> bool:
        _redact_record(record)
        return True


def install() -> None:
    """Redact every log record of this process when it is created (idempotent; cheap while no secret is set)."""
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
    make = logging.getLogRecordFactory()

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = make(*args, **kwargs)
        if secret_values():
            _redact_record(record)
        return record

    logging.setLogRecordFactory(factory)


def scrub(error: BaseException) -> BaseException:
    """Redact ``error`` and every exception in its cause/context chain in place; returns ``error``.

    Texts are rebuilt from redacted ``args`` (and a located error's ``detail``); a link whose text still
    shows a secret afterwards (a custom ``__str__``, a URL kept in an attribute) is cut from the chain.
    """
    seen: set[int] = set()
    previous: BaseException | None = None
    link: BaseException | None = error
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        link.args = tuple(redact(a) if isinstance(a, str) else a for a in link.args)
        if isinstance(getattr(link, "detail", None), str):
            link.detail = redact(link.detail)  # type: ignore[attr-defined]
        if previous is not None and _shows_secret(link):
            previous.__cause__, previous.__context__, previous.__suppress_context__ = None, None, True
            break
        previous = link
        link = link.__cause__ or (None if link.__suppress_context__ else link.__context__)
    return error


def _shows_secret(error: BaseException) -> bool:
    """Whether the text or repr of ``error`` still holds a known secret value."""
    try:
        text = f"{error}\n{error!r}"
    except Exception:
        return True
    return mask_values(text) != text
