"""Training the shipped target-aware model: LoRA adapters + head on Twitter and composed pairs, then calibration.

The Twitter training split is split first (stratified, seeded): 90% plus pairs composed from it
(:mod:`models.sentiment.compose`) train; the other 10% plus pairs composed from *it* (other seed)
pick the best epoch and fit the temperature, so no tweet is on both sides. The Twitter valid split
stays an honest score, and the Financial PhraseBank and SEntFiN (evaluation only) are never seen.
Batches are length-bucketed (shuffled, then sorted by length in windows) so CPU time goes to
tokens, not padding.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from models.sentiment.backbone import load_backbone
from models.sentiment.calibration import fit_temperature
from models.sentiment.checksums import record_files
from models.sentiment.classifier import (
    ASSETS,
    DEFAULT_MODEL,
    PairCard,
    PairClassifier,
    PairNet,
    build_net,
    encode_pair,
    file_sha256,
    trainable_state,
)
from models.sentiment.compose import Composition, Example, compose, source_counts
from models.sentiment.datasets import LabelledSet
from models.sentiment.device import select_device
from models.sentiment.lora import lora_state
from models.sentiment.metrics import expected_calibration_error, score
from models.sentiment.text import normalize_headline

STAGE_ONE = ASSETS / "minilm-lora-twitter"
"""Stage 1: adapters on all six layers trained on Twitter headlines alone (the previous default's recipe)."""


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of ``impact sentiment train`` (defaults reproduce the shipped model)."""

    epochs: int = 1
    batch_size: int = 32
    learning_rate: float = 1e-3
    weight_decay: float = 0.01
    warmup_fraction: float = 0.06
    holdout_fraction: float = 0.1
    seed: int = 13
    composition: Composition = Composition(composites=900, templates=500, indirect=500, seed=13)
    holdout_composition: Composition = Composition(composites=100, templates=60, indirect=60, seed=14)
    train_layers: tuple[int, ...] = (3, 4, 5)
    card: PairCard = field(default_factory=PairCard)


@dataclass(frozen=True)
class TrainResult:
    """Where the model went and how it did on the held-out rows."""

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


def _subset(data: LabelledSet, indices: list[int], name: str) -> LabelledSet:
    return LabelledSet(name, [data.texts[i] for i in indices], [data.labels[i] for i in indices])


def _accuracy_by_source(rows: list[Example], predicted: list[int]) -> dict[str, float]:
    by_source: dict[str, list[bool]] = {}
    for row, guess in zip(rows, predicted):
        by_source.setdefault(row.source, []).append(row.label == guess)
    return {source: round(float(np.mean(hits)), 4) for source, hits in sorted(by_source.items())}


def warm_start(net: PairNet, init: Path, train_layers: tuple[int, ...]) -> str:
    """Load adapters and head from ``init``.safetensors; freeze the adapters outside ``train_layers``.

    ``init`` is a pair model (loaded as is) or the stage-1 headline model, whose head (mean of all
    tokens -> 3 labels) becomes the first half of the pair head with the target half at zero, so
    training starts from it. Returns the file's sha256.
    """
    from safetensors.torch import load_file

    path = init.with_suffix(".safetensors")
    tensors = load_file(str(path))
    adapters = {k.removeprefix("encoder."): v for k, v in tensors.items() if k.startswith("encoder.")}
    missing = set(lora_state(net.encoder)) - set(adapters)
    width = tensors["head.weight"].shape[1]
    if missing or width not in (net.head.weight.shape[1], net.head.weight.shape[1] // 2):
        raise ValueError(f"{path} does not fit this model: missing {sorted(missing)[:2]}, head width {width}")
    first = next(net.head.parameters())
    net.encoder.load_state_dict({k: v.to(first.device, first.dtype) for k, v in adapters.items()}, strict=False)
    with torch.no_grad():
        net.head.weight.zero_()
        net.head.weight[:, :width] = tensors["head.weight"]
        net.head.bias.copy_(tensors["head.bias"])
    for name, parameter in net.encoder.named_parameters():
        if ".lora_" in name:
            layer = int(name.split("layer.")[1].split(".")[0])
            parameter.requires_grad_(layer in train_layers)
    return file_sha256(path)


def train_pair_model(
    tweets: LabelledSet,
    stem: Path = DEFAULT_MODEL,
    config: TrainConfig = TrainConfig(),
    device: str = "auto",
    log: Callable[[str], None] = print,
    init: Path | None = STAGE_ONE,
) -> TrainResult:
    """Compose pairs from ``tweets`` (the Twitter train split), train, keep the best epoch, calibrate, write ``stem``.{json,safetensors}.

    ``init`` is the stage-1 model (adapters trained on Twitter headlines alone) to start from; only
    the adapters of ``config.train_layers`` and the head train. ``None`` starts from the bare
    backbone and trains every adapter.
    """
    from safetensors.torch import save_file

    began = time.monotonic()
    torch.manual_seed(config.seed)
    rng = random.Random(config.seed)
    readable = _subset(tweets, [i for i, text in enumerate(tweets.texts) if normalize_headline(text)], tweets.name)
    train_idx, holdout_idx = stratified_split(readable.labels, config.holdout_fraction, config.seed)  # stage 1's split
    train_rows = compose(_subset(readable, train_idx, "train"), config.composition)
    holdout_rows = compose(_subset(readable, holdout_idx, "holdout"), config.holdout_composition)
    train_inputs = [encode_pair(r.pair) for r in train_rows]
    keep = [i for i, (_, headline) in enumerate(train_inputs) if headline]
    train_rows, train_inputs = [train_rows[i] for i in keep], [train_inputs[i] for i in keep]
    holdout_inputs = [encode_pair(r.pair) for r in holdout_rows]
    holdout_labels = [r.label for r in holdout_rows]
    log(f"{tweets.name}: training rows {source_counts(train_rows)}, held out {source_counts(holdout_rows)}")

    backbone = load_backbone(config.card.backbone, select_device(device))
    net = build_net(backbone, config.card)
    init_sha = warm_start(net, init, config.train_layers) if init is not None else None
    classifier = PairClassifier(net, backbone.tokenizer, config.card, version="training")
    parameters = [p for p in net.parameters() if p.requires_grad]
    log(f"trainable parameters: {sum(p.numel() for p in parameters):,} of {sum(p.numel() for p in net.parameters()):,}")
    optimiser = torch.optim.AdamW(parameters, lr=config.learning_rate, weight_decay=config.weight_decay)
    lengths = [len(a) + len(b) for a, b in train_inputs]
    steps = config.epochs * -(-len(train_rows) // config.batch_size)
    warmup = max(1, int(steps * config.warmup_fraction))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min((s + 1) / warmup, max(0.0, (steps - s) / max(1, steps - warmup)))
    )
    best: tuple[float, int, dict[str, torch.Tensor], dict[str, float]] = (-1.0, 0, {}, {})
    for epoch in range(1, config.epochs + 1):
        net.train()
        seen, loss_sum, epoch_start = 0, 0.0, time.monotonic()
        for number, batch in enumerate(length_bucketed_batches(lengths, config.batch_size, rng), start=1):
            logits = net(**classifier.encode([train_inputs[i] for i in batch]))
            target = torch.as_tensor([train_rows[i].label for i in batch], device=logits.device)
            loss = torch.nn.functional.cross_entropy(logits.float(), target)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(parameters, 1.0)
            optimiser.step()
            scheduler.step()
            seen += len(batch)
            loss_sum += float(loss.detach()) * len(batch)
            if number % 50 == 0:
                log(f"  epoch {epoch}, batch {number}: loss {loss_sum / seen:.4f}, {seen / (time.monotonic() - epoch_start):.1f} rows/s")
        net.eval()
        predicted = classifier.logits(holdout_inputs).argmax(dim=1).tolist()
        accuracy = score(holdout_labels, predicted).accuracy
        by_source = _accuracy_by_source(holdout_rows, predicted)
        log(f"epoch {epoch}: loss {loss_sum / seen:.4f}, held-out accuracy {accuracy:.4f} {by_source}, "
            f"{seen / (time.monotonic() - epoch_start):.1f} rows/s")
        if accuracy > best[0]:
            best = (accuracy, epoch, trainable_state(net), by_source)
    accuracy, best_epoch, state, by_source = best
    net.load_state_dict({k: v.to(device=classifier.device, dtype=classifier.dtype) for k, v in state.items()}, strict=False)
    net.eval()
    holdout_logits = classifier.logits(holdout_inputs)
    temperature = fit_temperature(holdout_logits, holdout_labels)
    ece_before = expected_calibration_error(torch.softmax(holdout_logits, -1).numpy(), holdout_labels)
    ece_after = expected_calibration_error(torch.softmax(holdout_logits / temperature, -1).numpy(), holdout_labels)
    log(f"best epoch {best_epoch}; temperature {temperature:.3f}; held-out ECE {ece_before:.4f} -> {ece_after:.4f}")

    stem.parent.mkdir(parents=True, exist_ok=True)
    tensor_path = stem.with_suffix(".safetensors")
    save_file(state, str(tensor_path))
    digest = file_sha256(tensor_path)
    seconds = time.monotonic() - began
    final = replace(config.card, temperature=temperature, weights_sha256=digest, training={
        "data": tweets.name, "tweets": len(tweets), "rows_by_source": source_counts(train_rows),
        "holdout_rows_by_source": source_counts(holdout_rows), "composition": asdict(config.composition),
        "holdout_composition": asdict(config.holdout_composition), "holdout_fraction": config.holdout_fraction,
        "init": {"stem": init.name, "sha256": init_sha, "train_layers": list(config.train_layers)} if init else None,
        "epochs": config.epochs, "best_epoch": best_epoch, "batch_size": config.batch_size,
        "learning_rate": config.learning_rate, "weight_decay": config.weight_decay,
        "warmup_fraction": config.warmup_fraction, "seed": config.seed,
        "holdout_accuracy": round(accuracy, 4), "holdout_accuracy_by_source": by_source,
        "holdout_ece_before": round(ece_before, 4), "holdout_ece_after": round(ece_after, 4),
        "label_counts": np.bincount([r.label for r in train_rows], minlength=3).tolist(),
        "seconds": round(seconds, 1), "torch": torch.__version__,
    })
    final.write(stem.with_suffix(".json"))
    record_files((tensor_path, stem.with_suffix(".json")))  # the shipped folder's weights.sha256.json, when it has one
    return TrainResult(stem, digest[:12], best_epoch, accuracy, temperature, ece_before, ece_after, seconds)


STAGE_TWO = TrainConfig()
"""Stage 2: every tweet plus composed pairs, one epoch from stage 1."""
STAGE_THREE = TrainConfig(composition=Composition(composites=500, templates=700, indirect=300, seed=15, tweets=1200))
"""Stage 3: one more epoch from stage 2, weighted towards composed multi-company pairs (fresh seed) with 1,200 tweets."""


def train_shipped(
    tweets: LabelledSet, stem: Path = DEFAULT_MODEL, device: str = "auto", log: Callable[[str], None] = print
) -> TrainResult:
    """Reproduce the shipped model: stage 2 from stage 1 into ``<stem>-stage2``, then stage 3 from it into ``stem``."""
    intermediate = stem.with_name(stem.name + "-stage2")
    train_pair_model(tweets, intermediate, STAGE_TWO, device, log, init=STAGE_ONE)
    return train_pair_model(tweets, stem, STAGE_THREE, device, log, init=intermediate)
