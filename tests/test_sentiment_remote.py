"""The remote backend against a fake OpenAI-compatible completions server on 127.0.0.1."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from models.sentiment.remote import RemoteBackendError, RemoteClassifier

Handler = Callable[[dict, int], tuple[int, object]]
"""(request body, request number) -> (status, body: dict for JSON or str for raw text)."""


def _logprob_answer(request: dict) -> tuple[int, object]:
    """Answers by keyword: 'plunge' negative, 'beats' positive, else neutral; choices in reverse order."""
    choices = []
    for index, prompt in enumerate(request["prompt"]):
        headline = prompt.rsplit("Headline: ", 1)[1]
        top = {" neutral": -0.3, " positive": -2.0, " negative": -2.5, " The": -4.0}
        if "plunge" in headline:
            top = {" negative": -0.1, " neutral": -2.6, " positive": -5.0}
        elif "beats" in headline:
            top = {" positive": -0.05, "Positive": -3.5, " neutral": -3.2}  # no " negative" in the top list
        choices.append({"index": index, "text": " x", "logprobs": {"top_logprobs": [top]}})
    return 200, {"choices": list(reversed(choices))}


@pytest.fixture
def fake_server() -> Iterator[Callable[[Handler], str]]:
    servers: list[ThreadingHTTPServer] = []

    def start(handler: Handler) -> str:
        calls = {"n": 0}

        class Fake(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                calls["n"] += 1
                status, answer = handler(body, calls["n"])
                payload = (answer if isinstance(answer, str) else json.dumps(answer)).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args: object) -> None:
                return

        server = ThreadingHTTPServer(("127.0.0.1", 0), Fake)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/v1"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_label_scoring_batches_and_keeps_order(fake_server):
    seen: list[int] = []

    def handler(body: dict, n: int) -> tuple[int, object]:
        assert body["max_tokens"] == 1 and body["temperature"] == 0 and body["logprobs"] == 20
        seen.append(len(body["prompt"]))
        return _logprob_answer(body)

    client = RemoteClassifier(fake_server(handler), "big-llm", batch_size=2)
    headlines = ["Stock plunge after fraud probe", "Company beats estimates", "", "Board meets on Monday", "Shares plunge"]
    results = client.predict(headlines)
    assert [r.label for r in results] == ["negative", "positive", "neutral", "neutral", "negative"]
    assert seen == [2, 2]  # four non-empty headlines in batches of two; the empty one is never sent
    for r in results:
        assert r.p_negative + r.p_neutral + r.p_positive == pytest.approx(1.0)
        assert r.score == pytest.approx(r.p_positive - r.p_negative)
        assert r.model == "remote:big-llm"
    # " negative" was absent from the 'beats' answer: it gets half the least likely listed token's probability.
    assert 0 < results[1].p_negative < results[1].p_neutral


def test_transient_failures_are_retried(fake_server):
    def handler(body: dict, n: int) -> tuple[int, object]:
        return (503, {"error": "loading"}) if n < 3 else _logprob_answer(body)

    client = RemoteClassifier(fake_server(handler), "m", retries=3, backoff_s=0.01)
    assert client.predict(["Shares plunge"])[0].label == "negative"


def test_timeout_gives_up_with_a_clear_error(fake_server):
    def handler(body: dict, n: int) -> tuple[int, object]:
        time.sleep(0.5)
        return _logprob_answer(body)

    client = RemoteClassifier(fake_server(handler), "m", timeout_s=0.1, retries=1, backoff_s=0.01)
    with pytest.raises(RemoteBackendError, match="gave up after 2 attempts.*Timeout"):
        client.predict(["Shares plunge"])


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ((200, "<html>proxy error</html>"), "not JSON"),
        ((200, {"choices": []}), "expected 1 choices, got 0"),
        ((200, {"choices": [{"index": 0, "text": "x"}]}), "no logprobs.top_logprobs"),
        ((200, {"choices": [{"index": 0, "logprobs": {"top_logprobs": [{" The": -0.1}]}}]}), "none of"),
        ((400, {"error": "logprobs must be <= 5"}), "HTTP 400"),
    ],
)
def test_malformed_answers_raise_clear_errors(fake_server, answer, message):
    client = RemoteClassifier(fake_server(lambda body, n: answer), "m", retries=0)
    with pytest.raises(RemoteBackendError, match=message):
        client.predict(["Shares plunge"])


def test_unreachable_server_and_missing_url():
    with pytest.raises(ValueError, match="needs a URL"):
        RemoteClassifier("", "m")
    client = RemoteClassifier("http://127.0.0.1:9/v1", "m", retries=1, backoff_s=0.01, timeout_s=0.5)
    assert client.endpoint == "http://127.0.0.1:9/v1/completions"
    with pytest.raises(RemoteBackendError, match="ConnectionError"):
        client.predict(["Shares plunge"])
