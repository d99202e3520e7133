"""News sources: the HTTP client, Alpha Vantage and FMP (against a local server), file parsers, real exports."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest

from pipelines.errors import DataValidationError, SourceError, TransientSourceError
from pipelines.secrets import redact
from pipelines.sources import alphavantage, fmp
from pipelines.sources.alphavantage import (
    AlphaVantageNewsSource,
    parse_time_published,
    read_alphavantage_csv,
)
from pipelines.sources.base import HEADLINE_COLUMNS
from pipelines.sources.fmp import FmpNewsSource, read_fmp_csv
from pipelines.sources.http import get_json
from pipelines.sources.news_common import read_csv_table
from pipelines.sources.news_files import FileNewsSource, read_headline_file
from tests.loopback import serving

FIXTURES = Path(__file__).parent / "fixtures" / "news"
BAD = FIXTURES / "bad"
SECRET = "SECRETKEY123"


# --------------------------------------------------------------------------- local HTTP server


@dataclass
class Reply:
    status: int = 200
    body: bytes | str | object = b"{}"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Script:
    """Replies served in order (the last one repeats) and the requests received."""

    url: str
    replies: list[Reply] = field(default_factory=list)
    requests: list[dict[str, list[str]]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)

    def reply(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    def next_reply(self) -> Reply:
        return self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]


@pytest.fixture
def server() -> Iterator[Script]:
    holder: list[Script] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            script = holder[0]
            split = urlsplit(self.path)
            script.paths.append(split.path)
            script.requests.append(parse_qs(split.query))
            reply = script.next_reply()
            if reply.delay:
                time.sleep(reply.delay)
            body = reply.body
            if not isinstance(body, (bytes, str)):
                body = json.dumps(body)
            data = body.encode("utf-8") if isinstance(body, str) else body
            # The client may have given up (timeout tests): a closed socket is expected here.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            return

    with serving(Handler) as port:
        holder.append(Script(url=f"http://127.0.0.1:{port}"))
        yield holder[0]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Waits(list):
    """A stand-in for time.sleep that records the waits."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def _full_text(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc))


# --------------------------------------------------------------------------- http client


def test_get_json_returns_body_and_sends_params(server: Script) -> None:
    server.reply(Reply(body={"ok": [1, 2]}))
    assert get_json(f"{server.url}/q", {"a": "1", "apikey": SECRET}, origin="t") == {"ok": [1, 2]}
    assert server.requests == [{"a": ["1"], "apikey": [SECRET]}]


def test_429_honours_retry_after_then_succeeds(server: Script) -> None:
    server.reply(Reply(429, b"slow down", {"Retry-After": "7"}), Reply(body={"ok": True}))
    waits = Waits()
    assert get_json(f"{server.url}/q", {}, origin="t", backoff=0.01, sleep=waits) == {"ok": True}
    assert waits == [7.0] and len(server.requests) == 2


def test_retry_after_is_capped_and_backoff_grows(server: Script) -> None:
    server.reply(Reply(429, b"", {"Retry-After": "9999"}), Reply(503, b"busy"), Reply(body=[]))
    waits = Waits()
    assert get_json(f"{server.url}/q", {}, origin="t", backoff=0.5, retry_after_cap=2.5, sleep=waits) == []
    assert waits == [2.5, 1.0]


def test_retry_after_as_http_date(server: Script) -> None:
    when = formatdate(time.time() + 30, usegmt=True)
    server.reply(Reply(429, b"", {"Retry-After": when}), Reply(body={}))
    waits = Waits()
    assert get_json(f"{server.url}/q", {}, origin="t", sleep=waits) == {}
    assert len(waits) == 1 and 25 <= waits[0] <= 30


def test_repeated_5xx_gives_up_with_transient_error(server: Script) -> None:
    server.reply(Reply(500, b"boom"))
    waits = Waits()
    with pytest.raises(TransientSourceError) as caught:
        get_json(f"{server.url}/q", {"apikey": SECRET}, origin="vendor", max_retries=2, backoff=0.01, sleep=waits)
    assert len(server.requests) == 3 and waits == [0.01, 0.02]
    assert caught.value.origin == "vendor" and "HTTP 500" in str(caught.value)
    assert SECRET not in _full_text(caught.value) and "apikey=***" in str(caught.value)


