"""The reference training's optimisers, learning-rate schedule and weight averaging.

- `AdamAtan2`: Adam whose update is atan2(m_hat, sqrt(v_hat)) instead of m_hat / (sqrt(v_hat) + eps)
  (Everett et al. 2024, arXiv 2407.05872): bounded, scale-invariant, no epsilon. The arithmetic is that of
  the `adam-atan2` package the reference imports (a = b = 1, decoupled weight decay applied first):
      p *= 1 - lr * wd;  m += (1 - b1)(g - m);  v += (1 - b2)(g^2 - v)
      p -= lr / (1 - b1^t) * atan2(m, sqrt(v) / sqrt(1 - b2^t))
- `sparse_sign_sgd_`: the puzzle-embedding update. Only the rows used in a batch have a gradient; their
  gradients are summed per row, and each row moves by lr * sign(grad) after a decoupled weight decay.
- `lr_at`: linear warm-up, then cosine decay to `min_ratio` of the base rate (1.0 = constant, the default).
- `EMA`: exponential moving average of the trained parameters (not the buffers, as in the reference).
"""

from __future__ import annotations

import math
from typing import Iterable

import torch
from torch import nn


class AdamAtan2(torch.optim.Optimizer):
    def __init__(self, params: Iterable[torch.Tensor], lr: float = 1e-4, betas: tuple[float, float] = (0.9, 0.95),
                 weight_decay: float = 0.1):
        if lr < 0 or weight_decay < 0 or not all(0.0 <= b < 1.0 for b in betas):
            raise ValueError(f"invalid AdamAtan2 settings: lr {lr}, betas {betas}, weight_decay {weight_decay}")
        super().__init__(params, dict(lr=lr, betas=betas, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, closure=None):  # type: ignore[override]
        for group in self.param_groups:
            lr, (beta1, beta2), wd = group["lr"], group["betas"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["step"] = torch.zeros((), dtype=torch.float32)
                    state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                state["step"] += 1
                t = float(state["step"])
                m, v = state["exp_avg"], state["exp_avg_sq"]
                p.mul_(1 - lr * wd)
                m.lerp_(p.grad, 1 - beta1)
                v.lerp_(p.grad.square(), 1 - beta2)
                denom = v.sqrt() / math.sqrt(1 - beta2 ** t)
                p.sub_(torch.atan2(m, denom), alpha=lr / (1 - beta1 ** t))


@torch.no_grad()
def sparse_sign_sgd_(table: torch.Tensor, ids: torch.Tensor, grads: torch.Tensor, *, lr: float,
                     weight_decay: float) -> None:
    """Update the rows `ids` of `table` in place from per-example gradients `grads` [N, dim].

    Examples of the same puzzle add their gradients before the sign is taken (one step per row).
    """
    unique, inverse = ids.long().unique(return_inverse=True)
    summed = torch.zeros(unique.shape[0], grads.shape[1], dtype=grads.dtype, device=grads.device)
    summed.index_add_(0, inverse, grads)
    rows = table[unique].float()
    rows.mul_(1 - lr * weight_decay).add_(summed.sign().float(), alpha=-lr)
    table[unique] = rows.to(table.dtype)


def lr_at(step: int, *, base_lr: float, warmup_steps: int, total_steps: int, min_ratio: float = 1.0) -> float:
    """Learning rate of update number `step` (1-based): linear warm-up over `warmup_steps`, then a half
    cosine from base_lr down to min_ratio * base_lr at `total_steps`."""
    if step < warmup_steps:
        return base_lr * step / max(1, warmup_steps)
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return base_lr * (min_ratio + max(0.0, (1 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))))


class EMA:
    """shadow = rate * shadow + (1 - rate) * param after every update, for every trained parameter."""

    def __init__(self, model: nn.Module, rate: float = 0.999):
        self.rate = rate
        self.shadow = {name: p.detach().clone() for name, p in model.named_parameters() if p.requires_grad}

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        for name, p in model.named_parameters():
            if name in self.shadow:
                self.shadow[name].lerp_(p.detach(), 1 - self.rate)

    def averaged_state_dict(self, model: nn.Module) -> dict[str, torch.Tensor]:
        """The model's state_dict with averaged parameters (buffers, e.g. the puzzle table, as they are)."""
        return {name: self.shadow.get(name, t).detach() for name, t in model.state_dict().items()}

    def state_dict(self) -> dict[str, torch.Tensor]:
        return dict(self.shadow)

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        missing = sorted(set(self.shadow) - set(state))
        if missing:
            raise ValueError(f"EMA state lacks {missing[0]!r}; it was saved for another model")
        for name in self.shadow:
            self.shadow[name].copy_(state[name])
