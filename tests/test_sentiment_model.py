"""Real inference: the shipped target-aware model on CPU."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from models.sentiment.classifier import DEFAULT_MODEL, PairCard, PairClassifier, encode_pair, file_sha256
from models.sentiment.text import LABELS, Link, Pair, Target

NVIDIA = Target("Nvidia", "NVDA", ("NVIDIA Corporation", "$NVDA", "Jensen Huang"))
AMD = Target("AMD", "AMD", ("Advanced Micro Devices", "$AMD"))
MICROSOFT = Target("Microsoft", "MSFT", ("$MSFT", "Azure"))

PAIRS = [
    Pair("Nvidia shares plunge 17% as DeepSeek model rattles AI investors", NVIDIA),
    Pair("Microsoft beats quarterly estimates and raises full-year guidance", MICROSOFT),
    Pair("Apple to hold its annual shareholder meeting on February 25", Target("Apple")),
    Pair("", NVIDIA),
    Pair("AT&amp;T profit falls short of forecasts, shares slide", Target("AT&T")),
    Pair("Le titre Nvidia chute après l'annonce de DeepSeek", NVIDIA),
    Pair("Broadcom surges after record AI revenue " * 400, Target("Broadcom")),
    Pair("AMD wins Microsoft AI-chip order", NVIDIA, Link("indirect", ("AMD",), "competitor")),
]


@pytest.fixture(scope="module")
def model() -> PairClassifier:
    return PairClassifier.load(device="cpu")


def test_shipped_model_is_small_described_and_matches_its_card():
    tensors = DEFAULT_MODEL.with_suffix(".safetensors")
    card = PairCard.read(DEFAULT_MODEL.with_suffix(".json"))
    assert tensors.stat().st_size < 5 * 1024 * 1024
    assert card.model == "minilm-target"
    assert card.weights_sha256 == file_sha256(tensors)
    assert set(card.training["rows_by_source"]) == {"twitter", "composite", "template", "indirect"}
    assert 0.05 < card.temperature < 20


def test_real_batch_labels_probabilities_and_edge_cases(model):
    results = model.predict(PAIRS, batch_size=4)
    assert len(results) == len(PAIRS)
    for pair, r in zip(PAIRS, results):
        probs = (r.p_negative, r.p_neutral, r.p_positive)
        assert sum(probs) == pytest.approx(1.0, abs=1e-5)
        assert all(0.0 <= p <= 1.0 for p in probs)
        if pair.headline:  # the empty headline's uniform answer is labelled neutral by definition
            assert r.label == LABELS[max(range(3), key=lambda i: probs[i])]
        assert -1.0 <= r.score <= 1.0 and r.score == pytest.approx(r.p_positive - r.p_negative)
        assert (r.model, r.model_version) == (model.model_id, model.model_version)
    assert results[0].label == "negative"
    assert results[1].label == "positive"
    assert results[3].label == "neutral" and results[3].score == 0.0  # empty: the defined uniform answer
    assert results[4].label == "negative"  # HTML entities decoded before scoring
    assert results[7].label == "negative"  # a competitor's win, scored for Nvidia


def test_the_target_changes_the_answer(model):
    headline = "Intel shares sink after weak forecast; Qualcomm rallies on strong handset demand"
    intel, qualcomm = model.predict([Pair(headline, Target("Intel")), Pair(headline, Target("Qualcomm"))])
    assert (intel.label, qualcomm.label) == ("negative", "positive")
    assert qualcomm.score - intel.score > 1.0
    rival = model.predict([Pair("AMD wins Microsoft AI-chip order", NVIDIA, Link("indirect", ("AMD",), "competitor")),
                           Pair("AMD wins Microsoft AI-chip order", AMD)])
    assert (rival[0].label, rival[1].label) == ("negative", "positive")


@pytest.mark.xfail(strict=True, reason="known miss of the shipped model: 'chipping at X's lead' is read as good for X")
def test_a_rival_named_in_passing_is_scored_for_the_rival(model):
    headline = "AMD wins Microsoft order, chipping at Nvidia's lead"
    amd, nvda = model.predict([Pair(headline, AMD), Pair(headline, NVIDIA)])
    assert amd.score > nvda.score


def test_batching_does_not_change_the_answer(model):
    inputs = [encode_pair(p) for p in PAIRS if p.headline]
    one = model.logits(inputs, batch_size=1)
    many = model.logits(inputs, batch_size=32)
    assert torch.allclose(one, many, atol=1e-4)


def test_weights_that_do_not_match_the_card_are_refused(tmp_path):
    from safetensors.torch import load_file, save_file

    stem = tmp_path / "model"
    shutil.copy(DEFAULT_MODEL.with_suffix(".json"), stem.with_suffix(".json"))
    tensors = load_file(str(DEFAULT_MODEL.with_suffix(".safetensors")))
    tensors["head.bias"] = tensors["head.bias"] + 1.0
    save_file(tensors, str(stem.with_suffix(".safetensors")))
    with pytest.raises(ValueError, match="is not the file its card"):
        PairClassifier.load(stem, device="cpu")
    card = json.loads(stem.with_suffix(".json").read_text())
    card["weights_sha256"] = ""
    card["lora_rank"] = 4  # the tensors were trained with rank 8
    stem.with_suffix(".json").write_text(json.dumps(card))
    with pytest.raises(ValueError, match="do not match their card"):
        PairClassifier.load(stem, device="cpu")
    stem.with_suffix(".safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="impact sentiment train"):
        PairClassifier.load(stem, device="cpu")
