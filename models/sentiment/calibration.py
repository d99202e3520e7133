"""Temperature scaling (Guo et al. 2017): one scalar ``T`` so ``softmax(logits / T)`` is calibrated.

Fitted by minimising the negative log-likelihood on held-out Twitter rows; it never changes the
arg-max label, only how confident the probabilities are.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def fit_temperature(logits: torch.Tensor, labels: Sequence[int], steps: int = 200) -> float:
    """The temperature minimising NLL of ``labels`` under ``softmax(logits / T)`` (optimised in log T)."""
    if logits.ndim != 2 or logits.shape[0] != len(labels) or logits.shape[0] == 0:
        raise ValueError(f"need an n x k logit matrix matching {len(labels)} labels, got {tuple(logits.shape)}")
    target = torch.as_tensor(list(labels), dtype=torch.long)
    values = logits.detach().float().clone()  # a normal tensor even if made under inference_mode
    log_t = torch.zeros(1, requires_grad=True)
    optimiser = torch.optim.LBFGS([log_t], lr=0.1, max_iter=steps, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimiser.zero_grad()
        loss = torch.nn.functional.cross_entropy(values / log_t.exp(), target)
        loss.backward()
        return loss

    optimiser.step(closure)
    return float(log_t.detach().exp().clamp(0.05, 20.0))
