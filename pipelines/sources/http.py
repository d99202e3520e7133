"""The one JSON-over-HTTP client (GET for the news APIs, POST for the inference server): bounded retries, no secrets.

Timeouts, broken connections, 408, 429 (honouring ``Retry-After``, capped) and 5xx are retried with
exponential backoff and end in :class:`TransientSourceError`; other 4xx answers (and statuses the
caller names in ``final``) end at once in :class:`HttpStatusError`, bodies that are not JSON in
:class:`SourceError`. No message or log line carries a secret: every text goes through
:func:`pipelines.secrets.redact` (the literal values of the configured keys, and ``apikey=`` query
values), an error body is quoted only after that and cut to 200 characters, and exceptions of
``requests`` (whose texts hold the request URL) are never chained. A key sent over plain ``http://``
is warned about once per host.
"""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests

from pipelines import secrets, settings
from pipelines.errors import SourceError, TransientSourceError

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)
secrets.install()

_TRANSIENT_EXCEPTIONS = (requests.Timeout, requests.ConnectionError, requests.exceptions.ChunkedEncodingError)
_warned: set[tuple[str, str]] = set()
_warned_lock = threading.Lock()


class HttpStatusError(SourceError):
    """The server answered a status that is not retried (a 4xx, or one the caller listed as final)."""

    def __init__(self, origin: str, detail: str, *, status: int) -> None:
        super().__init__(origin, detail)
        self.status = status


def shown_url(url: str, params: Mapping[str, Any] | None = None) -> str:
    """The full request URL as it may appear in messages: with its query, without secrets."""
    prepared = requests.Request("GET", url, params=dict(params or {})).prepare().url
    return secrets.redact(prepared or url)


def warn_plain_http(url: str, origin: str) -> None:
    """Warn once per (origin, host) that a key is about to travel unencrypted over ``http://``."""
    parts = urlsplit(url)
    if parts.scheme != "http":
        return
    with _warned_lock:
        if (origin, parts.netloc) in _warned:
            return
        _warned.add((origin, parts.netloc))
    log.warning("%s: the API key is sent in clear text to http://%s (plain http://); use https:// unless this "
                "is a server on your own machine", origin, parts.netloc)


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


def get_json(url: str, params: Mapping[str, Any] | None = None, *, origin: str, **options: Any) -> Any:
    """GET ``url`` with query ``params``: the decoded JSON body (see :func:`request_json` for ``options``)."""
    return request_json("GET", url, origin=origin, params=params, **options)


def request_json(
    method: str,
    url: str,
    *,
    origin: str,
    params: Mapping[str, Any] | None = None,
    json: Any = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 30,
    max_retries: int = 3,
    backoff: float = 1.0,
    session: requests.Session | None = None,
    retry_after_cap: float = 60.0,
    final: Collection[int] = (),
    sleep: Callable[[float], None] = time.sleep,
) -> Any:
    """Send ``method`` to ``url`` and return the decoded JSON answer, or raise a SourceError naming ``origin``.

    ``max_retries`` is the number of retries after the first attempt; the n-th retry waits
    ``backoff * 2**(n-1)`` seconds, or the server's ``Retry-After`` (at most ``retry_after_cap``).
    A status in ``final`` raises :class:`HttpStatusError` at once, even one otherwise retried.
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
                response = http.request(method, url, params=params, json=json, headers=headers, timeout=timeout)
            except _TRANSIENT_EXCEPTIONS as exc:
                # Re-raised below as our own error with the redacted text; the original is not chained
                # because its message and traceback carry the URL with the API key.
                problem = f"{type(exc).__name__}: {secrets.redact(str(exc))}"
            except requests.RequestException as exc:
                raise SourceError(origin, f"request to {shown} failed: {type(exc).__name__}: {secrets.redact(str(exc))}") from None
            else:
                status = response.status_code
                if status in final or (400 <= status < 500 and status not in (408, 429)):
                    body = secrets.redact(response.text).strip()[:200]
                    raise HttpStatusError(origin, f"HTTP {status} {response.reason} from {shown}: {body!r}", status=status)
                if status == 429:
                    problem = "HTTP 429 Too Many Requests"
                    asked = _retry_after(response)
                    if asked is not None:
                        wait = min(asked, retry_after_cap)
                elif status >= 500 or status == 408:
                    problem = f"HTTP {status} {response.reason}"
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


class KeyedJsonApi(ABC):
    """What every keyed JSON news API shares: its key read from the environment (never logged), its base
    URL, the timeout and retry settings handed to :func:`get_json`, and errors scrubbed of secrets.

    Subclasses implement ``_fetch_headlines``; :meth:`fetch_headlines` redacts whatever it raises
    (a 200 answer that echoes the key into a field that then fails validation, say) before the
    error reaches Dagster's event log or the CLI.
    """

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
        secrets.register(api_key)
        self._api_key = api_key
        self.base_url = base_url or self.default_url
        self.session = session
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff

    def fetch_headlines(self, tickers: Sequence[str], start: date, end: date) -> pd.DataFrame:
        """Headlines published on New York dates start..end about any of ``tickers`` (all news when empty)."""
        try:
            return self._fetch_headlines(tickers, start, end)
        except Exception as error:
            secrets.scrub(error)
            raise

    @abstractmethod
    def _fetch_headlines(self, tickers: Sequence[str], start: date, end: date) -> pd.DataFrame:
        """The source's own fetch; what it raises is scrubbed by :meth:`fetch_headlines`."""

    def _key(self) -> str:
        key = self._api_key or settings.secret(self.api_key_env)
        if not key:
            raise SourceError(self.name, f"no API key: set the environment variable {self.api_key_env} or pass api_key=")
        warn_plain_http(self.base_url, self.name)
        return key

    def _get(self, params: Mapping[str, Any]) -> Any:
        """One GET of the API with this source's timeout and retries."""
        return get_json(self.base_url, params, origin=self.name, timeout=self.timeout,
                        max_retries=self.max_retries, backoff=self.backoff, session=self.session)
