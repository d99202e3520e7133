"""Remote backend: a bigger LLM on a GPU host behind the OpenAI-compatible completions API.

vLLM, the llama.cpp server and Ollama all expose ``POST /v1/completions`` with ``logprobs``. Each
request sends a batch of few-shot prompts (the same prompt as :mod:`models.sentiment.fewshot`)
with ``max_tokens=1`` and ``temperature=0`` and reads the top log-probabilities of the first
generated token; the three label words' probabilities, renormalised, are the answer. A label
absent from the top list is at most as likely as the least likely token listed: it gets half that
probability, which keeps it possible but unlikely. Timeouts, connection errors, 429 and 5xx
are retried with exponential backoff; anything else, or an answer without usable log-probabilities,
raises :class:`RemoteBackendError` naming the URL and what was wrong.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

import requests

from models.sentiment.fewshot import build_prefix
from models.sentiment.text import LABELS, Prediction, empty_prediction, normalize_headline, prediction_from_probs

_RETRY_STATUS = {408, 429, 500, 502, 503, 504}


class RemoteBackendError(RuntimeError):
    """The remote LLM could not give usable label probabilities."""


class RemoteClassifier:
    """Few-shot label scoring through an OpenAI-compatible ``/v1/completions`` endpoint."""

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
        session: requests.Session | None = None,
    ) -> None:
        if not url:
            raise ValueError("the remote backend needs a URL, e.g. http://gpu-host:8000/v1")
        base = url.rstrip("/")
        self.endpoint = base if base.endswith("/completions") else base + ("/completions" if base.endswith("/v1") else "/v1/completions")
        self.model = model
        self.batch_size = batch_size
        self.timeout_s = timeout_s
        self.retries = retries
        self.backoff_s = backoff_s
        self.top_logprobs = top_logprobs
        self.session = session or requests.Session()
        self.headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.prefix = build_prefix()
        self.model_id = f"remote:{model}"
        self.model_version = "fewshot-v1"

    def predict(self, headlines: Sequence[str], batch_size: int | None = None) -> list[Prediction]:
        """One :class:`Prediction` per headline, in order; empty headlines are not sent."""
        size = batch_size or self.batch_size
        cleaned = [normalize_headline(h) for h in headlines]
        filled = [i for i, text in enumerate(cleaned) if text]
        results = [empty_prediction(self.model_id, self.model_version)] * len(cleaned)
        for start in range(0, len(filled), size):
            chunk = filled[start : start + size]
            prompts = [f"{self.prefix}Headline: {cleaned[i]}\nSentiment:" for i in chunk]
            for index, probs in zip(chunk, self._score(prompts)):
                results[index] = prediction_from_probs(probs, self.model_id, self.model_version)
        return results

    def _score(self, prompts: list[str]) -> list[tuple[float, float, float]]:
        body = {"model": self.model, "prompt": prompts, "max_tokens": 1, "temperature": 0, "logprobs": self.top_logprobs}
        answer = self._post(body)
        choices = answer.get("choices") if isinstance(answer, dict) else None
        if not isinstance(choices, list) or len(choices) != len(prompts):
            got = len(choices) if isinstance(choices, list) else type(choices).__name__
            raise RemoteBackendError(f"{self.endpoint}: expected {len(prompts)} choices, got {got}")
        ordered = sorted(choices, key=lambda c: c.get("index", 0) if isinstance(c, dict) else 0)
        return [self._label_probs(choice, n) for n, choice in enumerate(ordered)]

    def _post(self, body: dict[str, Any]) -> Any:
        """POST with retries on timeouts, connection errors, 408/429/5xx; parse JSON or raise."""
        attempt = 0
        while True:
            try:
                response = self.session.post(self.endpoint, json=body, timeout=self.timeout_s, headers=self.headers)
            except (requests.Timeout, requests.ConnectionError) as error:
                failure = f"{type(error).__name__}: {error}"
            else:
                if response.status_code == 200:
                    try:
                        return response.json()
                    except ValueError as error:
                        raise RemoteBackendError(f"{self.endpoint}: answer is not JSON ({response.text[:120]!r})") from error
                if response.status_code not in _RETRY_STATUS:
                    raise RemoteBackendError(f"{self.endpoint}: HTTP {response.status_code}: {response.text[:200]}")
                failure = f"HTTP {response.status_code}"
            attempt += 1
            if attempt > self.retries:
                raise RemoteBackendError(f"{self.endpoint}: gave up after {attempt} attempts, last failure {failure}")
            time.sleep(self.backoff_s * 2 ** (attempt - 1))

    def _label_probs(self, choice: Any, row: int) -> tuple[float, float, float]:
        """Renormalised label probabilities from one choice's first-token top log-probabilities."""
        try:
            top = choice["logprobs"]["top_logprobs"][0]
        except (KeyError, IndexError, TypeError) as error:
            raise RemoteBackendError(f"{self.endpoint}: choice {row} has no logprobs.top_logprobs[0]; "
                                     "does the server support logprobs on /v1/completions?") from error
        if not isinstance(top, dict) or not top:
            raise RemoteBackendError(f"{self.endpoint}: choice {row}: top_logprobs[0] is not a non-empty object")
        found: dict[str, float] = {}
        for token, logprob in top.items():
            word = str(token).strip().lower()
            if word in LABELS and isinstance(logprob, (int, float)) and math.isfinite(logprob):
                found[word] = max(found.get(word, -math.inf), float(logprob))
        if not found:
            raise RemoteBackendError(f"{self.endpoint}: choice {row}: none of {LABELS} among the top tokens {list(top)[:5]}")
        finite = [v for v in top.values() if isinstance(v, (int, float)) and math.isfinite(v)]
        floor = min(finite) - math.log(2)
        values = [found.get(label, floor) for label in LABELS]
        peak = max(values)
        weights = [math.exp(v - peak) for v in values]
        return (weights[0], weights[1], weights[2])
