"""Step-by-step TRM inference: a generator that yields each supervision step as soon as it is computed.

The worker, the command line and notebooks all iterate `solve_steps`; it owns the recurrent state, so a
caller only sees answers. Evaluation semantics are the reference's: every puzzle of the batch starts from
H_init/L_init and runs the same number of steps (`halt_max_steps` unless told otherwise); the halting head
only reports where the model would have stopped.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import numpy as np
import torch

from solver.model import TRM, swiglu_width


@dataclass
class StepResult:
    """One supervision step for a batch of B puzzles (numpy arrays, detached from torch)."""

    step: int  # 1-based supervision step
    tokens: np.ndarray  # int64 [B, seq_len]: argmax token per position, puzzle prefix left out
    confidence: np.ndarray  # float32 [B, seq_len]: probability of the chosen token
    q_halt_logit: np.ndarray  # float32 [B]: halting logit; > 0 means "I would stop here"
    halt_prob: np.ndarray  # float32 [B]: sigmoid(q_halt_logit)
    seconds: float  # compute time of this step (whole batch)
    frames: list[np.ndarray] = field(default_factory=list)  # with frames=True: argmax tokens after each H cycle


def probabilities(logits: torch.Tensor, loss_type: str) -> torch.Tensor:
    """Per-token probabilities under the normalisation the model was trained with.

    The published models are trained with "stablemax" (s(x) = x+1 for x >= 0, 1/(1-x) below), whose
    probabilities are far less peaked than a softmax of the same logits; using it keeps confidences honest.
    """
    x = logits.double() if logits.device.type == "cpu" else logits.float()
    if loss_type.startswith("stablemax"):
        s = torch.where(x < 0, 1 / (1 - x), x + 1)
        return (s / s.sum(-1, keepdim=True)).float()
    return torch.softmax(x, dim=-1).float()


# Largest activation a chunk of the batch may allocate on a CPU. glibc serves bigger blocks with fresh mmaps
# (its threshold tops out at 32 MB), and first-touch page faults on those cost up to a third of a batch-32
# step on 2 cores. Rows are independent, so splitting changes no answer; at most the last bit of a product
# where a smaller chunk makes the BLAS pick another kernel.
CPU_CHUNK_BYTES = 16 * 2 ** 20


def rows_per_chunk(model: TRM) -> int:
    """How many puzzles to run together so that no activation exceeds CPU_CHUNK_BYTES (no limit on GPUs)."""
    if model.device.type != "cpu":
        return 2 ** 31
    cfg = model.config
    widest = 2 * swiglu_width(cfg.hidden_size, cfg.expansion) * cfg.total_len  # gate/up of the MLP
    if cfg.mlp_t:
        widest = max(widest, 2 * swiglu_width(cfg.total_len, cfg.expansion) * cfg.hidden_size)
    return max(1, CPU_CHUNK_BYTES // (widest * model.dtype.itemsize))


def as_tensor(values: Any, device: torch.device) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(values) if not isinstance(values, torch.Tensor) else values)
    return t.to(device=device, dtype=torch.long)


def solve_steps(
    model: TRM,
    inputs: Any,
    puzzle_ids: Any = None,
    *,
    steps: int | None = None,
    frames: bool = False,
    cancel: Callable[[], bool] | None = None,
) -> Iterator[StepResult]:
    """Run TRM on a batch and yield a `StepResult` after each supervision step.

    inputs: int tokens [B, seq_len] (array or tensor, from a codec's `encode`). puzzle_ids: [B] puzzle
    identifiers (default 0, the blank id every Sudoku and maze model is trained with). steps: how many
    supervision steps (default the config's halt_max_steps). cancel: checked before every step; when it
    returns True the generator ends. The model's own dtype and device are used; `load_checkpoint` picks
    fp32 on a CPU, which is much faster there than bf16.
    """
    cfg = model.config
    device = model.device
    x_tokens = as_tensor(inputs, device)
    if x_tokens.ndim == 1:
        x_tokens = x_tokens[None]
    if x_tokens.ndim != 2 or x_tokens.shape[1] != cfg.seq_len:
        raise ValueError(f"inputs must have shape [batch, {cfg.seq_len}], got {list(x_tokens.shape)}")
    if int(x_tokens.min()) < 0 or int(x_tokens.max()) >= cfg.vocab_size:
        raise ValueError(f"input tokens must be in 0..{cfg.vocab_size - 1}")
    batch = x_tokens.shape[0]
    ids = torch.zeros(batch, dtype=torch.long, device=device) if puzzle_ids is None else as_tensor(puzzle_ids, device)
    ids = ids.reshape(-1).expand(batch) if ids.numel() == 1 else ids.reshape(-1)
    if ids.shape[0] != batch:
        raise ValueError(f"puzzle_ids must have {batch} entries, got {ids.shape[0]}")
    if int(ids.min()) < 0 or int(ids.max()) >= cfg.num_puzzle_identifiers:
        raise ValueError(f"puzzle id must be in 0..{cfg.num_puzzle_identifiers - 1}, got {ids.tolist()}")
    total = cfg.halt_max_steps if steps is None else int(steps)

    model.eval()
    with torch.inference_mode():
        x = model.embed(x_tokens, ids)
        rows = rows_per_chunk(model)
        chunks = [Chunk(model, x[i:i + rows]) for i in range(0, batch, rows)]

    for step in range(1, total + 1):
        if cancel is not None and cancel():
            return
        # inference_mode is entered per step, not around the yield, so the caller's code between steps
        # runs in its own mode.
        with torch.inference_mode():
            started = time.perf_counter()
            outputs = [chunk.advance(frames) for chunk in chunks]
            logits = torch.cat([o[0] for o in outputs])
            q_halt = torch.cat([o[1] for o in outputs])
            # Argmax of the raw logits, as the reference takes it (probabilities can tie where logits do not).
            tokens = logits.argmax(-1)
            confidence = probabilities(logits, cfg.loss_type).gather(-1, tokens[..., None])[..., 0]
            result = StepResult(
                step=step,
                tokens=tokens.cpu().numpy(),
                confidence=confidence.cpu().numpy(),
                q_halt_logit=q_halt.cpu().numpy(),
                halt_prob=torch.sigmoid(q_halt).cpu().numpy(),
                seconds=0.0,
                frames=[torch.cat(per_cycle).cpu().numpy() for per_cycle in zip(*(o[2] for o in outputs))],
            )
            result.seconds = time.perf_counter() - started
        yield result


class Chunk:
    """Some rows of the batch and their recurrent state (z_H, z_L), advanced one supervision step at a time."""

    def __init__(self, model: TRM, x: torch.Tensor):
        self.model, self.x = model, x
        self.z_H, self.z_L = model.initial_state(x.shape[0])

    def advance(self, frames: bool) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
        """One supervision step: answer logits, halting logit, and argmax tokens after each H cycle if asked."""
        cycle_tokens = []
        for _ in range(self.model.config.H_cycles):
            self.z_H, self.z_L = self.model.cycle(self.z_H, self.z_L, self.x)
            if frames:
                cycle_tokens.append(self.model.readout(self.z_H)[0].argmax(-1))
        logits, q_halt = self.model.readout(self.z_H)
        return logits, q_halt, cycle_tokens
