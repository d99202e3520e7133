"""Real inference: the shipped head on CPU (and Gemma few-shot scoring, slow), plus the CLI contract."""

from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

from models.sentiment.classifier import DEFAULT_HEAD, HeadCard, HeadClassifier
from models.sentiment.text import LABELS

HEADLINES = [
    "Nvidia shares plunge 17% as DeepSeek model rattles AI investors",
    "Microsoft beats quarterly estimates and raises full-year guidance",
    "Apple to hold its annual shareholder meeting on February 25",
    "",
    "AT&amp;T profit falls short of forecasts, shares slide",
    "Le titre Nvidia chute après l'annonce de DeepSeek",
    "Broadcom surges after record AI revenue " * 400,
]


@pytest.fixture(scope="module")
def head() -> HeadClassifier:
    return HeadClassifier.load(device="cpu")


def test_shipped_head_is_small_and_described():
    tensors = DEFAULT_HEAD.with_suffix(".safetensors")
    card = HeadCard.read(DEFAULT_HEAD.with_suffix(".json"))
    assert tensors.stat().st_size < 5 * 1024 * 1024
    assert card.training["data"] == "twitter_financial_news/train"
    assert 0.05 < card.temperature < 20


def test_real_batch_labels_probabilities_and_edge_cases(head):
    results = head.predict(HEADLINES, batch_size=4)
    assert len(results) == len(HEADLINES)
    for text, r in zip(HEADLINES, results):
        probs = (r.p_negative, r.p_neutral, r.p_positive)
        assert sum(probs) == pytest.approx(1.0, abs=1e-5)
        assert all(0.0 <= p <= 1.0 for p in probs)
        if text:  # the empty headline's uniform answer is labelled neutral by definition
            assert r.label == LABELS[max(range(3), key=lambda i: probs[i])]
        assert -1.0 <= r.score <= 1.0 and r.score == pytest.approx(r.p_positive - r.p_negative)
        assert (r.model, r.model_version) == (head.model_id, head.model_version)
    assert results[0].label == "negative"
    assert results[1].label == "positive"
    assert results[3].label == "neutral" and results[3].score == 0.0  # empty: the defined uniform answer
    assert results[4].label == "negative"  # HTML entities decoded before scoring


def test_batching_does_not_change_the_answer(head):
    texts = [h for h in HEADLINES if h]
    one = head.logits(texts, batch_size=1)
    many = head.logits(texts, batch_size=32)
    assert torch.allclose(one, many, atol=1e-4)


def test_classify_command_contract(monkeypatch):
    from pipelines.commands.sentiment import app

    runner = CliRunner()
    result = runner.invoke(app, ["classify", "-", "--device", "cpu"], input="Shares plunge after profit warning\n\nRecord profit, dividend raised\n")
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip("\n").split("\n")
    assert lines[0].split("\t") == ["label", "p_negative", "p_neutral", "p_positive", "score"]
    assert len(lines) == 4  # header + one row per input line, the blank one included
    rows = [line.split("\t") for line in lines[1:]]
    assert [r[0] for r in rows] == ["negative", "neutral", "positive"]
    assert all(sum(float(v) for v in r[1:4]) == pytest.approx(1.0, abs=2e-4) for r in rows)
    result = runner.invoke(app, ["classify", "-", "--format", "json", "--device", "cpu"], input="Shares plunge\n")
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.stdout)
    assert set(row) >= {"headline", "label", "p_negative", "p_neutral", "p_positive", "score", "model", "model_version"}
    result = runner.invoke(app, ["classify", "-", "--format", "xml"], input="x\n")
    assert result.exit_code != 0


@pytest.mark.slow
def test_gemma_fewshot_prefix_cache_matches_full_prompt():
    """Gemma-3-270M from the conversion cache: cached-prefix batches equal a plain full-prompt pass."""
    from models.sentiment.fewshot import FewShotClassifier, build_prefix

    fewshot = FewShotClassifier.load(device="cpu")
    texts = ["Intel shares tumble after weak outlook", "Meta beats estimates, raises guidance"]
    cached = fewshot.label_logits(texts, batch_size=2)
    for row, text in enumerate(texts):
        ids = fewshot.tokenizer(build_prefix() + f"Headline: {text}\nSentiment:", return_tensors="pt")["input_ids"]
        with torch.inference_mode():
            full = fewshot.model(input_ids=ids, logits_to_keep=1).logits[0, -1, fewshot.label_ids]
        assert torch.allclose(cached[row], full.float(), atol=1e-3)
    labels = [p.label for p in fewshot.predict(texts)]
    assert labels == ["negative", "positive"]
