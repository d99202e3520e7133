"""Entity-level evaluation: accuracy and macro-F1 over (headline, company) pairs, and on conflicting headlines.

A headline is *conflicting* when the companies it names carry different gold labels ("AMD wins
an order from Nvidia's customer": AMD positive, NVDA negative). A scorer blind to the company
gives every pair of a headline the same label, so the conflicting pairs are where target
awareness shows; they are scored apart.
"""

from __future__ import annotations

import random
import time
from collections import defaultdict
from dataclasses import dataclass

from models.sentiment import SentimentModel
from models.sentiment.metrics import Scores, score
from models.sentiment.pairs import score_pairs
from models.sentiment.text import LABELS, Pair, normalize_headline


@dataclass(frozen=True)
class EvalSet:
    """Labelled pairs: ``labels[i]`` indexes :data:`LABELS` and is the gold effect of ``pairs[i].headline`` on its target."""

    name: str
    pairs: list[Pair]
    labels: list[int]

    def __post_init__(self) -> None:
        if len(self.pairs) != len(self.labels):
            raise ValueError(f"{self.name}: {len(self.pairs)} pairs but {len(self.labels)} labels")

    def conflicting(self) -> list[bool]:
        """Per pair: does its headline carry another pair with a different gold label?"""
        labels_of: dict[str, set[int]] = defaultdict(set)
        for pair, label in zip(self.pairs, self.labels, strict=True):
            labels_of[normalize_headline(pair.headline)].add(label)
        return [len(labels_of[normalize_headline(p.headline)]) > 1 for p in self.pairs]

    def sample(self, n: int | None, seed: int = 0) -> EvalSet:
        """A seeded sample of ``n`` whole headlines' pairs (all when ``n`` is None or not smaller), order kept.

        Sampling by headline keeps a conflicting headline's pairs together.
        """
        if n is None or n >= len(self.pairs):
            return self
        headlines = sorted({p.headline for p in self.pairs})
        random.Random(seed).shuffle(headlines)
        chosen, count = set(), 0
        size: defaultdict[str, int] = defaultdict(int)
        for pair in self.pairs:
            size[pair.headline] += 1
        for headline in headlines:
            if count >= n:
                break
            chosen.add(headline)
            count += size[headline]
        keep = [i for i, p in enumerate(self.pairs) if p.headline in chosen]
        return EvalSet(f"{self.name} (sample {len(keep)})", [self.pairs[i] for i in keep], [self.labels[i] for i in keep])


@dataclass(frozen=True)
class EvalResult:
    """How a scorer did on one set: all pairs, the pairs of conflicting headlines, and its speed."""

    name: str
    model: str
    model_version: str
    overall: Scores
    conflicting: Scores | None
    pairs_per_s: float

    def row(self) -> dict[str, object]:
        """A flat record for tables and JSON."""
        c = self.conflicting
        return {
            "set": self.name, "model": self.model, "model_version": self.model_version, "n": self.overall.n,
            "accuracy": self.overall.accuracy, "macro_f1": self.overall.macro_f1,
            "conflict_n": c.n if c else 0, "conflict_accuracy": c.accuracy if c else None,
            "pairs_per_s": self.pairs_per_s,
        }


def evaluate(model: SentimentModel, data: EvalSet, batch_size: int = 32) -> EvalResult:
    """Score every pair of ``data`` with ``model`` and compare with the gold labels."""
    started = time.perf_counter()
    predicted = [LABELS.index(p.label) for p in score_pairs(model, data.pairs, batch_size=batch_size)]
    rate = len(data.pairs) / max(time.perf_counter() - started, 1e-9)
    flags = data.conflicting()
    inside = [i for i, flag in enumerate(flags) if flag]
    conflicting = score([data.labels[i] for i in inside], [predicted[i] for i in inside]) if inside else None
    return EvalResult(data.name, model.model_id, model.model_version, score(data.labels, predicted), conflicting, rate)
