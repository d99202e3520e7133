"""The default ``local`` backend: a target-aware MiniLM that scores a headline *for* one company.

Input is a sentence pair built by :func:`encode_pair`, the one encoding training and inference
share: the first segment names the target (and, for an indirect link, the relation and what the
headline names instead: ``Nvidia (competitor named: AMD)``); the second is the normalised
headline with every mention of the target (its name or an alias) wrapped in ``«`` ``»``. The
encoder (frozen all-MiniLM-L6-v2 with LoRA adapters) reads both; the head sees the mean of all
tokens next to the mean of the target's tokens (first segment and markers), so the same headline
can score differently for different companies. Probabilities are ``softmax(logits / T)`` with
``T`` fitted on held-out rows. Adapters, head and temperature ship in ``assets/`` (safetensors
plus a JSON card that records the recipe and the tensors' hash).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

import torch
from torch import nn

from models.sentiment.backbone import Backbone, load_backbone
from models.sentiment.checksums import file_sha256, verify_files
from models.sentiment.device import select_device
from models.sentiment.lora import apply_lora, lora_state
from models.sentiment.text import (
    LABELS,
    Pair,
    Prediction,
    Target,
    empty_prediction,
    normalize_headline,
    prediction_from_probs,
)

ASSETS = Path(str(files("models.sentiment").joinpath("assets")))
DEFAULT_MODEL = ASSETS / "minilm-target"
"""Stem of the shipped model: ``.safetensors`` (tensors) and ``.json`` (its card)."""

MARK_OPEN, MARK_CLOSE = "«", "»"
"""Wrap the target's mentions in the headline; both are single tokens in MiniLM's vocabulary."""


def mention_pattern(target: Target) -> re.Pattern[str] | None:
    """A regex for the target's name and aliases as whole words, longest first.

    Names of four characters or more match in any case ("NVIDIA", "nvidia"); shorter ones ("Arm",
    "AMD", "GE") only as written, so common words are not taken for companies.
    """
    names = sorted({n.strip() for n in (target.name, *target.aliases) if n and n.strip()}, key=len, reverse=True)
    if not names:
        return None
    parts = [(re.escape(n) if len(n) >= 4 else f"(?-i:{re.escape(n)})") for n in names]
    return re.compile(rf"(?<![\w$])(?:{'|'.join(parts)})(?![\w])", re.IGNORECASE)


def mark_mentions(headline: str, target: Target) -> str:
    """The headline with every mention of the target wrapped in the markers (markers in the text become quotes)."""
    text = headline.replace(MARK_OPEN, '"').replace(MARK_CLOSE, '"')
    pattern = mention_pattern(target)
    return pattern.sub(lambda m: f"{MARK_OPEN} {m.group(0)} {MARK_CLOSE}", text) if pattern else text


def target_segment(pair: Pair) -> str:
    """The first segment: the target's name, plus the relation for an indirect link."""
    link = pair.link
    if link is None or link.relevance != "indirect":
        return pair.target.name
    via = ", ".join(link.via)
    relation = link.relation or "related"
    return f"{pair.target.name} ({relation} named: {via})" if via else f"{pair.target.name} ({relation})"


def encode_pair(pair: Pair) -> tuple[str, str]:
    """The model's input for one pair: (target segment, marked normalised headline); headline '' when empty."""
    headline = normalize_headline(pair.headline)
    return target_segment(pair), mark_mentions(headline, pair.target) if headline else ""


@dataclass
class PairCard:
    """What the trained tensors need to be rebuilt, their hash, and the recipe that made them."""

    model: str = "minilm-target"
    backbone: str = "minilm"
    lora_targets: tuple[str, ...] = ("query", "key", "value", "intermediate.dense", "output.dense")
    lora_rank: int = 8
    lora_alpha: float = 16.0
    max_length: int = 96
    temperature: float = 1.0
    weights_sha256: str = ""
    training: dict[str, object] = field(default_factory=dict)

    @classmethod
    def read(cls, path: Path) -> PairCard:
        data = json.loads(path.read_text(encoding="utf-8"))
        data["lora_targets"] = tuple(data["lora_targets"])
        return cls(**data)

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2, sort_keys=True) + "\n", encoding="utf-8")


class PairNet(nn.Module):
    """Encoder -> [mean of all tokens, mean of target tokens] -> dropout -> linear (3 labels)."""

    marker_ids: torch.Tensor  # a buffer: the two target-marker token ids

    def __init__(self, encoder: nn.Module, hidden_size: int, marker_ids: tuple[int, int], dropout: float = 0.1) -> None:
        super().__init__()
        self.encoder = encoder
        self.register_buffer("marker_ids", torch.tensor(marker_ids), persistent=False)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(2 * hidden_size, len(LABELS))

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state
        every = attention_mask.unsqueeze(-1).to(hidden.dtype)
        is_target = ((token_type_ids == 0) | torch.isin(input_ids, self.marker_ids)) & attention_mask.bool()
        target = is_target.unsqueeze(-1).to(hidden.dtype)
        pooled = torch.cat([
            (hidden * every).sum(1) / every.sum(1).clamp(min=1.0),
            (hidden * target).sum(1) / target.sum(1).clamp(min=1.0),
        ], dim=-1)
        return self.head(self.dropout(pooled))


