"""Flaky upstream: the real ``headlines`` asset, run by ``run_job`` against a local HTTP server that
stands in for Alpha Vantage, and the ``prices`` asset against a failing (recorded) Yahoo.

Injected per request: timeouts (the server answers after the client's timeout), 429 with
Retry-After, 5xx, truncated JSON (a cut body with a matching length: permanent), a body shorter
than its Content-Length (dropped connection: transient), HTML instead of JSON, empty feeds, and a
failure on one ticker only. Expected: transient faults are retried (HTTP client backoff, then the
Dagster RetryPolicy) and either succeed or fail naming the source and the cause; permanent ones
fail at once without a Dagster retry; a failed run never changes what the warehouse held.

Seam: ``NewsSourceResource`` has no base-URL setting (``make_news_source('alphavantage')`` builds
``AlphaVantageNewsSource()`` with the public URL), so these tests replace
``pipelines.resources.make_news_source`` with one returning the real source class pointed at the
server. Dagster's retry delays (IMPACT_RETRY_DELAY_S, read when the definitions are built: 10 s) are recorded as computed
and then scaled by 1/1000 so the runs stay short.

Security: a fake ALPHAVANTAGE_API_KEY is set in the environment and then searched for in stdout,
stderr, log records, every Dagster event of the runs, the Dagster instance's files, every text
cell of the warehouse and the warehouse's bytes.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import dagster as dg
import pandas as pd
import pytest
from yfinance.data import YfData

from pipelines import resources as resources_module
from pipelines import warehouse
from pipelines.resources import NewsSourceResource, PriceSourceResource
from pipelines.runner import run_job
from pipelines.sources.alphavantage import AlphaVantageNewsSource
from pipelines.sources.yahoo import YahooPriceSource
from tests.loopback import serving
from tests.yahoo_session import RecordedYahooSession

START, END = date(2025, 1, 20), date(2025, 1, 24)
TICKERS = ["MSFT", "NVDA"]
KEY = "FAKE-AV-KEY-7f3a9c2e1d"
HTTP_RETRIES = 2  # the client's retries after the first attempt: 3 requests per ticker per Dagster attempt
DAGSTER_ATTEMPTS = 4  # NETWORK_RETRY: 1 + max_retries=3
CLIENT_TIMEOUT = 0.25


@dataclass
class Reply:
    status: int = 200
    body: object = None  # None: a good feed for the ticker asked about
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    short: bool = False  # announce more bytes than are sent, then close


@dataclass
class Upstream:
    """A scripted Alpha Vantage: ``plan(ticker, n)`` gives the reply to the n-th request about ticker."""

    url: str
    plan: Callable[[str, int], Reply] = lambda ticker, n: Reply()
    asked: list[dict[str, list[str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, ticker: str | None = None) -> int:
        return sum(1 for q in self.asked if ticker is None or q.get("tickers") == [ticker])


def feed(ticker: str) -> dict:
    days = pd.date_range(START, END)
    items = [
        {
            "title": f"{ticker} story of {day:%b %d}",
            "url": f"https://news.example/{ticker}/{day:%Y%m%d}",
            "time_published": f"{day:%Y%m%d}T150000",
            "summary": "s",
            "source": "Example",
            "ticker_sentiment": [{"ticker": ticker}],
        }
        for day in days
    ]
    return {"items": str(len(items)), "feed": items}


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    holder: list[Upstream] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state = holder[0]
            query = parse_qs(urlsplit(self.path).query)
            ticker = query.get("tickers", [""])[0]
            with state.lock:
                n = state.count(ticker)
                state.asked.append(query)
            reply = state.plan(ticker, n)
            if reply.delay:
                time.sleep(reply.delay)
            body = feed(ticker) if reply.body is None else reply.body
            data = body if isinstance(body, bytes) else (body if isinstance(body, str) else json.dumps(body)).encode()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data) + (500 if reply.short else 0)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
            if reply.short:
                self.close_connection = True

        def log_message(self, format: str, *args: object) -> None:
            return

    with serving(Handler) as port:
        holder.append(Upstream(url=f"http://127.0.0.1:{port}/query"))
        yield holder[0]


@pytest.fixture
def delays(monkeypatch) -> list[float]:
    """Dagster retry delays as the RetryPolicy computed them; the run waits 1/1000 of each."""
    seen: list[float] = []
    real = dg.RetryPolicy.calculate_delay

    def scaled(self, attempt_num):
        value = real(self, attempt_num)
        seen.append(float(value))
        return value / 1000

    monkeypatch.setattr(dg.RetryPolicy, "calculate_delay", scaled)
    return seen


@pytest.fixture
def wired(upstream, monkeypatch) -> Upstream:
    """The asset's 'alphavantage' source pointed at the local server (see the module docstring)."""
    real = resources_module.make_news_source

    def make(name, path=None):
        if name == "alphavantage":
            return AlphaVantageNewsSource(base_url=upstream.url, timeout=CLIENT_TIMEOUT, max_retries=HTTP_RETRIES, backoff=0.01)
        return real(name, path)

    monkeypatch.setattr(resources_module, "make_news_source", make)
    monkeypatch.setenv("ALPHAVANTAGE_API_KEY", KEY)
    return upstream