def test_real_sleep_with_tiny_backoff(server: Script) -> None:
    server.reply(Reply(502, b""), Reply(body={"n": 1}))
    assert get_json(f"{server.url}/q", {}, origin="t", backoff=0.001) == {"n": 1}


def test_client_error_is_not_retried(server: Script) -> None:
    server.reply(Reply(404, f'{{"error": "no such thing", "echo": "apikey={SECRET}"}}'))
    with pytest.raises(SourceError) as caught:
        get_json(f"{server.url}/q", {"apikey": SECRET}, origin="t", backoff=0.001)
    assert not isinstance(caught.value, TransientSourceError)
    assert len(server.requests) == 1 and "HTTP 404" in str(caught.value)
    assert SECRET not in _full_text(caught.value)


def test_truncated_json_names_url_without_key(server: Script) -> None:
    server.reply(Reply(body=b'{"feed": [{"title": "cut'))
    with pytest.raises(SourceError) as caught:
        get_json(f"{server.url}/query", {"function": "NEWS_SENTIMENT", "apikey": SECRET}, origin="t")
    assert not isinstance(caught.value, TransientSourceError)
    message = str(caught.value)
    assert "not valid JSON" in message and "/query?function=NEWS_SENTIMENT&apikey=***" in message
    assert SECRET not in _full_text(caught.value)


def test_connection_refused_is_transient_and_redacted() -> None:
    url = f"http://127.0.0.1:{_free_port()}/query"
    with pytest.raises(TransientSourceError) as caught:
        get_json(url, {"api_key": SECRET}, origin="t", max_retries=1, backoff=0.001)
    assert "ConnectionError" in str(caught.value)
    assert SECRET not in _full_text(caught.value)


def test_timeout_is_transient(server: Script) -> None:
    server.reply(Reply(body={"late": True}, delay=0.4))
    with pytest.raises(TransientSourceError, match="Timeout"):
        get_json(f"{server.url}/q", {}, origin="t", timeout=0.1, max_retries=1, backoff=0.001)


def test_retry_log_lines_carry_no_key(server: Script, caplog: pytest.LogCaptureFixture) -> None:
    server.reply(Reply(500, b""), Reply(body={}))
    with caplog.at_level(logging.WARNING, logger="pipelines.sources.http"):
        get_json(f"{server.url}/q", {"apikey": SECRET}, origin="t", backoff=0.001)
    assert "retry 1/3" in caplog.text and "apikey=***" in caplog.text and SECRET not in caplog.text


def test_redact_hides_every_key_spelling() -> None:
    text = "https://x/q?apikey=AAA&api_key=BBB&x=1 token=CCC API-KEY=DDD"
    assert redact(text) == "https://x/q?apikey=***&api_key=***&x=1 token=*** API-KEY=***"


# --------------------------------------------------------------------------- Alpha Vantage


def _av(server: Script, **kwargs: object) -> AlphaVantageNewsSource:
    return AlphaVantageNewsSource(api_key=SECRET, base_url=f"{server.url}/query", backoff=0.001, **kwargs)


def _feed_fixture() -> dict:
    return json.loads((FIXTURES / "av_feed.json").read_text(encoding="utf-8"))


def test_alphavantage_fetch_parses_feed_and_asks_by_ticker(server: Script) -> None:
    server.reply(Reply(body=_feed_fixture()))
    frame = _av(server).fetch_headlines(["nvda"], date(2025, 1, 25), date(2025, 1, 27))
    assert list(frame.columns) == list(HEADLINE_COLUMNS)
    assert len(frame) == 1
    row = frame.iloc[0]
    assert row["title"] == "Fixture: chip stocks & cloud names diverge"
    assert row["published_at"] == pd.Timestamp("2025-01-27T14:30:00Z")
    assert row["tickers"] == ["MSFT", "NVDA"] and row["publisher"] == "Fixture Wire" and row["source"] == "alphavantage"
    assert "東京" in row["summary"]
    (query,) = server.requests
    assert query["function"] == ["NEWS_SENTIMENT"] and query["tickers"] == ["NVDA"] and query["apikey"] == [SECRET]
    assert query["time_from"] == ["20250125T0500"] and query["time_to"] == ["20250128T0500"]
    assert query["sort"] == ["EARLIEST"]


def test_alphavantage_filters_by_new_york_date(server: Script) -> None:
    server.reply(Reply(body=_feed_fixture()))
    late = _av(server).fetch_headlines(["AAPL"], date(2025, 1, 27), date(2025, 1, 27))
    assert list(late["published_at"]) == [pd.Timestamp("2025-01-28T02:00:00Z")]
    assert late.iloc[0]["publisher"] == "example.com" and late.iloc[0]["summary"] is None


