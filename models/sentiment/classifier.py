"""The default classifier: a frozen backbone with LoRA adapters, mean pooling and a linear head.

The trained part (adapters, head, temperature) is a small safetensors file plus a JSON card in
``models/sentiment/assets``; the backbone comes from its PyPI package. Probabilities are
``softmax(logits / T)`` with ``T`` fitted on held-out Twitter rows (temperature scaling), so they
can be read as confidences.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn

from models.sentiment.backbone import Backbone, load_backbone
from models.sentiment.device import select_device
from models.sentiment.lora import apply_lora, lora_state
from models.sentiment.text import LABELS, Prediction, empty_prediction, normalize_headline, prediction_from_probs

ASSETS = Path(__file__).resolve().parent / "assets"
DEFAULT_HEAD = ASSETS / "minilm-lora-twitter"
"""Stem of the shipped head: ``.safetensors`` (tensors) and ``.json`` (its card)."""


@dataclass
class HeadCard:
    """What a trained head needs to be rebuilt, and where it came from."""

    model: str = "minilm-lora-twitter"
    backbone: str = "minilm"
    lora_targets: tuple[str, ...] = ("query", "key", "value", "intermediate.dense", "output.dense")
    lora_rank: int = 8
    lora_alpha: float = 16.0
    max_length: int = 64
    temperature: float = 1.0
    training: dict[str, object] = field(default_factory=dict)

    @classmethod
    def read(cls, path: Path) -> HeadCard:
        data = json.loads(path.read_text(encoding="utf-8"))
        data["lora_targets"] = tuple(data["lora_targets"])
        return cls(**data)

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2, sort_keys=True) + "\n", encoding="utf-8")


class SentimentNet(nn.Module):
    """Backbone encoder -> attention-masked mean of the last hidden layer -> dropout -> linear (3 labels)."""

    def __init__(self, encoder: nn.Module, hidden_size: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.encoder = encoder
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, len(LABELS))

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
        return self.head(self.dropout(pooled))


def build_net(backbone: Backbone, card: HeadCard) -> SentimentNet:
    """Wrap the backbone's linear layers with fresh adapters and add an untrained head."""
    for parameter in backbone.model.parameters():
        parameter.requires_grad_(False)
    apply_lora(backbone.model, card.lora_targets, card.lora_rank, card.lora_alpha)
    net = SentimentNet(backbone.model, backbone.model.config.hidden_size)
    return net.to(device=backbone.choice.device, dtype=backbone.choice.dtype)


def trainable_state(net: SentimentNet) -> dict[str, torch.Tensor]:
    """The tensors a head file holds: adapters and the linear head."""
    state = {f"encoder.{k}": v for k, v in lora_state(net.encoder).items()}
    state.update({f"head.{k}": v.detach().cpu() for k, v in net.head.state_dict().items()})
    return {k: v.float().contiguous() for k, v in state.items()}


def file_version(path: Path) -> str:
    """A head's version: the first 12 hex digits of its tensors' SHA-256 (changes whenever they do)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


class HeadClassifier:
    """Batched local inference with a trained head; ``predict`` keeps the input order."""

    def __init__(self, net: SentimentNet, tokenizer: object, card: HeadCard, version: str) -> None:
        self.net = net.eval()
        self.tokenizer = tokenizer
        self.card = card
        self.model_id = card.model
        self.model_version = version
        first = next(net.head.parameters())
        self.device, self.dtype = first.device, first.dtype

    @classmethod
    def load(cls, stem: Path = DEFAULT_HEAD, device: str = "auto") -> HeadClassifier:
        """Load the backbone named by the card at ``stem.json`` and the tensors at ``stem.safetensors``."""
        from safetensors.torch import load_file

        card_path, tensor_path = stem.with_suffix(".json"), stem.with_suffix(".safetensors")
        for path in (card_path, tensor_path):
            if not path.is_file():
                raise FileNotFoundError(f"no trained head at {path}: run `impact sentiment train`")
        card = HeadCard.read(card_path)
        backbone = load_backbone(card.backbone, select_device(device))
        net = build_net(backbone, card)
        tensors = load_file(str(tensor_path))
        expected = trainable_state(net)
        missing = [k for k in expected if k not in tensors]
        unexpected = [k for k in tensors if k not in expected]
        if missing or unexpected:
            raise ValueError(f"head file {tensor_path} does not match its card: missing {missing[:2]}, unexpected {unexpected[:2]}")
        net.load_state_dict(tensors, strict=False)
        net.to(device=backbone.choice.device, dtype=backbone.choice.dtype)
        return cls(net, backbone.tokenizer, card, file_version(tensor_path))

    def encode(self, texts: Sequence[str]) -> dict[str, torch.Tensor]:
        """Tokenise already-normalised texts, padded to the longest and cut at ``max_length``."""
        batch = self.tokenizer(list(texts), padding=True, truncation=True, max_length=self.card.max_length, return_tensors="pt")
        return {"input_ids": batch["input_ids"].to(self.device), "attention_mask": batch["attention_mask"].to(self.device)}

    @torch.inference_mode()
    def logits(self, texts: Sequence[str], batch_size: int = 32) -> torch.Tensor:
        """Uncalibrated logits (n x 3, float32 on CPU) for normalised, non-empty texts.

        Texts are sorted by length so each batch pads little, then put back in order.
        """
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = torch.empty(len(texts), len(LABELS))
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            out[chunk] = self.net(**self.encode([texts[i] for i in chunk])).float().cpu()
        return out

    def probabilities(self, texts: Sequence[str], batch_size: int = 32) -> torch.Tensor:
        """Calibrated probabilities in :data:`LABELS` order for normalised, non-empty texts."""
        return torch.softmax(self.logits(texts, batch_size) / self.card.temperature, dim=-1)

    def predict(self, headlines: Sequence[str], batch_size: int = 32) -> list[Prediction]:
        """One :class:`Prediction` per headline; empty ones get the defined uniform answer."""
        cleaned = [normalize_headline(h) for h in headlines]
        filled = [i for i, text in enumerate(cleaned) if text]
        probs = self.probabilities([cleaned[i] for i in filled], batch_size) if filled else torch.empty(0, 3)
        results = [empty_prediction(self.model_id, self.model_version)] * len(cleaned)
        for row, index in enumerate(filled):
            p = probs[row].tolist()
            results[index] = prediction_from_probs((p[0], p[1], p[2]), self.model_id, self.model_version)
        return results
