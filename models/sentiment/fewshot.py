"""Few-shot label scoring with a causal LM (Gemma-3-270M): no training at all.

The prompt is an instruction plus a handful of hand-written example headlines (written for this
project, not taken from any evaluation set), then ``Headline: ...\\nSentiment:``. The answer is
the softmax over the next-token logits of the three label words `` negative``, `` neutral`` and
`` positive``. The shared prefix is run once and its KV cache reused for every batch, so each
headline costs only its own tokens; only the three label rows of the output matrix are computed
(Gemma's vocabulary has 262k entries).

Small LMs carry a strong prior towards some label words whatever the headline says. Contextual
calibration (Zhao et al. 2021) removes it without any labelled data: the label distribution for
content-free inputs (``N/A``, ``[MASK]``) estimates the prior, and each answer is divided by it
and renormalised.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Sequence

import torch

from models.sentiment.backbone import Backbone, load_backbone
from models.sentiment.device import select_device
from models.sentiment.text import LABELS, Prediction, empty_prediction, normalize_headline, prediction_from_probs

INSTRUCTION = (
    "Classify the sentiment of each financial news headline for the company's investors "
    "as negative, neutral or positive.\n\n"
)
EXAMPLES: tuple[tuple[str, str], ...] = (
    ("Chipmaker raises full-year revenue forecast as data-center demand surges", "positive"),
    ("Software group to hold annual shareholder meeting on May 14", "neutral"),
    ("Cloud provider shares slump after quarterly sales miss estimates", "negative"),
    ("Analyst upgrades the stock to buy, citing strong AI orders", "positive"),
    ("Regulators open antitrust probe into the company's acquisition", "negative"),
    ("The company will report second-quarter results after the close on Wednesday", "neutral"),
)
MAX_HEADLINE_TOKENS = 64
CONTENT_FREE = ("N/A", "[MASK]")


def build_prefix() -> str:
    """The shared prompt prefix: instruction and labelled examples."""
    shots = "".join(f"Headline: {text}\nSentiment: {label}\n\n" for text, label in EXAMPLES)
    return INSTRUCTION + shots


class FewShotClassifier:
    """Label-logit scoring over a cached few-shot prefix; batched, order-preserving."""

    model_id = "gemma3-270m-fewshot"

    def __init__(self, backbone: Backbone) -> None:
        self.backbone = backbone
        self.model = backbone.model
        self.tokenizer = backbone.tokenizer
        self.device = backbone.choice.device
        ids = [self.tokenizer.encode(" " + label, add_special_tokens=False) for label in LABELS]
        if any(len(i) != 1 for i in ids):
            raise ValueError(f"each label must be one token for label scoring, got {dict(zip(LABELS, ids))}")
        self.label_ids = torch.tensor([i[0] for i in ids], device=self.device)
        self.label_weights = self.model.get_output_embeddings().weight[self.label_ids]
        self.softcap = getattr(self.model.config, "final_logit_softcapping", None)
        prefix = build_prefix()
        self.prefix_ids = self.tokenizer(prefix, return_tensors="pt")["input_ids"].to(self.device)
        with torch.inference_mode():
            out = self.model.model(input_ids=self.prefix_ids, use_cache=True)
        self.prefix_cache = out.cache
        self.prior = torch.softmax(self.label_logits(list(CONTENT_FREE)), -1).mean(0)
        digest = hashlib.sha256("\n".join([prefix, backbone.weights_id, *CONTENT_FREE]).encode()).hexdigest()[:12]
        self.model_version = f"prompt-{digest}"

    @classmethod
    def load(cls, device: str = "auto") -> FewShotClassifier:
        """Load Gemma-3-270M (converted once into the cache) and prepare the prefix cache."""
        return cls(load_backbone("gemma", select_device(device)))

    @torch.inference_mode()
    def label_logits(self, texts: Sequence[str], batch_size: int = 32) -> torch.Tensor:
        """Logits of the three label tokens (n x 3, float32 on CPU) for normalised, non-empty texts."""
        prefix_len = self.prefix_ids.shape[1]
        suffixes = [f"Headline: {t}\nSentiment:" for t in texts]
        order = sorted(range(len(texts)), key=lambda i: len(suffixes[i]))
        out = torch.empty(len(texts), len(LABELS))
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            encoded = [self._suffix_ids(suffixes[i]) for i in chunk]
            width = max(len(e) for e in encoded)
            pad = self.tokenizer.pad_token_id or 0
            input_ids = torch.tensor([e + [pad] * (width - len(e)) for e in encoded], device=self.device)
            suffix_mask = torch.tensor([[1] * len(e) + [0] * (width - len(e)) for e in encoded], device=self.device)
            mask = torch.cat([torch.ones(len(chunk), prefix_len, dtype=suffix_mask.dtype, device=self.device), suffix_mask], 1)
            cache = copy.deepcopy(self.prefix_cache)
            cache.batch_repeat_interleave(len(chunk))
            positions = torch.arange(prefix_len, prefix_len + width, device=self.device).expand(len(chunk), -1)
            hidden = self.model.model(
                input_ids=input_ids, attention_mask=mask, position_ids=positions, cache=cache, use_cache=True
            ).last_hidden_state
            last = hidden[torch.arange(len(chunk), device=self.device), suffix_mask.sum(1) - 1]
            logits = last.float() @ self.label_weights.float().T
            if self.softcap:
                logits = torch.tanh(logits / self.softcap) * self.softcap
            out[chunk] = logits.cpu()
        return out

    def probabilities(self, texts: Sequence[str], batch_size: int = 32) -> torch.Tensor:
        """Label probabilities after contextual calibration: softmax divided by the content-free prior."""
        adjusted = torch.softmax(self.label_logits(texts, batch_size), -1) / self.prior
        return adjusted / adjusted.sum(-1, keepdim=True)

    def _suffix_ids(self, suffix: str) -> list[int]:
        """Token ids of one headline's part of the prompt, its headline cut to MAX_HEADLINE_TOKENS."""
        ids = self.tokenizer.encode(suffix, add_special_tokens=False)
        if len(ids) <= MAX_HEADLINE_TOKENS + 8:
            return ids
        tail = self.tokenizer.encode("\nSentiment:", add_special_tokens=False)
        return ids[:MAX_HEADLINE_TOKENS] + tail

    def predict(self, headlines: Sequence[str], batch_size: int = 32) -> list[Prediction]:
        """One :class:`Prediction` per headline; empty ones get the defined uniform answer."""
        cleaned = [normalize_headline(h) for h in headlines]
        filled = [i for i, text in enumerate(cleaned) if text]
        probs = self.probabilities([cleaned[i] for i in filled], batch_size) if filled else None
        results = [empty_prediction(self.model_id, self.model_version)] * len(cleaned)
        for row, index in enumerate(filled):
            p = probs[row].tolist()
            results[index] = prediction_from_probs((p[0], p[1], p[2]), self.model_id, self.model_version)
        return results
