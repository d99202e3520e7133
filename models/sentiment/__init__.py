"""Headline sentiment per (headline, company) pair: what did this story mean for *this* stock?

Backends are chosen by name from :data:`BACKENDS` (each has ``model_id``, ``model_version`` and
``predict(pairs, batch_size)``):

* ``local`` (default): a target-aware MiniLM classifier, fast on CPU (:mod:`models.sentiment.classifier`).
* ``llm``: any Hugging Face causal LM (hub id, local folder or GGUF) scored by next-token label
  log-probabilities with a target-aware prompt, on CUDA in bf16 when present (:mod:`models.sentiment.llm`).
* ``remote``: the same prompt sent to an OpenAI-compatible completions server. It speaks HTTP, which
  models/ may not, so it lives in ``pipelines/sources/inference.py``, which registers it here when
  imported (:func:`register_backend`).

Importing this package is cheap; torch and transformers load with the first model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from models.sentiment.text import LABELS, RELEVANCES, Link, Pair, Prediction, Target, normalize_headline

__all__ = [
    "BACKENDS", "LABELS", "RELEVANCES", "BackendConfig", "Link", "Pair", "Prediction", "SentimentModel", "Target",
    "load_classifier", "normalize_headline", "register_backend",
]


class SentimentModel(Protocol):
    """What every backend offers."""

    model_id: str
    model_version: str

    def predict(self, pairs: Sequence[Pair], batch_size: int = 32) -> list[Prediction]: ...


@dataclass(frozen=True)
class BackendConfig:
    """Which scorer to build. ``model``: local weights stem, LLM hub id/path/packaged name, or the server's model name."""

    backend: str = "local"
    model: str | None = None
    device: str = "auto"
    url: str | None = None
    timeout_s: float = 30.0
    api_key: str | None = None


def _local(config: BackendConfig) -> SentimentModel:
    from pathlib import Path

    from models.sentiment.classifier import DEFAULT_MODEL, PairClassifier

    return PairClassifier.load(Path(config.model) if config.model else DEFAULT_MODEL, device=config.device)


def _llm(config: BackendConfig) -> SentimentModel:
    from models.sentiment.llm import DEFAULT_LLM, LLMClassifier

    return LLMClassifier.load(config.model or DEFAULT_LLM, device=config.device)


BACKENDS: dict[str, Callable[[BackendConfig], SentimentModel]] = {"local": _local, "llm": _llm}
"""The registry: a new backend is one module plus one entry here. ``remote`` is added by pipelines/ (see
:func:`register_backend`): its HTTP client may not live in models/."""


def register_backend(name: str, factory: Callable[[BackendConfig], SentimentModel]) -> None:
    """Add the backend ``name`` from outside models/ (pipelines/ adds ``remote``, which speaks HTTP)."""
    BACKENDS[name] = factory


def load_classifier(config: BackendConfig | None = None) -> SentimentModel:
    """Build the backend ``config`` names (the default: the local target-aware classifier on the best device)."""
    config = config or BackendConfig()
    if config.backend not in BACKENDS:
        raise ValueError(f"unknown sentiment backend {config.backend!r}; choose one of {', '.join(BACKENDS)}")
    return BACKENDS[config.backend](config)
