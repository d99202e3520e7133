"""Training the shipped head: LoRA adapters + linear head on Twitter financial news, then calibration.

Only the Twitter training split is used: a stratified, seeded slice of it is held out to pick
the best epoch and fit the temperature, so the Twitter valid split stays an honest score and the
Financial PhraseBank (evaluation only) is never seen. Batches are length-bucketed (shuffled, then
sorted by length in windows) so CPU time goes to tokens, not padding.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from models.sentiment.backbone import load_backbone
from models.sentiment.calibration import fit_temperature
from models.sentiment.classifier import DEFAULT_HEAD, HeadCard, HeadClassifier, build_net, file_version, trainable_state
from models.sentiment.datasets import LabelledSet
from models.sentiment.device import select_device
from models.sentiment.metrics import expected_calibration_error, score
from models.sentiment.text import normalize_headline


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of ``impact sentiment train`` (defaults reproduce the shipped head)."""

    epochs: int = 4
    batch_size: int = 32
    learning_rate: float = 1e-3
    weight_decay: float = 0.01
    warmup_fraction: float = 0.06
    holdout_fraction: float = 0.1
    seed: int = 13
    card: HeadCard = field(default_factory=HeadCard)


@dataclass(frozen=True)
class TrainResult:
    """Where the head went and how it did on the held-out Twitter slice."""

    stem: Path
    version: str
    best_epoch: int
    holdout_accuracy: float
    temperature: float
    ece_before: float
    ece_after: float
    seconds: float


def stratified_split(labels: list[int], fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Indices (train, holdout) with ``fraction`` of every label held out, reproducibly."""
    rng = random.Random(seed)
    train, holdout = [], []
    for label in sorted(set(labels)):
        members = [i for i, y in enumerate(labels) if y == label]
        rng.shuffle(members)
        cut = int(round(len(members) * fraction))
        holdout.extend(members[:cut])
        train.extend(members[cut:])
    return sorted(train), sorted(holdout)


def length_bucketed_batches(lengths: list[int], batch_size: int, rng: random.Random, window: int = 50) -> list[list[int]]:
    """Shuffle, sort by length inside windows of ``window`` batches, then shuffle the batches."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    batches: list[list[int]] = []
    span = batch_size * window
    for start in range(0, len(order), span):
        block = sorted(order[start : start + span], key=lambda i: lengths[i])
        batches.extend(block[i : i + batch_size] for i in range(0, len(block), batch_size))
    rng.shuffle(batches)
    return batches


def train_head(
    data: LabelledSet,
    stem: Path = DEFAULT_HEAD,
    config: TrainConfig = TrainConfig(),
    device: str = "auto",
    log: Callable[[str], None] = print,
) -> TrainResult:
    """Train adapters and head on ``data``, keep the best epoch, calibrate, and write ``stem``.{json,safetensors}."""
    from safetensors.torch import save_file

    began = time.monotonic()
    torch.manual_seed(config.seed)
    rng = random.Random(config.seed)
    texts = [normalize_headline(t) for t in data.texts]
    keep = [i for i, t in enumerate(texts) if t]
    texts, labels = [texts[i] for i in keep], [data.labels[i] for i in keep]
    train_idx, holdout_idx = stratified_split(labels, config.holdout_fraction, config.seed)
    log(f"{data.name}: {len(train_idx)} training rows, {len(holdout_idx)} held out for epoch choice and calibration")

    backbone = load_backbone(config.card.backbone, select_device(device))
    net = build_net(backbone, config.card)
    card = config.card
    classifier = HeadClassifier(net, backbone.tokenizer, card, version="training")
    parameters = [p for p in net.parameters() if p.requires_grad]
    log(f"trainable parameters: {sum(p.numel() for p in parameters):,} of {sum(p.numel() for p in net.parameters()):,}")
    optimiser = torch.optim.AdamW(parameters, lr=config.learning_rate, weight_decay=config.weight_decay)
    lengths = [len(texts[i]) for i in train_idx]
    steps = config.epochs * -(-len(train_idx) // config.batch_size)
    warmup = max(1, int(steps * config.warmup_fraction))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min((s + 1) / warmup, max(0.0, (steps - s) / max(1, steps - warmup)))
    )
    holdout_texts = [texts[i] for i in holdout_idx]
    holdout_labels = [labels[i] for i in holdout_idx]
    best: tuple[float, int, dict[str, torch.Tensor]] = (-1.0, 0, {})
    for epoch in range(1, config.epochs + 1):
        net.train()
        seen, loss_sum, epoch_start = 0, 0.0, time.monotonic()
        for batch in length_bucketed_batches(lengths, config.batch_size, rng):
            rows = [train_idx[i] for i in batch]
            logits = net(**classifier.encode([texts[i] for i in rows]))
            target = torch.as_tensor([labels[i] for i in rows], device=logits.device)
            loss = torch.nn.functional.cross_entropy(logits.float(), target)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(parameters, 1.0)
            optimiser.step()
            scheduler.step()
            seen += len(rows)
            loss_sum += float(loss.detach()) * len(rows)
        net.eval()
        accuracy = score(holdout_labels, classifier.logits(holdout_texts).argmax(dim=1).tolist()).accuracy
        log(f"epoch {epoch}: loss {loss_sum / seen:.4f}, held-out accuracy {accuracy:.4f}, "
            f"{seen / (time.monotonic() - epoch_start):.1f} rows/s")
        if accuracy > best[0]:
            best = (accuracy, epoch, trainable_state(net))
    accuracy, best_epoch, state = best
    net.load_state_dict({k: v.to(device=classifier.device, dtype=classifier.dtype) for k, v in state.items()}, strict=False)
    net.eval()
    holdout_logits = classifier.logits(holdout_texts)
    temperature = fit_temperature(holdout_logits, holdout_labels)
    ece_before = expected_calibration_error(torch.softmax(holdout_logits, -1).numpy(), holdout_labels)
    ece_after = expected_calibration_error(torch.softmax(holdout_logits / temperature, -1).numpy(), holdout_labels)
    log(f"best epoch {best_epoch}; temperature {temperature:.3f}; held-out ECE {ece_before:.4f} -> {ece_after:.4f}")

    stem.parent.mkdir(parents=True, exist_ok=True)
    tensor_path = stem.with_suffix(".safetensors")
    save_file(state, str(tensor_path))
    seconds = time.monotonic() - began
    final = replace(card, temperature=temperature, training={
        "data": data.name, "rows": len(texts), "holdout_rows": len(holdout_idx), "epochs": config.epochs,
        "best_epoch": best_epoch, "batch_size": config.batch_size, "learning_rate": config.learning_rate,
        "weight_decay": config.weight_decay, "seed": config.seed, "holdout_accuracy": round(accuracy, 4),
        "holdout_ece_before": round(ece_before, 4), "holdout_ece_after": round(ece_after, 4),
        "label_counts": np.bincount(labels, minlength=3).tolist(), "seconds": round(seconds, 1),
    })
    final.write(stem.with_suffix(".json"))
    return TrainResult(stem, file_version(tensor_path), best_epoch, accuracy, temperature, ece_before, ece_after, seconds)