def test_alphavantage_one_request_per_ticker_and_general_feed(server: Script) -> None:
    server.reply(Reply(body=_feed_fixture()))
    both = _av(server).fetch_headlines(["NVDA", "AAPL"], date(2025, 1, 20), date(2025, 1, 31))
    assert len(both) == 2 and sorted(q["tickers"][0] for q in server.requests) == ["AAPL", "NVDA"]
    everything = _av(server).fetch_headlines([], date(2025, 1, 20), date(2025, 1, 31))
    assert len(everything) == 3 and "tickers" not in server.requests[-1]


def test_alphavantage_pages_past_the_item_limit(server: Script, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(alphavantage, "PAGE_LIMIT", 2)
    feed = _feed_fixture()["feed"]
    first = [dict(feed[0], ticker_sentiment=[{"ticker": "NVDA"}]), dict(feed[1], ticker_sentiment=[{"ticker": "NVDA"}])]
    second = [dict(feed[1], ticker_sentiment=[{"ticker": "NVDA"}]), dict(feed[2], time_published="20250128T150000", ticker_sentiment=[{"ticker": "NVDA"}])]
    server.reply(Reply(body={"feed": first}), Reply(body={"feed": second}), Reply(body={"feed": second[1:]}))
    frame = _av(server).fetch_headlines(["NVDA"], date(2025, 1, 20), date(2025, 1, 31))
    assert len(frame) == 3
    assert [q["time_from"][0] for q in server.requests] == ["20250120T0500", "20250128T0200", "20250128T1500"]


def test_alphavantage_refuses_to_page_forever(server: Script, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(alphavantage, "PAGE_LIMIT", 1)
    server.reply(Reply(body={"feed": _feed_fixture()["feed"][:1]}))
    with pytest.raises(SourceError, match="cannot page on"):
        _av(server).fetch_headlines(["NVDA"], date(2025, 1, 20), date(2025, 1, 31))


@pytest.mark.parametrize(
    ("answer", "transient"),
    [
        ({"Note": "Thank you for using Alpha Vantage! Our standard API call frequency is 5 calls per minute."}, True),
        ({"Information": "Our standard API rate limit is 25 requests per day."}, True),
        ({"Information": "Invalid inputs. Please refer to the API documentation."}, False),
        ({"Error Message": "the parameter apikey is invalid or missing."}, False),
        ({"items": "0"}, False),
        ([1, 2], False),
    ],
)
def test_alphavantage_notices_are_errors(server: Script, answer: object, transient: bool) -> None:
    server.reply(Reply(body=answer))
    with pytest.raises(SourceError) as caught:
        _av(server).fetch_headlines(["NVDA"], date(2025, 1, 27), date(2025, 1, 27))
    assert isinstance(caught.value, TransientSourceError) is transient
    assert caught.value.ticker == "NVDA" and caught.value.origin == "alphavantage"


def test_alphavantage_empty_feed_is_zero_rows(server: Script) -> None:
    server.reply(Reply(body={"items": "0", "feed": []}))
    frame = _av(server).fetch_headlines(["NVDA"], date(2025, 1, 27), date(2025, 1, 27))
    assert frame.empty and list(frame.columns) == list(HEADLINE_COLUMNS)


def test_alphavantage_key_from_env_or_error(server: Script, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(alphavantage.API_KEY_ENV, raising=False)
    source = AlphaVantageNewsSource(base_url=f"{server.url}/query", backoff=0.001)
    with pytest.raises(SourceError, match="ALPHAVANTAGE_API_KEY"):
        source.fetch_headlines(["NVDA"], date(2025, 1, 27), date(2025, 1, 27))
    assert server.requests == []
    monkeypatch.setenv(alphavantage.API_KEY_ENV, "from-env")
    server.reply(Reply(body={"feed": []}))
    source.fetch_headlines(["NVDA"], date(2025, 1, 27), date(2025, 1, 27))
    assert server.requests[0]["apikey"] == ["from-env"]


def test_alphavantage_server_errors_exhaust_retries(server: Script) -> None:
    server.reply(Reply(500, b""))
    with pytest.raises(TransientSourceError) as caught:
        _av(server, max_retries=2).fetch_headlines(["NVDA"], date(2025, 1, 27), date(2025, 1, 27))
    assert len(server.requests) == 3 and SECRET not in _full_text(caught.value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("20250127T143000", "2025-01-27T14:30:00Z"),
        ("20250127T1430", "2025-01-27T14:30:00Z"),
        ("2025-01-27 14:30:00", "2025-01-27T14:30:00Z"),
        ("2025-01-27T09:30:00-05:00", "2025-01-27T14:30:00Z"),
    ],
)
def test_time_published_formats(value: str, expected: str) -> None:
    assert parse_time_published(value, "t", 1) == pd.Timestamp(expected)


@pytest.mark.parametrize("value", ["", None, "NaT", "yesterday", "20251327T1430"])
def test_time_published_rejects_garbage(value: object) -> None:
    with pytest.raises(DataValidationError) as caught:
        parse_time_published(value, "file.csv", 4)
    assert caught.value.row == 4 and caught.value.field == "time_published"


# --------------------------------------------------------------------------- FMP


def _fmp(server: Script) -> FmpNewsSource:
    return FmpNewsSource(api_key=SECRET, base_url=f"{server.url}/api/v3/stock_news", backoff=0.001)


def test_fmp_fetch_pages_and_converts_new_york_time(server: Script, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fmp, "PAGE_LIMIT", 2)
    items = json.loads((FIXTURES / "fmp_api.json").read_text(encoding="utf-8"))
    server.reply(Reply(body=items), Reply(body=[]))
    frame = _fmp(server).fetch_headlines(["smci", "ORCL"], date(2025, 1, 21), date(2025, 1, 22))
    assert list(frame["published_at"]) == [pd.Timestamp("2025-01-21T21:45:00Z"), pd.Timestamp("2025-01-22T14:00:00Z")]
    assert list(frame["tickers"]) == [["ORCL"], ["SMCI"]] and list(frame["publisher"]) == ["example.com", "fixture.example"]
    assert [q["page"] for q in server.requests] == [["0"], ["1"]]
    assert server.requests[0]["tickers"] == ["ORCL,SMCI"] and server.requests[0]["from"] == ["2025-01-21"]
    assert server.requests[0]["to"] == ["2025-01-22"] and server.paths[0] == "/api/v3/stock_news"
    server.replies = [Reply(body=items), Reply(body=[])]
    only_orcl = _fmp(server).fetch_headlines(["ORCL"], date(2025, 1, 21), date(2025, 1, 21))
    assert list(only_orcl["tickers"]) == [["ORCL"]]


@pytest.mark.parametrize(
    ("reply", "transient"),
    [
        (Reply(body={"Error Message": "Limit Reach . Please upgrade your plan"}), True),
        (Reply(body={"Error Message": "Invalid API KEY. Please retry or visit our documentation."}), False),
        (Reply(401, {"Error Message": "Invalid API KEY."}), False),
        (Reply(body={"unexpected": 1}), False),
    ],
)
def test_fmp_error_answers(server: Script, reply: Reply, transient: bool) -> None:
    server.reply(reply)
    with pytest.raises(SourceError) as caught:
        _fmp(server).fetch_headlines(["AMD"], date(2025, 1, 27), date(2025, 1, 27))
    assert isinstance(caught.value, TransientSourceError) is transient
    assert SECRET not in _full_text(caught.value)


def test_fmp_missing_key_names_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(fmp.API_KEY_ENV, raising=False)
    with pytest.raises(SourceError, match="FMP_API_KEY"):
        FmpNewsSource(base_url="http://127.0.0.1:9/none").fetch_headlines(["AMD"], date(2025, 1, 27), date(2025, 1, 27))


# --------------------------------------------------------------------------- file parsers


def test_read_alphavantage_csv_fixture() -> None:
    frame = read_alphavantage_csv(FIXTURES / "nvda_news.csv")
    assert len(frame) == 3 and all(ts == ["NVDA"] for ts in frame["tickers"])
    by_url = frame.set_index("url")
    qa = by_url.loc["https://example.com/demo/qa"]
    assert qa["title"] == "Q&A: what the Zürich café crowd thinks about GPUs — a fixture"
    assert "\nline break" in qa["summary"] and qa["published_at"] == pd.Timestamp("2025-01-28T02:00:00Z")
    assert by_url.loc["https://example.com/demo/lead-widens", "summary"].startswith("Hand-made fixture row: a summary with a comma")
    assert set(frame["publisher"]) == {"example.com"}
    assert read_alphavantage_csv(FIXTURES / "nvda_news.csv", ticker="amd")["tickers"].iloc[0] == ["AMD"]


def test_alphavantage_csv_needs_a_ticker() -> None:
    with pytest.raises(DataValidationError, match="ticker") as caught:
        read_alphavantage_csv(BAD / "export.csv")
    assert "export.csv" in str(caught.value)
    assert read_alphavantage_csv(BAD / "export.csv", ticker="NVDA")["tickers"].iloc[0] == ["NVDA"]


def test_read_fmp_csv_fixture() -> None:
    frame = read_fmp_csv(FIXTURES / "fmp_stock_news.csv")
    assert len(frame) == 3  # the story filed under AVGO and TSM merges into one row
    by_url = frame.set_index("url")
    packaging = by_url.loc["https://example.com/fmp/packaging"]
    assert packaging["published_at"] == pd.Timestamp("2024-10-22T13:45:00Z")  # EDT: UTC-4
    assert packaging["title"] == "Fixture: foundry\u2019s packaging capacity sells out"
    assert packaging["summary"] == "Hand-made FMP row in EDT, with an entity & a comma."
    assert packaging["publisher"] == "example.com"
    custom = by_url.loc["https://example.com/fmp/custom"]
    assert custom["published_at"] == pd.Timestamp("2024-11-04T15:55:12Z")  # EST: UTC-5
    assert custom["tickers"] == ["AVGO", "TSM"] and custom["publisher"] == "example.org"
    late = by_url.loc["https://example.com/fmp/late"]
    assert late["title"].startswith("Fixture: Évry") and late["publisher"] == "example.net"


def test_fmp_csv_bad_date_names_file_row_and_field() -> None:
    with pytest.raises(DataValidationError) as caught:
        read_fmp_csv(BAD / "fmp_bad_date.csv")
    assert caught.value.row == 1 and caught.value.field == "publishedDate" and "fmp_bad_date.csv" in str(caught.value)


def test_file_source_reads_every_layout_in_a_folder() -> None:
    source = FileNewsSource(FIXTURES)
    assert [p.name for p in source.files()] == ["av_feed.json", "canonical.csv", "fmp_api.json", "fmp_stock_news.csv", "nvda_news.csv"]
    frame = source.fetch_headlines([], date(2024, 1, 1), date(2025, 12, 31))
    assert len(frame) == 3 + 3 + 2 + 3 + 3
    assert set(frame["source"]) == {"files"} and list(frame.columns) == list(HEADLINE_COLUMNS)
    canonical = frame.set_index("title")
    assert canonical.loc["Fixture: a row with no url and no summary", "tickers"] == ["SMH"]
    assert canonical.loc["Fixture: offset timestamp is honoured", "tickers"] == ["AAPL", "META"]


def test_file_source_filters_by_new_york_date_and_ticker() -> None:
    source = FileNewsSource(FIXTURES)
    nvda = source.fetch_headlines(["NVDA"], date(2025, 1, 27), date(2025, 1, 27))
    assert sorted(nvda["published_at"].dt.strftime("%d %H:%M")) == ["27 14:30", "27 21:30", "28 02:00"]
    assert source.fetch_headlines(["META"], date(2025, 1, 25), date(2025, 1, 25)).empty
    friday = source.fetch_headlines(["META"], date(2025, 1, 24), date(2025, 1, 24))
    assert list(friday["published_at"]) == [pd.Timestamp("2025-01-25T04:30:00Z")]
    amd = source.fetch_headlines(["AMD"], date(2025, 1, 27), date(2025, 1, 27))
    assert list(amd["published_at"]) == [pd.Timestamp("2025-01-28T02:30:00Z")]


def test_file_source_reads_a_single_file() -> None:
    frame = FileNewsSource(FIXTURES / "canonical.csv").fetch_headlines(["avgo"], date(2025, 1, 20), date(2025, 1, 20))
    assert list(frame["tickers"]) == [["AVGO", "NVDA"]]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("malformed.csv", r"malformed CSV at line 3"),
        ("truncated.json", r"malformed JSON at line 1"),
        ("unknown_header.csv", r"accepted layouts are canonical: .*alphavantage: .*fmp: "),
        ("no_timestamp.csv", r"row 2, field 'published_at'"),
        ("naive_timestamp.csv", r"has no timezone"),
        ("unknown_object.json", r"expected an Alpha Vantage answer"),
    ],
)
def test_bad_files_raise_naming_the_file(name: str, expected: str) -> None:
    with pytest.raises(DataValidationError, match=expected) as caught:
        FileNewsSource(BAD / name).fetch_headlines([], date(2025, 1, 1), date(2025, 12, 31))
    assert str(BAD / name) in str(caught.value)


