"""The ``remote`` sentiment backend: a bigger LLM on a GPU host behind the OpenAI-compatible completions API.

It lives in pipelines/ because it speaks HTTP (models/ may not); importing this module registers it
in :data:`models.sentiment.BACKENDS` (the sentiment asset and ``impact sentiment`` import it before
they load a backend). Requests go through the project's one HTTP client
(:func:`pipelines.sources.http.request_json`): the same retries, backoff and secret redaction as
the news APIs; the bearer token travels in the ``Authorization`` header, never in a URL.

vLLM, the llama.cpp server and Ollama expose ``POST /v1/completions`` with ``logprobs``. Each pair
gets the same target-aware prompt as the ``llm`` backend (:mod:`models.sentiment.prompt`), sent with
``max_tokens=1`` and ``temperature=0``; the top log-probabilities of the first generated token give
the three label words' probabilities, renormalised. A label absent from the top list is at most as
likely as the least likely token listed: it gets half that probability, which keeps it possible but
unlikely. A label word the server's tokenizer splits is read from its first piece ("neg").

Prompts go ``batch_size`` to a request as a list (vLLM). A server that rejects lists (the llama.cpp
server asserts one prompt per request) answers the first such request with HTTP 400/422/500 or the
wrong number of choices: the client then sends one prompt per request from there on.

The answers are calibrated like the ``llm`` backend's (contextual calibration per target: divided
by the label distribution of content-free headlines asked about the same target, asked once per
target). Timeouts, connection
errors, 408, 429 and 5xx are retried with exponential backoff; anything else, or an answer
without usable log-probabilities, raises :class:`RemoteBackendError` naming the URL and the fault.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from typing import Any

import requests

from models.sentiment import BackendConfig, register_backend
from models.sentiment.prompt import CONTENT_FREE, build_prompt, prompt_digest
from models.sentiment.text import (
    LABELS,
    Pair,
    Prediction,
    Target,
    empty_prediction,
    normalize_headline,
    prediction_from_probs,
)
from pipelines import secrets
from pipelines.errors import SourceError
from pipelines.sources.http import HttpStatusError, request_json, warn_plain_http

_LIST_REJECTED_STATUS = frozenset({400, 422, 500})
_MIN_PIECE = 3
"""A top token shorter than this ("n", "ne") is too ambiguous to stand for a label."""


class RemoteBackendError(SourceError, RuntimeError):
    """The remote LLM could not give usable label probabilities (``origin``: the endpoint)."""


class _ListRejected(Exception):
    """The server did not take a list of prompts in one request."""


class RemoteClassifier:
    """Target-aware label scoring through an OpenAI-compatible ``/v1/completions`` endpoint."""

    def __init__(
        self,
        url: str,
        model: str,
        batch_size: int = 16,
        timeout_s: float = 30.0,
        retries: int = 3,
        backoff_s: float = 0.5,
        top_logprobs: int = 20,
        api_key: str | None = None,
        calibrate: bool = True,
    ) -> None:
        if not url:
            raise ValueError("the remote backend needs a URL, e.g. http://gpu-host:8000/v1")
        base = url.rstrip("/")
        self.endpoint = base if base.endswith("/completions") else base + ("/completions" if base.endswith("/v1") else "/v1/completions")
        self.model = model
        self.batch_size = max(1, batch_size)
        self.timeout_s = timeout_s
        self.retries = retries
        self.backoff_s = backoff_s
        self.top_logprobs = top_logprobs
        self.session = requests.Session()
        self.headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        if api_key:
            secrets.register(api_key)
            warn_plain_http(self.endpoint, "remote sentiment backend")
        self.calibrate = calibrate
        self.priors: dict[tuple[str, str], tuple[float, float, float]] = {}
        self.lists_accepted: bool | None = None if self.batch_size > 1 else False
        self.model_id = f"remote:{model}"
        calibration = "contextual per target" if calibrate else "none"
        self.model_version = "prompt-" + hashlib.sha256(f"{prompt_digest()}\n{model}\n{calibration}".encode()).hexdigest()[:12]

    def predict(self, pairs: Sequence[Pair], batch_size: int | None = None) -> list[Prediction]:
        """One :class:`Prediction` per pair, in order; pairs with an empty headline are not sent.

        ``batch_size`` is accepted for the common interface; prompts per request are set at construction.
        """
        filled = [i for i, pair in enumerate(pairs) if normalize_headline(pair.headline)]
        results = [empty_prediction(self.model_id, self.model_version)] * len(pairs)
        if not filled:
            return results
        if self.calibrate:
            self._learn_priors([pairs[i].target for i in filled])
        raw = self._label_probs_of([build_prompt(pairs[i]) for i in filled])
        for index, probs in zip(filled, raw):
            target = pairs[index].target
            prior = self.priors[(target.name, target.profile)] if self.calibrate else (1.0, 1.0, 1.0)
            adjusted = [p / q for p, q in zip(probs, prior)]
            results[index] = prediction_from_probs((adjusted[0], adjusted[1], adjusted[2]), self.model_id, self.model_version)
        return results

    def _learn_priors(self, targets: Sequence[Target]) -> None:
        """Each new target's label prior: the mean label distribution of the content-free headlines asked about it."""
        new = sorted({(t.name, t.profile) for t in targets} - set(self.priors))
        if not new:
            return
        prompts = [build_prompt(Pair(c.headline, Target(name, profile=profile))) for name, profile in new for c in CONTENT_FREE]
        rows = self._label_probs_of(prompts)
        width = len(CONTENT_FREE)
        for number, key in enumerate(new):
            group = rows[number * width : (number + 1) * width]
            mean = [sum(row[k] for row in group) / width for k in range(len(LABELS))]
            self.priors[key] = (mean[0], mean[1], mean[2])

    def _label_probs_of(self, prompts: list[str]) -> list[tuple[float, float, float]]:
        """Label probabilities of every prompt, ``batch_size`` per request (one when the server takes no lists)."""
        out: list[tuple[float, float, float]] = []
        start = 0
        while start < len(prompts):
            size = self.batch_size if self.lists_accepted is not False else 1
            chunk = prompts[start : start + size]
            if len(chunk) > 1 and self.lists_accepted is None:
                try:
                    out.extend(self._score(chunk, probing=True))
                    self.lists_accepted = True
                except _ListRejected:
                    self.lists_accepted = False
                    continue
            else:
                out.extend(self._score(chunk))
            start += len(chunk)
        return out

    def _score(self, prompts: list[str], probing: bool = False) -> list[tuple[float, float, float]]:
        body = {
            "model": self.model, "prompt": prompts if len(prompts) > 1 else prompts[0],
            "max_tokens": 1, "temperature": 0, "logprobs": self.top_logprobs,
        }
        answer = self._post(body, probing)
        choices = answer.get("choices") if isinstance(answer, dict) else None
        if not isinstance(choices, list) or len(choices) != len(prompts):
            if probing and isinstance(choices, list):
                raise _ListRejected
            got = len(choices) if isinstance(choices, list) else type(choices).__name__
            raise RemoteBackendError(self.endpoint, f"expected {len(prompts)} choices, got {got}")
        ordered = sorted(choices, key=lambda c: c.get("index", 0) if isinstance(c, dict) else 0)
        return [self._label_probs(choice, n) for n, choice in enumerate(ordered)]

    def _post(self, body: dict[str, Any], probing: bool = False) -> Any:
        """POST through the shared client (retries on timeouts, connection errors, 408/429/5xx); the JSON answer.

        While ``probing`` whether the server takes a list of prompts, 400/422/500 mean it does not.
        """
        try:
            return request_json(
                "POST", self.endpoint, origin=self.endpoint, json=body, headers=self.headers,
                timeout=self.timeout_s, max_retries=self.retries, backoff=self.backoff_s, session=self.session,
                final=_LIST_REJECTED_STATUS if probing else (),
            )
        except HttpStatusError as error:
            if probing and error.status in _LIST_REJECTED_STATUS:
                raise _ListRejected from None
            raise RemoteBackendError(error.origin, error.detail) from None
        except SourceError as error:
            raise RemoteBackendError(error.origin, error.detail) from None

    def _label_probs(self, choice: Any, row: int) -> tuple[float, float, float]:
        """Renormalised label probabilities from one choice's first-token top log-probabilities."""
        try:
            top = choice["logprobs"]["top_logprobs"][0]
        except (KeyError, IndexError, TypeError) as error:
            raise RemoteBackendError(self.endpoint, f"choice {row} has no logprobs.top_logprobs[0]; "
                                     "does the server support logprobs on /v1/completions?") from error
        if not isinstance(top, dict) or not top:
            raise RemoteBackendError(self.endpoint, f"choice {row}: top_logprobs[0] is not a non-empty object")
        found: dict[str, float] = {}
        for token, logprob in top.items():
            label = _label_of(str(token))
            if label and isinstance(logprob, (int, float)) and math.isfinite(logprob):
                found[label] = max(found.get(label, -math.inf), float(logprob))
        if not found:
            raise RemoteBackendError(self.endpoint, f"choice {row}: none of {LABELS} among the top tokens {list(top)[:5]}")
        finite = [v for v in top.values() if isinstance(v, (int, float)) and math.isfinite(v)]
        floor = min(finite) - math.log(2)
        values = [found.get(label, floor) for label in LABELS]
        peak = max(values)
        weights = [math.exp(v - peak) for v in values]
        total = sum(weights)
        return (weights[0] / total, weights[1] / total, weights[2] / total)


def _label_of(token: str) -> str | None:
    """The label a top token stands for: the word itself, or a piece of it long enough to name only one label."""
    word = token.strip().lower()
    if word in LABELS:
        return word
    if len(word) < _MIN_PIECE:
        return None
    matches = [label for label in LABELS if label.startswith(word)]
    return matches[0] if len(matches) == 1 else None


def remote_backend(config: BackendConfig) -> RemoteClassifier:
    """The ``remote`` entry of :data:`models.sentiment.BACKENDS`."""
    if not config.url:
        raise ValueError("backend 'remote' needs a URL (IMPACT_SENTIMENT_URL or --url), e.g. http://gpu-host:8000/v1")
    return RemoteClassifier(config.url, config.model or "default", timeout_s=config.timeout_s, api_key=config.api_key)


register_backend("remote", remote_backend)
