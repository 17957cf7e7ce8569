"""TRM's training losses: stablemax cross-entropy on the answer and the halting head's loss.

Stablemax (Prieto et al. 2025, "Grokking at the edge of numerical stability") replaces exp with
s(x) = x + 1 for x >= 0 and 1 / (1 - x) below, so p_i = s(x_i) / sum_j s(x_j). It is computed in float64
as the reference does. Labels equal to IGNORE_LABEL_ID (padding) count for nothing.

`act_loss` is one deep-supervision step's loss as the reference's ACT loss head computes it (with
`no_ACT_continue`, the published setting): per puzzle the mean token cross-entropy, plus half the binary
cross-entropy of the halting logit against "the whole answer is right", both summed over the batch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

IGNORE_LABEL_ID = -100
Q_HALT_LOSS_WEIGHT = 0.5


def stablemax_s(x: torch.Tensor, eps: float = 1e-30) -> torch.Tensor:
    """The stablemax map: x + 1 for x >= 0, 1 / (1 - x) below (always positive)."""
    return torch.where(x < 0, 1 / (1 - x + eps), x + 1)


def log_stablemax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    s = stablemax_s(x)
    return torch.log(s / s.sum(dim=dim, keepdim=True))


def stablemax_cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Per-position loss [..., seq] (float64); 0 where the label is IGNORE_LABEL_ID."""
    logprobs = log_stablemax(logits.to(torch.float64))
    valid = labels != IGNORE_LABEL_ID
    picked = logprobs.gather(-1, torch.where(valid, labels, 0).long().unsqueeze(-1)).squeeze(-1)
    return -torch.where(valid, picked, 0)


def softmax_cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Per-position ordinary cross-entropy (float32); 0 where the label is IGNORE_LABEL_ID."""
    return F.cross_entropy(logits.float().flatten(0, -2), labels.long().flatten(),
                           ignore_index=IGNORE_LABEL_ID, reduction="none").view(labels.shape)


LOSS_FUNCTIONS = {"stablemax_cross_entropy": stablemax_cross_entropy, "softmax_cross_entropy": softmax_cross_entropy}


def act_loss(logits: torch.Tensor, q_halt_logits: torch.Tensor, labels: torch.Tensor, halted: torch.Tensor,
             steps: torch.Tensor, loss_type: str = "stablemax_cross_entropy"
             ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Loss of one supervision step over a batch, and summed metrics.

    logits [B, seq, vocab]; q_halt_logits [B]; labels [B, seq] with IGNORE_LABEL_ID for padding; halted [B]
    and steps [B] after this step. Metrics (sums, detached) count only puzzles that halted here and have
    a label: `count`, `accuracy` (token), `exact_accuracy`, `q_halt_accuracy`, `steps`, plus the two losses.
    """
    if loss_type not in LOSS_FUNCTIONS:
        raise ValueError(f"loss_type {loss_type!r} is not one of {', '.join(LOSS_FUNCTIONS)}")
    mask = labels != IGNORE_LABEL_ID
    counts = mask.sum(-1)
    divisor = counts.clamp_min(1).unsqueeze(-1)
    with torch.no_grad():
        correct = mask & (logits.argmax(-1) == labels)
        seq_correct = correct.sum(-1) == counts
        valid = halted & (counts > 0)
        metrics = {
            "count": valid.sum(),
            "accuracy": torch.where(valid, (correct.float() / divisor).sum(-1), 0).sum(),
            "exact_accuracy": (valid & seq_correct).sum(),
            "q_halt_accuracy": (valid & ((q_halt_logits >= 0) == seq_correct)).sum(),
            "steps": torch.where(valid, steps, 0).sum(),
        }
    lm_loss = (LOSS_FUNCTIONS[loss_type](logits, labels) / divisor).sum()
    q_halt_loss = F.binary_cross_entropy_with_logits(q_halt_logits, seq_correct.to(q_halt_logits.dtype),
                                                     reduction="sum")
    metrics["lm_loss"] = lm_loss.detach()
    metrics["q_halt_loss"] = q_halt_loss.detach()
    return lm_loss + Q_HALT_LOSS_WEIGHT * q_halt_loss, metrics