@pytest.fixture
def instance():
    with dg.instance_for_test() as inst:
        yield inst


def _ingest(path: Path, instance):
    return run_job("ingest_news", START, END, warehouse_file=path, instance=instance,
                   news_source=NewsSourceResource(sources=["alphavantage"], tickers=TICKERS))


def _stored(path: Path) -> pd.DataFrame:
    with warehouse.reader(path) as con:
        return con.execute(
            "SELECT headline_id, ny_date, title, url, tickers, source FROM core.headlines ORDER BY headline_id").df()


def _seeded(path: Path, upstream: Upstream, instance) -> pd.DataFrame:
    upstream.plan = lambda ticker, n: Reply()
    outcome = _ingest(path, instance)
    assert outcome.success, outcome.error
    stored = _stored(path)
    assert len(stored) == len(TICKERS) * 5
    upstream.asked.clear()
    return stored


# ---------------------------------------------------------------------------------- transient, then fine


@pytest.mark.parametrize(
    "fault, dagster_retries, min_seconds",
    [
        pytest.param(lambda n: Reply(429, {"Note": "busy"}, {"Retry-After": "1"}) if n == 0 else Reply(), 0, 1.0,
                     id="429-retry-after"),
        pytest.param(lambda n: Reply(503, "Service Unavailable") if n < 2 else Reply(), 0, 0, id="503-twice"),
        pytest.param(lambda n: Reply(delay=CLIENT_TIMEOUT * 3) if n == 0 else Reply(), 0, CLIENT_TIMEOUT, id="timeout-once"),
        pytest.param(lambda n: Reply(short=True) if n == 0 else Reply(), 0, 0, id="dropped-connection"),
        pytest.param(lambda n: Reply(body={"Note": "Thank you for using Alpha Vantage! call frequency is 5 calls per minute"})
                     if n == 0 else Reply(), 1, 0, id="rate-limit-note-then-dagster-retry"),
        pytest.param(lambda n: Reply(500) if n < HTTP_RETRIES + 1 else Reply(), 1, 0, id="500-past-client-then-dagster-retry"),
    ],
)
def test_transient_faults_are_retried_and_the_run_succeeds(tmp_path, wired, instance, delays, fault, dagster_retries,
                                                           min_seconds):
    wired.plan = lambda ticker, n: fault(n) if ticker == "NVDA" else Reply()
    began = time.monotonic()
    outcome = _ingest(tmp_path / "w.duckdb", instance)
    assert outcome.success, outcome.error
    assert all(outcome.checks.values()), outcome.checks
    assert len(_stored(tmp_path / "w.duckdb")) == 10
    assert wired.count("NVDA") >= 2
    assert (len(delays) >= 1) == (dagster_retries > 0), delays
    assert time.monotonic() - began >= min_seconds, "the server's Retry-After / the client timeout was not waited for"


# ---------------------------------------------------------------------------------- gives up, writes nothing


