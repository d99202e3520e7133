"""A small JSON-over-HTTP client for the API sources: bounded retries on transient failures, keys redacted.

Timeouts, broken connections, 429 (honouring ``Retry-After``, capped) and 5xx are retried with
exponential backoff and end in :class:`TransientSourceError`; other 4xx answers and bodies that are
not JSON end in :class:`SourceError`. No message or log line ever carries an API key: query values
of ``apikey``/``api_key``/``token`` are replaced by ``***``.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests

from pipelines import settings
from pipelines.errors import SourceError, TransientSourceError

log = logging.getLogger(__name__)

_SECRET = re.compile(r"(?i)\b(api[_-]?key|apikey|access_token|token)=([^&\s'\"]+)")
_TRANSIENT_EXCEPTIONS = (requests.Timeout, requests.ConnectionError, requests.exceptions.ChunkedEncodingError)


def redact(text: str) -> str:
    """``text`` with the value of every ``apikey=``/``api_key=``/``token=`` query parameter hidden."""
    return _SECRET.sub(lambda m: f"{m.group(1)}=***", text)


class _RedactRecords(logging.Filter):
    """Hides API keys in records of loggers we do not own: urllib3 logs each request line at DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        return True


logging.getLogger("urllib3.connectionpool").addFilter(_RedactRecords())


def shown_url(url: str, params: Mapping[str, Any] | None = None) -> str:
    """The full request URL as it may appear in messages: with its query, without secrets."""
    prepared = requests.Request("GET", url, params=dict(params or {})).prepare().url
    return redact(prepared or url)


def _retry_after(response: requests.Response) -> float | None:
    """Seconds the server asked us to wait (``Retry-After`` as seconds or an HTTP date), if any."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def get_json(
    url: str,
    params: Mapping[str, Any] | None = None,
    *,
    origin: str,
    timeout: float = 30,
    max_retries: int = 3,
    backoff: float = 1.0,
    session: requests.Session | None = None,
    retry_after_cap: float = 60.0,
    sleep: Callable[[float], None] = time.sleep,
) -> Any:
    """GET ``url`` with ``params`` and return the decoded JSON body, or raise naming ``origin``.

    ``max_retries`` is the number of retries after the first attempt; the n-th retry waits
    ``backoff * 2**(n-1)`` seconds, or the server's ``Retry-After`` (at most ``retry_after_cap``).
    """
    if max_retries < 0:
        raise ValueError(f"max_retries must be >= 0, got {max_retries}")
    shown = shown_url(url, params)
    http = session if session is not None else requests.Session()
    attempt = 0
    try:
        while True:
            wait = backoff * 2**attempt
            try:
                response = http.get(url, params=params, timeout=timeout)
            except _TRANSIENT_EXCEPTIONS as exc:
                # Re-raised below as our own error with the redacted text; the original is not chained
                # because its message and traceback carry the URL with the API key.
                problem = f"{type(exc).__name__}: {redact(str(exc))}"
            except requests.RequestException as exc:
                raise SourceError(origin, f"request to {shown} failed: {type(exc).__name__}: {redact(str(exc))}") from None
            else:
                status = response.status_code
                if status == 429:
                    problem = "HTTP 429 Too Many Requests"
                    asked = _retry_after(response)
                    if asked is not None:
                        wait = min(asked, retry_after_cap)
                elif status >= 500:
                    problem = f"HTTP {status} {response.reason}"
                elif status >= 400:
                    body = redact(response.text[:200].strip())
                    raise SourceError(origin, f"HTTP {status} {response.reason} from {shown}: {body!r}")
                else:
                    return _decode(response, shown, origin)
            if attempt == max_retries:
                raise TransientSourceError(origin, f"gave up on {shown} after {attempt + 1} attempt(s): {problem}")
            attempt += 1
            log.warning("%s: %s from %s; retry %d/%d in %.2fs", origin, problem, shown, attempt, max_retries, wait)
            sleep(wait)
    finally:
        if session is None:
            http.close()


def _decode(response: requests.Response, shown: str, origin: str) -> Any:
    """The JSON body of a 2xx answer, or a SourceError naming the URL (a truncated body is not data)."""
    try:
        return response.json()
    except ValueError as exc:
        detail = getattr(exc, "msg", str(exc))
        position = getattr(exc, "pos", None)
        where = f" at character {position}" if position is not None else ""
        raise SourceError(
            origin, f"answer from {shown} is not valid JSON ({detail}{where}; {len(response.content)} bytes)"
        ) from exc


class KeyedJsonApi:
    """What every keyed JSON news API shares: its key read from the environment (never logged), its base
    URL, and the timeout and retry settings handed to :func:`get_json`."""

    name: str
    api_key_env: str
    default_url: str

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        session: requests.Session | None = None,
        timeout: float = 30,
        *,
        max_retries: int = 3,
        backoff: float = 1.0,
    ) -> None:
        self._api_key = api_key
        self.base_url = base_url or self.default_url
        self.session = session
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff

    def _key(self) -> str:
        key = self._api_key or settings.secret(self.api_key_env)
        if not key:
            raise SourceError(self.name, f"no API key: set the environment variable {self.api_key_env} or pass api_key=")
        return key

    def _get(self, params: Mapping[str, Any]) -> Any:
        """One GET of the API with this source's timeout and retries."""
        return get_json(self.base_url, params, origin=self.name, timeout=self.timeout,
                        max_retries=self.max_retries, backoff=self.backoff, session=self.session)
