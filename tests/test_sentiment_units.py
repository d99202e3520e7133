"""Sentiment building blocks that need no model: text treatment, metrics, calibration, device choice, data readers, LoRA."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from models.sentiment.calibration import fit_temperature
from models.sentiment.datasets import read_phrasebank, read_twitter
from models.sentiment.device import select_device
from models.sentiment.lora import LoRALinear, apply_lora, lora_state
from models.sentiment.metrics import expected_calibration_error, score
from models.sentiment.text import LABELS, MAX_CHARS, empty_prediction, normalize_headline, prediction_from_probs
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


def test_eval_and_train_commands_name_missing_data(tmp_path):
    from typer.testing import CliRunner

    from pipelines.commands.sentiment import app

    runner = CliRunner()
    result = runner.invoke(app, ["eval", "--data", str(tmp_path)])
    assert result.exit_code == 2 and "Sentences_AllAgree.txt" in result.stderr
    result = runner.invoke(app, ["train", "--data", str(tmp_path)])
    assert result.exit_code == 2 and "sent_train.csv" in result.stderr
