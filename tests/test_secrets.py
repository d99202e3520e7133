"""pipelines.secrets: configured and registered secret values are masked in any text, log record and exception."""

from __future__ import annotations

import logging
import traceback

import pytest

from pipelines import secrets
from pipelines.errors import SourceError

KEY = "s3cr3t+KEY/with=odd&chars"


@pytest.fixture
def configured(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("FMP_API_KEY", KEY)
    return KEY


@pytest.mark.parametrize(
    "text",
    [
        f"https://x/q?token=1&key={KEY}",
        "https://x/q?key=s3cr3t%2BKEY%2Fwith%3Dodd%26chars",
        f'{{"apikey": "{KEY}", "echo": "{KEY}"}}',
        f"X-Echo: Bearer {KEY}",
        repr(ValueError(f"bad key {KEY!r}")),
    ],
)
def test_configured_values_are_masked_whatever_surrounds_them(configured: str, text: str) -> None:
    shown = secrets.redact(text)
    assert "s3cr3t" not in shown and "***" in shown


def test_unknown_query_keys_are_still_hidden_and_short_values_are_not_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALPHAVANTAGE_API_KEY", "abc")
    text = "https://x/q?apikey=AAA&api_key=BBB&x=1 token=CCC API-KEY=DDD abc"
    assert secrets.redact(text) == "https://x/q?apikey=***&api_key=***&x=1 token=*** API-KEY=*** abc"


def test_registered_keys_are_masked_without_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ALPHAVANTAGE_API_KEY", "FMP_API_KEY", "IMPACT_SENTIMENT_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    secrets.register("handed-in-code-9d1")
    assert secrets.redact("error: handed-in-code-9d1 refused") == "error: *** refused"


def test_log_records_are_redacted_when_created(configured: str, caplog: pytest.LogCaptureFixture) -> None:
    secrets.install()
    logger = logging.getLogger("tests.secrets")
    with caplog.at_level(logging.DEBUG, logger="tests.secrets"):
        logger.warning("GET /v1/%s failed", KEY)
        try:
            raise RuntimeError(f"server said {KEY}")
        except RuntimeError:
            logger.exception("with a traceback")
    assert KEY not in caplog.text and "GET /v1/*** failed" in caplog.text and "server said ***" in caplog.text


def test_scrub_redacts_an_exception_and_cuts_a_chain_it_cannot_clean(configured: str) -> None:
    class Opaque(Exception):
        def __str__(self) -> str:
            return f"opaque {KEY}"

    try:
        try:
            raise Opaque()
        except Opaque as inner:
            raise SourceError("fmp", f"answer echoed {KEY}", field="apikey") from inner
    except SourceError as raised:
        error = secrets.scrub(raised)
    text = "".join(traceback.format_exception(error))
    assert KEY not in text and "answer echoed ***" in text and error.detail == "answer echoed ***"
    assert error.__cause__ is None
