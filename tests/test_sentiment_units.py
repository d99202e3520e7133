"""Sentiment building blocks that need no model: text treatment, pair encoding, composition, metrics, calibration, device choice, data readers, LoRA."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from models.sentiment.calibration import fit_temperature
from models.sentiment.classifier import MARK_CLOSE, MARK_OPEN, encode_pair, mark_mentions
from models.sentiment.compose import GENERIC, Composition, compose, subject_target, template_examples, tweet_target
from models.sentiment.datasets import LabelledSet, read_phrasebank, read_twitter
from models.sentiment.device import select_device
from models.sentiment.lora import LoRALinear, apply_lora, lora_state
from models.sentiment.metrics import expected_calibration_error, score
from models.sentiment.text import (
    LABELS,
    MAX_CHARS,
    Link,
    Pair,
    Target,
    empty_prediction,
    normalize_headline,
    prediction_from_probs,
)
from models.sentiment.training import length_bucketed_batches, stratified_split


def test_label_order_is_fixed():
    assert LABELS == ("negative", "neutral", "positive")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("AT&amp;T beats estimates", "AT&T beats estimates"),
        ("AT&amp;amp;T &quot;cuts&quot; jobs", 'AT&T "cuts" jobs'),
        ("<b>Nvidia</b> rallies", "Nvidia rallies"),
        ("$BYND - JPMorgan reels in expectations https://t.co/bd0xbFGjkT", "JPMorgan reels in expectations"),
        ("$CCL $RCL - Nomura sees weakness", "Nomura sees weakness"),
        ("  Apple\n\tup  3% ", "Apple up 3%"),
        ("Shares of $AAPL rise", "Shares of $AAPL rise"),
        ("", ""),
        ("   https://example.com/x  ", ""),
        ("Nvidia-Aktie fällt nach DeepSeek-Schock", "Nvidia-Aktie fällt nach DeepSeek-Schock"),
    ],
)
def test_normalize_headline(raw, expected):
    assert normalize_headline(raw) == expected


def test_absurdly_long_headline_is_capped():
    assert len(normalize_headline("word " * 100_000)) == MAX_CHARS


def test_prediction_from_probs_normalises_and_scores():
    p = prediction_from_probs((2.0, 1.0, 1.0), "m", "v")
    assert p.label == "negative"
    assert math.isclose(p.p_negative + p.p_neutral + p.p_positive, 1.0)
    assert math.isclose(p.score, 0.25 - 0.5)
    with pytest.raises(ValueError):
        prediction_from_probs((0.0, 0.0, 0.0), "m", "v")
    empty = empty_prediction("m", "v")
    assert (empty.label, empty.score) == ("neutral", 0.0)
    assert math.isclose(empty.p_negative + empty.p_neutral + empty.p_positive, 1.0)


def test_metrics_match_hand_computed_values():
    truth = [0, 0, 1, 1, 1, 2]
    predicted = [0, 1, 1, 1, 2, 2]
    result = score(truth, predicted)
    assert result.accuracy == pytest.approx(4 / 6)
    assert result.confusion.tolist() == [[1, 1, 0], [0, 2, 1], [0, 0, 1]]
    f1 = [2 / 3, 2 / 3, 2 / 3]  # negative 2*1/(2+1); neutral 2*2/(3+3); positive 2*1/(1+2)
    assert result.per_class_f1 == pytest.approx(tuple(f1))
    assert result.macro_f1 == pytest.approx(np.mean(f1))
    assert result.weighted_f1 == pytest.approx((2 * f1[0] + 3 * f1[1] + 1 * f1[2]) / 6)
    with pytest.raises(ValueError):
        score([0], [0, 1])


def test_temperature_scaling_recovers_overconfidence():
    generator = torch.Generator().manual_seed(0)
    true_logits = torch.randn(4000, 3, generator=generator) * 2
    labels = torch.multinomial(torch.softmax(true_logits, -1), 1, generator=generator).squeeze(1).tolist()
    with torch.inference_mode():  # logits from inference come as inference tensors
        scaled = true_logits * 3.0
    temperature = fit_temperature(scaled, labels)
    assert temperature == pytest.approx(3.0, rel=0.1)
    calibrated = torch.softmax(true_logits * 3.0 / temperature, -1).numpy()
    overconfident = torch.softmax(true_logits * 3.0, -1).numpy()
    assert expected_calibration_error(calibrated, labels) < expected_calibration_error(overconfident, labels)


def test_auto_device_picks_cuda_only_when_available(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    choice = select_device("auto")
    assert (choice.device.type, choice.dtype) == ("cuda", torch.bfloat16)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    choice = select_device("auto")
    assert (choice.device.type, choice.dtype) == ("cpu", torch.float32)
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        select_device("cuda")
    with pytest.raises(ValueError, match="unknown device"):
        select_device("tpu")


def test_readers_map_labels(tmp_path):
    twitter = tmp_path / "sent_valid.csv"
    twitter.write_text('text,label\n"$X - bad news",0\ngood news,1\nmeh,2\n', encoding="utf-8")
    data = read_twitter(twitter)
    assert [LABELS[i] for i in data.labels] == ["negative", "positive", "neutral"]
    fpb = tmp_path / "Sentences_50Agree.txt"
    fpb.write_bytes("Profit rose to EUR 5 mn .@positive\nSales in Åbo were flat .@neutral\n".encode("iso-8859-1"))
    data = read_phrasebank(fpb)
    assert data.texts[1] == "Sales in Åbo were flat ."
    assert [LABELS[i] for i in data.labels] == ["positive", "neutral"]
    fpb.write_text("no label here\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 1"):
        read_phrasebank(fpb)


def test_lora_starts_as_the_base_and_trains_only_adapters():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    x = torch.randn(4, 8)
    before = model(x)
    names = apply_lora(model, ("0", "2"), rank=2, alpha=4)
    assert names == ["0", "2"] and isinstance(model[0], LoRALinear)
    assert torch.allclose(model(x), before)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {"0.lora_a", "0.lora_b", "2.lora_a", "2.lora_b"}
    assert set(lora_state(model)) == trainable
    with pytest.raises(ValueError, match="no linear layer"):
        apply_lora(model, ("missing",), rank=2, alpha=4)


def test_split_and_batches_cover_every_row_once():
    labels = [0] * 50 + [1] * 30 + [2] * 120
    train, holdout = stratified_split(labels, 0.1, seed=1)
    assert sorted(train + holdout) == list(range(200))
    assert [sum(labels[i] == k for i in holdout) for k in range(3)] == [5, 3, 12]
    batches = length_bucketed_batches(list(range(200)), 32, __import__("random").Random(0))
    assert sorted(i for b in batches for i in b) == list(range(200))
    assert all(len(b) <= 32 for b in batches)


NVIDIA = Target("Nvidia", "NVDA", ("NVIDIA Corporation", "$NVDA", "Jensen Huang", "GeForce"))


def test_pair_encoding_marks_the_target_and_its_aliases():
    first, second = encode_pair(Pair("Jensen Huang says NVIDIA's GeForce sales rose; $NVDA up, AMD flat", NVIDIA))
    assert first == "Nvidia"
    assert second == "« Jensen Huang » says « NVIDIA »'s « GeForce » sales rose; « $NVDA » up, AMD flat"
    assert encode_pair(Pair("AMD wins Microsoft order, chipping at Nvidia's lead", Target("AMD")))[1] == (
        "« AMD » wins Microsoft order, chipping at Nvidia's lead")


def test_pair_encoding_keeps_short_names_case_sensitive_and_words_whole():
    arm = Target("Arm", "ARM")
    assert mark_mentions("Arm shares rise as firms arm themselves", arm) == "« Arm » shares rise as firms arm themselves"
    assert mark_mentions("Armada and Swarm rally", arm) == "Armada and Swarm rally"
    assert mark_mentions("nvidia and NVIDIA", NVIDIA) == "« nvidia » and « NVIDIA »"


def test_pair_encoding_states_an_indirect_relation_and_neutralises_stray_markers():
    pair = Pair("<b>AMD</b> wins a Microsoft order  https://t.co/x", NVIDIA, Link("indirect", ("AMD",), "competitor"))
    assert encode_pair(pair) == ("Nvidia (competitor named: AMD)", "AMD wins a Microsoft order")
    assert encode_pair(Pair("Chip demand slumps", NVIDIA, Link("indirect", ("chips",))))[0] == "Nvidia (related named: chips)"
    assert encode_pair(Pair("Nvidia up", NVIDIA, Link("direct", ("Nvidia",))))[0] == "Nvidia"
    assert MARK_OPEN not in encode_pair(Pair("«Quoted» news", Target("Acme")))[1]
    assert encode_pair(Pair("   ", NVIDIA)) == ("Nvidia", "")


def test_tweet_targets_come_from_cashtags_or_the_leading_name():
    raw = "$BYND - JPMorgan reels in expectations on Beyond Meat https://t.co/x"
    assert tweet_target(raw, normalize_headline(raw)) == Target("Beyond", "BYND", ("$BYND",))  # shortest name spelling BYND
    assert tweet_target("$GM - GM loses a bull", "GM loses a bull").name == "GM"
    assert tweet_target("$ESS: BTIG Research cuts to Neutral", "BTIG Research cuts to Neutral") is None
    assert subject_target("Arrowhead Pharma up 5% after Medicines Co. sale") == Target("Arrowhead Pharma")
    assert subject_target("Trade momentum rose in September", frozenset({"trade"})) is None
    assert subject_target("Morgan Stanley cuts Tesla to underweight") is None


def _tweets() -> LabelledSet:
    texts = [f"{name} shares {verb} after results" for name in ("Acme", "Globex", "Initech", "Hooli", "Vandelay")
             for verb in ("jump", "slide", "hold steady")]
    labels = [LABELS.index(x) for _ in range(5) for x in ("positive", "negative", "neutral")]
    return LabelledSet("toy", texts, labels)


def test_composition_is_reproducible_and_seed_dependent():
    plan = Composition(composites=6, templates=5, indirect=5, seed=3)
    first, again = compose(_tweets(), plan), compose(_tweets(), plan)
    assert first == again
    assert first != compose(_tweets(), Composition(composites=6, templates=5, indirect=5, seed=4))
    sources = {row.source for row in first}
    assert sources == {"twitter", "composite", "template", "indirect"}
    assert all(row.pair.link is not None and row.pair.link.relevance == "indirect" for row in first if row.source == "indirect")


def test_composites_label_each_company_by_its_own_part():
    rows = [r for r in compose(_tweets(), Composition(composites=10, templates=0, indirect=0, seed=1)) if r.source == "composite"]
    assert len(rows) == 20
    by_headline: dict[str, dict[str, int]] = {}
    for row in rows:
        by_headline.setdefault(row.pair.headline, {})[row.pair.target.name] = row.label
    for headline, labels in by_headline.items():
        assert len(set(labels.values())) == 2, headline  # the two companies' parts disagree
        for name, label in labels.items():
            verb = {"positive": "jump", "negative": "slide", "neutral": "hold steady"}[LABELS[label]]
            assert f"{name} shares {verb}" in headline


def test_templates_name_every_labelled_company():
    import random

    rows = template_examples(50, random.Random(0))
    for row in rows:
        assert row.pair.target is not GENERIC
        assert MARK_OPEN in encode_pair(row.pair)[1] and MARK_CLOSE in encode_pair(row.pair)[1], row.pair