def test_file_source_path_problems(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such file"):
        FileNewsSource(tmp_path / "missing").fetch_headlines([], date(2025, 1, 1), date(2025, 1, 2))
    with pytest.raises(SourceError, match="no \\*.csv or \\*.json"):
        FileNewsSource(tmp_path).fetch_headlines([], date(2025, 1, 1), date(2025, 1, 2))
    other = tmp_path / "notes.txt"
    other.write_text("hello", encoding="utf-8")
    with pytest.raises(DataValidationError, match="unsupported file type"):
        read_headline_file(other)
    latin = tmp_path / "latin.csv"
    latin.write_bytes("published_at,title,tickers\n2025-01-02T10:00:00Z,caf\xe9,NVDA\n".encode("latin-1"))
    with pytest.raises(DataValidationError, match="not UTF-8"):
        read_headline_file(latin)


# --------------------------------------------------------------------------- the real exports


@pytest.fixture(scope="module")
def real_av(shared_data: Path) -> pd.DataFrame:
    return read_alphavantage_csv(shared_data / "news" / "alphavantage_nvda" / "nvda_news.csv")


@pytest.fixture(scope="module")
def real_fmp(shared_data: Path) -> dict[str, pd.DataFrame]:
    return {p.stem.split("_")[0]: read_fmp_csv(p) for p in sorted((shared_data / "news" / "fmp").glob("*_news.csv"))}


def test_real_alphavantage_export(shared_data: Path, real_av: pd.DataFrame) -> None:
    rows = read_csv_table(shared_data / "news" / "alphavantage_nvda" / "nvda_news.csv")
    assert len(rows) == 707
    assert len(real_av) == 706  # one story appears twice on the same day
    assert real_av["published_at"].min() == pd.Timestamp("2024-10-21T18:19:52Z")
    assert real_av["published_at"].max() == pd.Timestamp("2025-02-11T11:15:00Z")
    assert all(ts == ["NVDA"] for ts in real_av["tickers"])
    source = FileNewsSource(shared_data / "news" / "alphavantage_nvda")
    assert len(source.fetch_headlines(["NVDA"], date(2025, 1, 20), date(2025, 2, 5))) == 123
    assert len(source.fetch_headlines(["NVDA"], date(2025, 1, 27), date(2025, 1, 27))) == 8


def test_real_fmp_exports(shared_data: Path, real_fmp: dict[str, pd.DataFrame]) -> None:
    assert sorted(real_fmp) == ["AMD", "AVGO", "INTC", "ORCL", "QCOM", "TSM"]
    raw_counts = {t: len(read_csv_table(shared_data / "news" / "fmp" / f"{t}_news.csv")) for t in real_fmp}
    assert raw_counts == {"AMD": 997, "AVGO": 997, "INTC": 1000, "ORCL": 966, "QCOM": 738, "TSM": 999}
    for ticker, frame in real_fmp.items():
        assert len(frame) <= raw_counts[ticker] and len(frame) >= 0.95 * raw_counts[ticker]
        assert {t for ts in frame["tickers"] for t in ts} == {ticker}
        assert frame["published_at"].max().tz_convert("America/New_York").date() == date(2025, 6, 10)
    window = FileNewsSource(shared_data / "news" / "fmp").fetch_headlines(["AMD", "ORCL"], date(2025, 1, 20), date(2025, 2, 5))
    counts = window["tickers"].explode().value_counts()
    assert counts["AMD"] == 124 and counts["ORCL"] == 96


def test_real_exports_agree_on_utc_instants(real_av: pd.DataFrame, real_fmp: dict[str, pd.DataFrame]) -> None:
    """Articles in both exports get the same UTC instant: AV is read as UTC and FMP as New York time."""

    def key(url: str) -> str:
        return url.split("?")[0].rstrip("/").replace("http://", "https://").replace("//www.", "//")

    fmp_all = pd.concat(real_fmp.values(), ignore_index=True)
    fmp_times = dict(zip(fmp_all["url"].map(key), fmp_all["published_at"]))
    pairs = [(t, fmp_times[key(u)]) for u, t in zip(real_av["url"], real_av["published_at"]) if key(u) in fmp_times]
    assert len(pairs) >= 30
    assert all(av == fm for av, fm in pairs)


# --------------------------------------------------------------------------- the source registry


def test_every_registered_source_resolves_and_declares_what_it_needs() -> None:
    from pipelines import settings, sources

    assert settings.PRICE_SOURCES == tuple(sources.PRICE) and settings.NEWS_SOURCES == tuple(sources.NEWS)
    for kind, registry, method in (("price", sources.PRICE, "fetch_prices"), ("news", sources.NEWS, "fetch_headlines")):
        for name, entry in registry.items():
            module, _, attribute = entry.target.partition(":")
            cls = getattr(__import__(module, fromlist=[attribute]), attribute)
            assert callable(getattr(cls, method, None)), f"{kind} source {name}: {cls} has no {method}"
            assert getattr(cls, "api_key_env", None) == entry.key, f"{name}: the key variable is declared twice"
            if entry.key:
                assert entry.key in settings.SECRETS and entry.url in settings.BY_NAME and entry.key in entry.needs


def test_the_registry_builds_sources_from_their_needs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from pipelines.sources import NEWS, Source, make_news_source, make_price_source

    with pytest.raises(ValueError, match=r"'files' news source needs a path \(--news-path DIR or IMPACT_NEWS_PATH\)"):
        make_news_source("files")
    with pytest.raises(ValueError, match="unknown price source 'reuters'; choose one of demo, yahoo, files"):
        make_price_source("reuters")
    assert make_price_source("files", tmp_path).path == tmp_path
    monkeypatch.setenv("IMPACT_ALPHAVANTAGE_URL", "http://127.0.0.1:9/av")
    assert make_news_source("alphavantage").base_url == "http://127.0.0.1:9/av"
    # Adding a source: its module plus one entry.
    monkeypatch.setitem(NEWS, "fixture", Source("fixture", "pipelines.sources.news_files:FileNewsSource", "t", path="--x"))
    assert isinstance(make_news_source("fixture", FIXTURES), FileNewsSource)


# --------------------------------------------------------------------------- headline tickers


def _headlines(*tickers: object) -> pd.DataFrame:
    return pd.DataFrame({"published_at": [f"2025-01-2{i}T15:00:00Z" for i in range(len(tickers))],
                         "title": [f"story {i}" for i in range(len(tickers))], "tickers": list(tickers), "source": "t"})


@pytest.mark.parametrize("bad", [["NVDA", "$AMD"], "nvda, N/A", ["NV DA"], ["TOOLONGSYMBOL1234"], ["NVDA", "CRYPTO:BTC"]])
def test_headline_tickers_are_validated_like_price_tickers(bad: object) -> None:
    from pipelines.sources.base import validate_headlines, validate_prices

    with pytest.raises(DataValidationError, match="invalid ticker") as caught:
        validate_headlines(_headlines(["MSFT"], bad, ["AMD"]), "feed.json")
    assert caught.value.row == 2 and caught.value.field == "tickers" and str(caught.value).startswith("feed.json, row 2")
    good = validate_headlines(_headlines(["brk.b", "^GSPC"], "BTC-USD, EURUSD=X"), "feed.json")
    assert list(good["tickers"]) == [["BRK.B", "^GSPC"], ["BTC-USD", "EURUSD=X"]]
    symbol = bad[-1] if isinstance(bad, list) else "N/A"
    prices = pd.DataFrame({"ticker": [symbol], "date": ["2025-01-21"], "open": [1], "high": [1], "low": [1], "close": [1],
                           "volume": [1], "source": ["t"]})
    with pytest.raises(DataValidationError, match="invalid ticker"):  # the same rule for a price row
        validate_prices(prices, "prices.csv")


def test_alphavantage_topic_tags_are_not_tickers() -> None:
    from pipelines.sources.alphavantage import parse_alphavantage_feed

    item = {"title": "Bitcoin and Nvidia", "url": "https://x/1", "time_published": "20250127T143000",
            "ticker_sentiment": [{"ticker": "NVDA"}, {"ticker": "CRYPTO:BTC"}, {"ticker": "FOREX:USD"}]}
    assert list(parse_alphavantage_feed([item], "t")["tickers"]) == [["NVDA"]]