@pytest.mark.parametrize(
    "reply, named",
    [
        pytest.param(Reply(500, "boom"), "HTTP 500", id="500-forever"),
        pytest.param(Reply(429, "slow down", {"Retry-After": "0"}), "HTTP 429", id="429-forever"),
        pytest.param(Reply(delay=CLIENT_TIMEOUT * 2.5), "Timeout", id="timeout-forever"),
    ],
)
def test_persistent_transient_faults_exhaust_both_retry_layers(tmp_path, wired, instance, delays, reply, named):
    path = tmp_path / "w.duckdb"
    before = _seeded(path, wired, instance)
    wired.plan = lambda ticker, n: reply if ticker == "NVDA" else Reply()
    outcome = _ingest(path, instance)
    assert not outcome.success
    assert "alphavantage" in outcome.error and "gave up" in outcome.error and named in outcome.error, outcome.error
    assert wired.count("NVDA") == DAGSTER_ATTEMPTS * (HTTP_RETRIES + 1)
    # Dagster computes a delay per failed attempt (the last one unused): ~10, ~30, ~70 s with the default 10 s.
    assert len(delays) >= DAGSTER_ATTEMPTS - 1
    assert delays == sorted(delays) and delays[-1] > delays[0], f"Dagster backoff does not grow: {delays}"
    pd.testing.assert_frame_equal(_stored(path), before)  # MSFT's good answer was not written alone


@pytest.mark.parametrize(
    "reply, named",
    [
        pytest.param(Reply(body=json.dumps(feed("NVDA"))[:150]), "not valid JSON", id="truncated-json"),
        pytest.param(Reply(body="<html>maintenance</html>"), "not valid JSON", id="html"),
        pytest.param(Reply(403, "forbidden"), "HTTP 403", id="403"),
        pytest.param(Reply(body={"Error Message": "Invalid API call."}), "Invalid API call", id="error-message"),
        pytest.param(Reply(body={"feed": [{"title": "x", "url": "u", "time_published": "soon"}]}), "time_published",
                     id="bad-row"),
        pytest.param(Reply(body=[1, 2]), "not an object", id="wrong-shape"),
    ],
)
def test_permanent_faults_fail_at_once_and_write_nothing(tmp_path, wired, instance, delays, reply, named):
    path = tmp_path / "w.duckdb"
    before = _seeded(path, wired, instance)
    wired.plan = lambda ticker, n: reply if ticker == "NVDA" else Reply()
    outcome = _ingest(path, instance)
    assert not outcome.success
    assert "alphavantage" in outcome.error and named in outcome.error, outcome.error
    assert wired.count("NVDA") == 1, "a permanent fault was retried"
    assert delays == [], "Dagster retried a permanent failure"
    pd.testing.assert_frame_equal(_stored(path), before)


def test_empty_answer_does_not_erase_stored_headlines(tmp_path, wired, instance, delays):
    """Both tickers answer an empty feed for a range the warehouse already holds."""
    path = tmp_path / "w.duckdb"
    before = _seeded(path, wired, instance)
    wired.plan = lambda ticker, n: Reply(body={"items": "0", "feed": []})
    outcome = _ingest(path, instance)
    after = _stored(path)
    assert len(after) == len(before) or not outcome.success, (
        f"an empty upstream answer wiped {len(before) - len(after)} stored headlines and the run succeeded")
    if not outcome.success:
        assert "alphavantage" in outcome.error and "no headlines" in outcome.error, outcome.error
    pd.testing.assert_frame_equal(after, before)


def test_empty_answer_on_a_fresh_range_records_zero_rows(tmp_path, wired, instance):
    """Quiet days are legitimate for news: nothing stored, nothing lost, the run succeeds."""
    wired.plan = lambda ticker, n: Reply(body={"items": "0", "feed": []})
    outcome = _ingest(tmp_path / "w.duckdb", instance)
    assert outcome.success, outcome.error
    assert outcome.metadata["rows"] == 0


# ---------------------------------------------------------------------------------- prices: a failing Yahoo


def test_prices_asset_gives_up_on_a_rate_limited_yahoo_and_writes_nothing(tmp_path, instance, delays, monkeypatch):
    session = RecordedYahooSession()
    monkeypatch.setattr(resources_module, "make_price_source", lambda name, path=None: YahooPriceSource(session=session))
    path = tmp_path / "w.duckdb"
    good = run_job("ingest_prices", date(2025, 1, 21), date(2025, 1, 24), warehouse_file=path, instance=instance,
                   price_source=PriceSourceResource(source="yahoo", tickers=["NVDA"]))
    assert good.success, good.error
    with warehouse.reader(path) as con:
        before = con.execute("SELECT * EXCLUDE (ingested_at) FROM core.prices ORDER BY ALL").df()
    YfData.cache_get.cache_clear()  # yfinance memoises past ranges in-process: make the retry ask Yahoo again
    session.fail_status = 429
    outcome = run_job("ingest_prices", date(2025, 1, 21), date(2025, 1, 24), warehouse_file=path, instance=instance,
                      price_source=PriceSourceResource(source="yahoo", tickers=["NVDA"]))
    assert not outcome.success
    assert "yahoo" in outcome.error and "NVDA" in outcome.error and "429" in outcome.error, outcome.error
    assert len(delays) >= DAGSTER_ATTEMPTS - 1
    with warehouse.reader(path) as con:
        pd.testing.assert_frame_equal(con.execute("SELECT * EXCLUDE (ingested_at) FROM core.prices ORDER BY ALL").df(), before)


