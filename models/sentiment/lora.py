"""Low-rank adapters (LoRA, Hu et al. 2021) for the frozen backbone's linear layers.

Each adapted ``nn.Linear`` computes ``W x + (alpha / r) * B (A x)`` with ``W`` frozen and only
``A`` (r x in) and ``B`` (out x r) trained; ``B`` starts at zero so training starts from the
backbone exactly. The adapters are a few hundred kB, so the trained model ships in the repository
while the backbone comes from its package.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class LoRALinear(nn.Module):
    """A frozen linear layer plus a trainable low-rank update."""

    def __init__(self, base: nn.Linear, rank: int, alpha: float, dropout: float = 0.0) -> None:
        super().__init__()
        if rank < 1:
            raise ValueError(f"LoRA rank must be >= 1, got {rank}")
        self.base = base
        for parameter in self.base.parameters():
            parameter.requires_grad_(False)
        self.scale = alpha / rank
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        weight = base.weight
        self.lora_a = nn.Parameter(torch.empty(rank, base.in_features, dtype=weight.dtype, device=weight.device))
        self.lora_b = nn.Parameter(torch.zeros(base.out_features, rank, dtype=weight.dtype, device=weight.device))
        nn.init.kaiming_uniform_(self.lora_a, a=math.sqrt(5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + (self.dropout(x) @ self.lora_a.T @ self.lora_b.T) * self.scale


def apply_lora(model: nn.Module, targets: tuple[str, ...], rank: int, alpha: float, dropout: float = 0.0) -> list[str]:
    """Wrap every ``nn.Linear`` whose qualified name is or ends with ``.target``; return their names.

    Raises when nothing matched, since a silently un-adapted model would train only its head.
    """
    replaced: list[str] = []
    for name, module in list(model.named_modules()):
        if not isinstance(module, nn.Linear) or not any(name == t or name.endswith("." + t) for t in targets):
            continue
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, child, LoRALinear(module, rank, alpha, dropout))
        replaced.append(name)
    if not replaced:
        raise ValueError(f"no linear layer matched LoRA targets {targets}")
    return replaced


def lora_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """Only the adapter tensors, keyed by their qualified names (what gets saved)."""
    return {name: tensor.detach().cpu() for name, tensor in model.state_dict().items() if ".lora_" in name}
