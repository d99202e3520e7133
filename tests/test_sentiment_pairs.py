"""Pairing and evaluation logic with a stand-in scorer: relevance none never reaches a model, conflicts are scored apart."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from models import sentiment
from models.sentiment.evaluation import EvalSet, evaluate
from models.sentiment.pairs import TAGGED, headline_pairs, score_pairs
from models.sentiment.text import LABELS, Link, Pair, Prediction, Target, prediction_from_probs


class NameBeforeVerb:
    """Positive for the company written before "beats", negative for the one before "misses"; counts calls."""

    model_id, model_version = "stand-in", "1"

    def __init__(self) -> None:
        self.asked: list[Pair] = []

    def predict(self, pairs: Sequence[Pair], batch_size: int = 32) -> list[Prediction]:
        self.asked.extend(pairs)
        out = []
        for pair in pairs:
            name = pair.target.name
            probs = (0.1, 0.1, 0.8) if f"{name} beats" in pair.headline else (0.8, 0.1, 0.1) if f"{name} misses" in pair.headline else (0.1, 0.8, 0.1)
            out.append(prediction_from_probs(probs, self.model_id, self.model_version))
        return out


class FixedLinker:
    def __init__(self, links: dict[str, Link]) -> None:
        self.links = links

    def link(self, headline: str) -> dict[str, Link]:
        return dict(self.links)


def test_pairs_with_relevance_none_never_reach_the_model():
    model = NameBeforeVerb()
    pairs = [Pair("Acme beats", Target("Acme")), Pair("Acme beats", Target("Zeta"), Link("none")),
             Pair("Zeta misses", Target("Zeta"), Link("direct", ("Zeta",)))]
    predictions = score_pairs(model, pairs)
    assert [p.label for p in predictions] == ["positive", "neutral", "negative"]
    assert predictions[1].p_neutral == 1.0 and predictions[1].score == 0.0
    assert [p.target.name for p in model.asked] == ["Acme", "Zeta"]
    assert score_pairs(model, []) == []


def test_headline_pairs_merge_links_and_source_tags_in_ticker_order():
    linker = FixedLinker({"NVDA": Link("direct", ("Nvidia",)), "AMD": Link("indirect", ("Nvidia",), "competitor"),
                          "SPY": Link("none")})
    pairs = headline_pairs(linker, lambda t: Target(t, t), "Nvidia beats", tagged=["ORCL", "NVDA"])
    assert [(t, p.link) for t, p in pairs] == [
        ("AMD", Link("indirect", ("Nvidia",), "competitor")), ("NVDA", Link("direct", ("Nvidia",))), ("ORCL", TAGGED)]
    assert [t for t, _ in headline_pairs(linker, lambda t: Target(t, t), "x", tagged=["ORCL"], universe=["NVDA"])] == ["NVDA"]


def test_evaluation_scores_conflicting_headlines_apart():
    data = EvalSet("toy", [
        Pair("Acme beats as Zeta misses", Target("Acme")), Pair("Acme beats as Zeta misses", Target("Zeta")),
        Pair("Quiet day for Omni", Target("Omni")), Pair("Omni beats", Target("Omni")),
    ], [LABELS.index(x) for x in ("positive", "negative", "neutral", "negative")])
    assert data.conflicting() == [True, True, False, False]
    result = evaluate(NameBeforeVerb(), data)
    assert result.overall.n == 4 and result.overall.accuracy == pytest.approx(0.75)
    assert result.conflicting.n == 2 and result.conflicting.accuracy == 1.0
    row = result.row()
    assert row["conflict_n"] == 2 and row["model"] == "stand-in"


def test_samples_keep_a_headlines_pairs_together_and_are_seeded():
    pairs = [Pair(f"h{i // 2}", Target(f"c{i}")) for i in range(40)]
    data = EvalSet("toy", pairs, [0] * 40)
    small = data.sample(10, seed=3)
    assert small.pairs == data.sample(10, seed=3).pairs
    assert 10 <= len(small.pairs) <= 11
    headlines = [p.headline for p in small.pairs]
    assert all(headlines.count(h) == 2 for h in headlines)
    assert data.sample(None) is data
    with pytest.raises(ValueError, match="pairs but"):
        EvalSet("bad", pairs, [0])


def test_backend_registry_names_the_choices():
    import pipelines.sources.inference  # noqa: F401  (registers 'remote', which speaks HTTP)

    assert set(sentiment.BACKENDS) == {"local", "llm", "remote"}
    with pytest.raises(ValueError, match="local, llm, remote"):
        sentiment.load_classifier(sentiment.BackendConfig(backend="gpt"))
    with pytest.raises(ValueError, match="needs a URL"):
        sentiment.load_classifier(sentiment.BackendConfig(backend="remote"))