# ---------------------------------------------------------------------------------- the API key stays secret


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_api_key_is_never_logged_or_stored(tmp_path, wired, delays, capfd, caplog):
    """The server echoes the key every way it can; after real Dagster runs it is nowhere, byte for byte."""
    caplog.set_level(logging.DEBUG)
    home = tmp_path / "dagster"
    home.mkdir()
    path = tmp_path / "w.duckdb"
    closed = _closed_port()
    plans = {
        "retry logs the URL": (True, lambda t, n: Reply(503) if n == 0 else Reply()),
        "gives up: error text, Dagster retries, failure event": (False, lambda t, n: Reply(500)),
        "error body echoes apikey=": (False, lambda t, n: Reply(400, f"bad request for {wired.url}?apikey={KEY}")
                                      if t == "NVDA" else Reply()),
        "error body echoes the bare key": (False, lambda t, n: Reply(401, {"error": f"key {KEY} is not valid", "you": KEY})),
        "a 200 answer echoes it into a field that fails validation": (
            False, lambda t, n: Reply(body={"feed": [{"title": f"t {KEY}", "url": f"https://x/{KEY}",
                                                      "time_published": f"at {KEY}"}]})),
        "a vendor notice quotes it": (False, lambda t, n: Reply(body={"Error Message": f"the key {KEY} is invalid."})),
        "headers echo it, then a good answer": (True, lambda t, n: Reply(503, "busy", {"X-Your-Key": KEY, "Retry-After": "0"})
                                                if n == 0 else Reply()),
        "redirect with the key in the path, then 500s": (
            False, lambda t, n: Reply(500) if t == "MOVED" else Reply(302, "", {"Location": f"/moved/{KEY}?tickers=MOVED"})),
        "redirect to a dead port with the key in the path": (
            False, lambda t, n: Reply(307, "", {"Location": f"http://127.0.0.1:{closed}/gone/{KEY}/query?apikey={KEY}"})),
    }
    runs = {}
    with dg.instance_for_test(temp_dir=str(home)) as instance:
        for name, (_, plan) in plans.items():
            wired.plan = plan
            runs[name] = _ingest(path, instance)
        assert {name: run.success for name, run in runs.items()} == {name: ok for name, (ok, _) in plans.items()}
        events = [dg.serialize_value(record) for run in runs.values() for record in instance.all_logs(run.run_id)]
        assert len(events) > 20
        run_records = [dg.serialize_value(instance.get_run_by_id(run.run_id)) for run in runs.values()]
    out, err = capfd.readouterr()
    texts = {"stdout": out, "stderr": err, "log records": caplog.text,
             "run errors": " ".join(r.error or "" for r in runs.values()),
             "dagster events": "\n".join(events), "dagster runs": "\n".join(run_records)}
    with warehouse.reader(path) as con:
        tables = con.execute(
            "SELECT table_schema || '.' || table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'").fetchall()
        texts["warehouse rows"] = "\n".join(
            con.execute(f"SELECT * FROM {name}").df().astype(str).to_csv() for (name,) in tables)
    for name, text in texts.items():
        assert KEY not in text, f"the API key leaked into {name}"
    assert "apikey=***" in texts["log records"] or "apikey=***" in texts["run errors"], "redaction not exercised"
    assert "***" in runs["error body echoes the bare key"].error, runs["error body echoes the bare key"].error
    assert "time_published" in runs["a 200 answer echoes it into a field that fails validation"].error
    files = [file for file in tmp_path.rglob("*") if file.is_file()]
    assert any(file.suffix == ".db" for file in files), "no Dagster storage found to search"
    for file in files:
        assert KEY.encode() not in file.read_bytes(), f"the API key is stored in {file}"