def build_net(backbone: Backbone, card: PairCard) -> PairNet:
    """Freeze the backbone, wrap its linear layers with fresh adapters and add an untrained head."""
    for parameter in backbone.model.parameters():
        parameter.requires_grad_(False)
    apply_lora(backbone.model, card.lora_targets, card.lora_rank, card.lora_alpha)
    markers = tuple(backbone.tokenizer.convert_tokens_to_ids([MARK_OPEN, MARK_CLOSE]))
    if backbone.tokenizer.unk_token_id in markers:
        raise ValueError(f"backbone {card.backbone!r} has no single token for the markers {MARK_OPEN}{MARK_CLOSE}")
    net = PairNet(backbone.model, backbone.model.config.hidden_size, (int(markers[0]), int(markers[1])))
    return net.to(device=backbone.choice.device, dtype=backbone.choice.dtype)


def trainable_state(net: PairNet) -> dict[str, torch.Tensor]:
    """The tensors a weights file holds: adapters and the linear head."""
    state = {f"encoder.{k}": v for k, v in lora_state(net.encoder).items()}
    state.update({f"head.{k}": v.detach().cpu() for k, v in net.head.state_dict().items()})
    return {k: v.float().contiguous() for k, v in state.items()}


class PairClassifier:
    """Batched local inference for (headline, target) pairs; ``predict`` keeps the input order."""

    def __init__(self, net: PairNet, tokenizer: Any, card: PairCard, version: str) -> None:
        self.net = net.eval()
        self.tokenizer = tokenizer
        self.card = card
        self.model_id = card.model
        self.model_version = version
        first = next(net.head.parameters())
        self.device, self.dtype = first.device, first.dtype

    @classmethod
    def load(cls, stem: Path = DEFAULT_MODEL, device: str = "auto") -> PairClassifier:
        """Load the card at ``stem.json`` and the tensors at ``stem.safetensors``; they must match."""
        from safetensors.torch import load_file

        card_path, tensor_path = stem.with_suffix(".json"), stem.with_suffix(".safetensors")
        for path in (card_path, tensor_path):
            if not path.is_file():
                raise FileNotFoundError(f"no trained model at {path}: run `impact sentiment train`")
        verify_files((card_path, tensor_path))
        card = PairCard.read(card_path)
        digest = file_sha256(tensor_path)
        if card.weights_sha256 and card.weights_sha256 != digest:
            raise ValueError(f"{tensor_path} (sha256 {digest[:12]}) is not the file its card {card_path.name} "
                             f"describes ({card.weights_sha256[:12]}): retrain or restore both together")
        backbone = load_backbone(card.backbone, select_device(device))
        net = build_net(backbone, card)
        tensors = load_file(str(tensor_path))
        expected = trainable_state(net)
        missing = [k for k in expected if k not in tensors]
        unexpected = [k for k in tensors if k not in expected]
        wrong = [k for k in expected if k in tensors and tensors[k].shape != expected[k].shape]
        if missing or unexpected or wrong:
            raise ValueError(f"weights {tensor_path} do not match their card: missing {missing[:2]}, "
                             f"unexpected {unexpected[:2]}, wrong shape {wrong[:2]}")
        net.load_state_dict(tensors, strict=False)
        net.to(device=backbone.choice.device, dtype=backbone.choice.dtype)
        return cls(net, backbone.tokenizer, card, digest[:12])

    def encode(self, inputs: Sequence[tuple[str, str]]) -> dict[str, torch.Tensor]:
        """Tokenise encoded pairs, padded to the longest; only the headline is cut at ``max_length``."""
        first, second = [a for a, _ in inputs], [b for _, b in inputs]
        batch = self.tokenizer(first, second, padding=True, truncation="only_second",
                               max_length=self.card.max_length, return_tensors="pt")
        return {k: batch[k].to(self.device) for k in ("input_ids", "attention_mask", "token_type_ids")}

    @torch.inference_mode()
    def logits(self, inputs: Sequence[tuple[str, str]], batch_size: int = 32) -> torch.Tensor:
        """Uncalibrated logits (n x 3, float32 on CPU) for encoded pairs with non-empty headlines.

        Pairs are sorted by length so each batch pads little, then put back in order.
        """
        order = sorted(range(len(inputs)), key=lambda i: len(inputs[i][0]) + len(inputs[i][1]))
        out = torch.empty(len(inputs), len(LABELS))
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            out[chunk] = self.net(**self.encode([inputs[i] for i in chunk])).float().cpu()
        return out

    def probabilities(self, inputs: Sequence[tuple[str, str]], batch_size: int = 32) -> torch.Tensor:
        """Calibrated probabilities in :data:`LABELS` order for encoded pairs."""
        return torch.softmax(self.logits(inputs, batch_size) / self.card.temperature, dim=-1)

    def predict(self, pairs: Sequence[Pair], batch_size: int = 32) -> list[Prediction]:
        """One :class:`Prediction` per pair; a pair whose headline is empty gets the defined uniform answer."""
        encoded = [encode_pair(p) for p in pairs]
        filled = [i for i, (_, headline) in enumerate(encoded) if headline]
        probs = self.probabilities([encoded[i] for i in filled], batch_size) if filled else torch.empty(0, 3)
        results = [empty_prediction(self.model_id, self.model_version)] * len(encoded)
        for row, index in enumerate(filled):
            p = probs[row].tolist()
            results[index] = prediction_from_probs((p[0], p[1], p[2]), self.model_id, self.model_version)
        return results
