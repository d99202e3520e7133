"""The remote backend (pipelines/sources/inference.py) against stand-in OpenAI-compatible completions servers on 127.0.0.1."""

from __future__ import annotations

import json
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from http.server import BaseHTTPRequestHandler

import pytest

from models.sentiment.prompt import build_prefix
from models.sentiment.text import Link, Pair, Target
from pipelines.sources.inference import RemoteBackendError, RemoteClassifier
from tests.loopback import serving

Handler = Callable[[dict, int], tuple[int, object]]
"""(request body, request number) -> (status, body: dict for JSON or str for raw text)."""

NVIDIA = Target("Nvidia", "NVDA", profile="Nvidia (NVDA): GPU maker.")
AMD = Target("AMD", "AMD")


def _top(prompt: str) -> dict[str, float]:
    """Top log-probabilities by keyword of the pair's block: 'plunge' or a block about Nvidia negative, 'beats' positive."""
    block = prompt[len(build_prefix()):]
    if "plunge" in block or "Effect on Nvidia:" in block:
        return {" negative": -0.1, " neutral": -2.6, " positive": -5.0}
    if "beats" in block:
        return {" positive": -0.05, "Positive": -3.5, " neutral": -3.2}  # no " negative" in the top list
    return {" neutral": -0.3, " positive": -2.0, " negative": -2.5, " The": -4.0}


def _answer(request: dict) -> tuple[int, object]:
    """A vLLM-like answer: one choice per prompt, listed in reverse order with their indices."""
    prompts = request["prompt"] if isinstance(request["prompt"], list) else [request["prompt"]]
    choices = [{"index": i, "text": " x", "logprobs": {"top_logprobs": [_top(p)]}} for i, p in enumerate(prompts)]
    return 200, {"choices": list(reversed(choices))}


@pytest.fixture
def server() -> Iterator[Callable[[Handler], str]]:
    with ExitStack() as stack:

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

            return f"http://127.0.0.1:{stack.enter_context(serving(Fake))}/v1"

        yield start


def test_pairs_are_scored_with_the_target_aware_prompt_batched_and_in_order(server):
    seen: list[object] = []

    def handler(body: dict, n: int) -> tuple[int, object]:
        assert body["max_tokens"] == 1 and body["temperature"] == 0 and body["logprobs"] == 20
        seen.append(body["prompt"])
        return _answer(body)

    client = RemoteClassifier(server(handler), "big-llm", batch_size=2, calibrate=False)
    pairs = [
        Pair("Stock plunge after fraud probe", AMD),
        Pair("Company beats estimates", AMD),
        Pair("", AMD),
        Pair("AMD wins Microsoft order", NVIDIA, Link("indirect", ("AMD",), "competitor")),
        Pair("Board meets on Monday", AMD),
    ]
    results = client.predict(pairs)
    assert [r.label for r in results] == ["negative", "positive", "neutral", "negative", "neutral"]
    assert [len(p) for p in seen] == [2, 2]  # four non-empty pairs in lists of two; the empty one is never sent
    assert all(p.startswith(build_prefix()) for batch in seen for p in batch)
    assert seen[1][0].endswith("Note: The headline does not name Nvidia; it concerns AMD (a competitor of Nvidia).\nEffect on Nvidia:")
    for r in results:
        assert r.p_negative + r.p_neutral + r.p_positive == pytest.approx(1.0)
        assert r.score == pytest.approx(r.p_positive - r.p_negative)
        assert r.model == "remote:big-llm" and r.model_version == client.model_version
    # " negative" was absent from the 'beats' answer: it gets half the least likely listed token's probability.
    assert 0 < results[1].p_negative < results[1].p_neutral


def test_contextual_calibration_asks_content_free_prompts_once_per_target(server):
    prompts: list[list[str]] = []

    def handler(body: dict, n: int) -> tuple[int, object]:
        prompts.append(body["prompt"] if isinstance(body["prompt"], list) else [body["prompt"]])
        return _answer(body)

    client = RemoteClassifier(server(handler), "m", batch_size=8)
    first = client.predict([Pair("Board meets on Monday", AMD)])[0]
    assert len(prompts) == 2 and len(prompts[0]) == 3  # AMD's three content-free prompts, then the pair
    assert prompts[0][0].endswith("Headline: N/A\nCompany: AMD\nEffect on AMD:")
    # AMD's content-free answer is the neutral-leaning default, so calibration divides that lean away ...
    assert client.priors[("AMD", "")][1] == max(client.priors[("AMD", "")])
    assert first.p_neutral == pytest.approx(1 / 3)
    # ... while Nvidia's content-free answer leans negative, so a negative answer for Nvidia is flattened.
    amd, nvidia = client.predict([Pair("Board meets on Monday", AMD), Pair("Board meets on Monday", NVIDIA)])
    assert len(prompts) == 4 and len(prompts[2]) == 3 and all("Company: Nvidia" in p for p in prompts[2])
    assert nvidia.p_negative == pytest.approx(1 / 3) and amd.p_neutral == pytest.approx(1 / 3)
    assert RemoteClassifier("http://h/v1", "m", calibrate=False).model_version != client.model_version


