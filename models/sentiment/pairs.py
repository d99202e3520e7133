"""From headlines to scored (headline, company) pairs: which companies a headline concerns, and their scores.

The entity linker says how a headline concerns each company (``direct``, ``indirect``); a ticker
that the news source tagged but the linker cannot tie to the text is kept as ``indirect`` with
relation ``tagged`` (the vendor says the story concerns it). A pair with relevance ``none`` is
never sent to a model: it is neutral for certain (p_neutral = 1, score 0).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

from models.sentiment import SentimentModel
from models.sentiment.text import Link, Pair, Prediction, Target

TAGGED = Link("indirect", relation="tagged")
"""The link of a ticker the news source tagged although the headline does not name it."""


class Linker(Protocol):
    """What pairing needs of the entity linker (models.sentiment.entities.EntityLinker)."""

    def link(self, headline: str) -> dict[str, Link]: ...


def unrelated_prediction(model: str, model_version: str) -> Prediction:
    """The answer for a pair whose headline does not concern the company: neutral with certainty."""
    return Prediction("neutral", 0.0, 1.0, 0.0, 0.0, model, model_version)


def headline_pairs(
    linker: Linker,
    target_of: Callable[[str], Target],
    headline: str,
    tagged: Iterable[str] = (),
    universe: Iterable[str] | None = None,
) -> list[tuple[str, Pair]]:
    """Every (ticker, Pair) that ``headline`` concerns: linked companies plus the source's tags, sorted by ticker.

    ``universe`` (when given) limits the tickers to those; ``target_of`` gives each ticker's Target.
    """
    links = linker.link(headline)
    for ticker in tagged:
        links.setdefault(ticker, TAGGED)
    allowed = None if universe is None else set(universe)
    return [
        (ticker, Pair(headline, target_of(ticker), link))
        for ticker, link in sorted(links.items())
        if link.relevance != "none" and (allowed is None or ticker in allowed)
    ]


def score_pairs(model: SentimentModel, pairs: Sequence[Pair], batch_size: int = 32) -> list[Prediction]:
    """Predictions for ``pairs`` in order; pairs linked with relevance ``none`` skip the model."""
    related = [i for i, pair in enumerate(pairs) if pair.link is None or pair.link.relevance != "none"]
    scored = model.predict([pairs[i] for i in related], batch_size=batch_size) if related else []
    results = [unrelated_prediction(model.model_id, model.model_version)] * len(pairs)
    for index, prediction in zip(related, scored, strict=True):
        results[index] = prediction
    return results
