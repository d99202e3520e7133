"""Classification metrics for the evaluation command: accuracy, macro/weighted F1, confusion matrix."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from models.sentiment.text import LABELS


@dataclass(frozen=True)
class Scores:
    """Scores of one prediction run; ``confusion[i, j]`` counts true ``LABELS[i]`` predicted ``LABELS[j]``."""

    n: int
    accuracy: float
    macro_f1: float
    weighted_f1: float
    confusion: np.ndarray
    per_class_f1: tuple[float, ...]


def score(truth: Sequence[int], predicted: Sequence[int], n_labels: int = len(LABELS)) -> Scores:
    """Compare label indices; F1 of a class with no true and no predicted rows counts as 0."""
    y, p = np.asarray(truth, dtype=int), np.asarray(predicted, dtype=int)
    if y.shape != p.shape or y.size == 0:
        raise ValueError(f"need equally long, non-empty label lists, got {y.size} and {p.size}")
    confusion = np.zeros((n_labels, n_labels), dtype=int)
    np.add.at(confusion, (y, p), 1)
    tp = np.diag(confusion).astype(float)
    support = confusion.sum(axis=1).astype(float)
    predicted_count = confusion.sum(axis=0).astype(float)
    denominator = support + predicted_count
    f1 = np.divide(2 * tp, denominator, out=np.zeros(n_labels), where=denominator > 0)
    return Scores(
        n=int(y.size),
        accuracy=float(tp.sum() / y.size),
        macro_f1=float(f1.mean()),
        weighted_f1=float((f1 * support).sum() / support.sum()),
        confusion=confusion,
        per_class_f1=tuple(float(v) for v in f1),
    )


def expected_calibration_error(probs: np.ndarray, truth: Sequence[int], bins: int = 10) -> float:
    """ECE: mean |confidence - accuracy| over equal-width confidence bins, weighted by bin size."""
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == np.asarray(truth)
    edges = np.linspace(0.0, 1.0, bins + 1)
    total = 0.0
    for low, high in zip(edges[:-1], edges[1:]):
        inside = (confidence > low) & (confidence <= high)
        if inside.any():
            total += inside.mean() * abs(confidence[inside].mean() - correct[inside].mean())
    return float(total)