def test_a_server_that_takes_one_prompt_per_request_is_detected(server):
    """The llama.cpp server asserts a single prompt: the first list fails with 500, then prompts go one by one."""
    kinds: list[str] = []

    def handler(body: dict, n: int) -> tuple[int, object]:
        kinds.append(type(body["prompt"]).__name__)
        if isinstance(body["prompt"], list):
            return 500, {"error": "AssertionError"}
        return _answer(body)

    client = RemoteClassifier(server(handler), "m", batch_size=4, calibrate=False, retries=3, backoff_s=5.0)
    started = time.perf_counter()
    results = client.predict([Pair("Shares plunge", AMD), Pair("Company beats estimates", AMD), Pair("Board meets", AMD)])
    assert [r.label for r in results] == ["negative", "positive", "neutral"]
    assert kinds == ["list", "str", "str", "str"] and client.lists_accepted is False
    assert time.perf_counter() - started < 4  # the rejected list was not retried with backoff


def test_transient_failures_are_retried(server):
    def handler(body: dict, n: int) -> tuple[int, object]:
        return (503, {"error": "loading"}) if n < 3 else _answer(body)

    client = RemoteClassifier(server(handler), "m", retries=3, backoff_s=0.01, calibrate=False)
    assert client.predict([Pair("Shares plunge", AMD)])[0].label == "negative"


def test_timeout_gives_up_with_a_clear_error_naming_the_url(server):
    def handler(body: dict, n: int) -> tuple[int, object]:
        time.sleep(0.5)
        return _answer(body)

    url = server(handler)
    client = RemoteClassifier(url, "m", timeout_s=0.1, retries=1, backoff_s=0.01)
    with pytest.raises(RemoteBackendError, match=f"^{url}/completions: gave up on {url}/completions after 2 attempt.*Timeout"):
        client.predict([Pair("Shares plunge", AMD)])


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ((200, "<html>proxy error</html>"), "not valid JSON"),
        ((200, {"choices": []}), "expected 1 choices, got 0"),
        ((200, {"data": "garbage"}), "expected 1 choices, got NoneType"),
        ((200, {"choices": [{"index": 0, "text": "x"}]}), "no logprobs.top_logprobs"),
        ((200, {"choices": [{"index": 0, "logprobs": {"top_logprobs": [None]}}]}), "not a non-empty object"),
        ((200, {"choices": [{"index": 0, "logprobs": {"top_logprobs": [{" The": -0.1, " ne": -0.2}]}}]}), "none of"),
        ((400, {"error": "logprobs must be <= 5"}), "HTTP 400"),
    ],
)
def test_malformed_answers_raise_clear_errors(server, answer, message):
    url = server(lambda body, n: answer)
    client = RemoteClassifier(url, "m", retries=0, calibrate=False)
    with pytest.raises(RemoteBackendError, match=message) as error:
        client.predict([Pair("Shares plunge", AMD)])
    assert str(error.value).startswith(f"{url}/completions: ")


def test_split_label_words_are_read_from_their_first_piece(server):
    top = {"neg": -2.0, "pos": -0.2, "neu": -1.0, "n": -0.01}  # "n" alone could be any label: ignored

    client = RemoteClassifier(server(lambda body, n: (200, {"choices": [{"index": 0, "logprobs": {"top_logprobs": [top]}}]})), "m", calibrate=False)
    result = client.predict([Pair("Shares plunge", AMD)])[0]
    assert result.label == "positive" and result.p_negative < result.p_neutral < result.p_positive


def test_unreachable_server_and_missing_url():
    with pytest.raises(ValueError, match="needs a URL"):
        RemoteClassifier("", "m")
    client = RemoteClassifier("http://127.0.0.1:9/v1", "m", retries=1, backoff_s=0.01, timeout_s=0.5)
    assert client.endpoint == "http://127.0.0.1:9/v1/completions"
    with pytest.raises(RemoteBackendError, match="^http://127.0.0.1:9/v1/completions: .*ConnectionError"):
        client.predict([Pair("Shares plunge", AMD)])


def test_the_backend_registry_builds_it_and_the_token_never_shows(server):
    """pipelines registers 'remote' in models.sentiment.BACKENDS; a server echoing the bearer token leaks nothing."""
    from models.sentiment import BackendConfig, load_classifier

    token = "remote-token-5e0c91"
    seen: list[str] = []

    def echo(body: dict, n: int) -> tuple[int, object]:
        return 401, {"error": f"token {token} is not allowed", "echo": {"authorization": f"Bearer {token}"}}

    url = server(echo)
    client = load_classifier(BackendConfig("remote", model="m", url=url, api_key=token))
    assert isinstance(client, RemoteClassifier) and client.headers == {"Authorization": f"Bearer {token}"}
    with pytest.raises(RemoteBackendError, match="HTTP 401") as error:
        client.predict([Pair("Shares plunge", AMD)])
    seen.append("".join(traceback.format_exception(error.value)))
    assert token not in seen[0] and "***" in seen[0]
    with pytest.raises(ValueError, match="needs a URL"):
        load_classifier(BackendConfig("remote"))
