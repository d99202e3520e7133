"""Headline sentiment: was the news read as good or bad?

Backends (each has ``model_id``, ``model_version`` and ``predict(headlines, batch_size)``):

* ``local`` + ``head`` (default): all-MiniLM-L6-v2 with LoRA adapters and a calibrated linear head
  trained on Twitter financial news (:mod:`models.sentiment.classifier`).
* ``local`` + ``fewshot``: Gemma-3-270M few-shot label scoring, no training
  (:mod:`models.sentiment.fewshot`).
* ``remote``: a bigger LLM behind an OpenAI-compatible completions API (:mod:`models.sentiment.remote`).

Importing this package is cheap; torch and transformers load with the first model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from models.sentiment.text import LABELS, Prediction, normalize_headline

__all__ = ["LABELS", "Prediction", "SentimentModel", "load_classifier", "normalize_headline"]


class SentimentModel(Protocol):
    """What every backend offers."""

    model_id: str
    model_version: str

    def predict(self, headlines: Sequence[str], batch_size: int = 32) -> list[Prediction]: ...


def load_classifier(
    backend: str = "local",
    model: str = "head",
    device: str = "auto",
    url: str | None = None,
    remote_model: str = "default",
    timeout_s: float = 30.0,
) -> SentimentModel:
    """Build a backend: ``local`` with ``model`` ``head`` or ``fewshot`` on ``device``, or ``remote`` at ``url``."""
    if backend == "remote":
        from models.sentiment.remote import RemoteClassifier

        if not url:
            raise ValueError("backend 'remote' needs a URL (IMPACT_SENTIMENT_URL or --url)")
        return RemoteClassifier(url, remote_model, timeout_s=timeout_s)
    if backend != "local":
        raise ValueError(f"unknown backend {backend!r}; use local or remote")
    if model == "head":
        from models.sentiment.classifier import HeadClassifier

        return HeadClassifier.load(device=device)
    if model == "fewshot":
        from models.sentiment.fewshot import FewShotClassifier

        return FewShotClassifier.load(device=device)
    raise ValueError(f"unknown local model {model!r}; use head or fewshot")
