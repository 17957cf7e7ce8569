"""Step-by-step TRM inference: a generator that yields each supervision step as soon as it is computed.

The worker, the command line and notebooks all iterate `solve_steps`; it owns the recurrent state, so a
caller only sees answers. By default the semantics are the reference's evaluation: every puzzle of the batch starts
from H_init/L_init and runs the same number of steps (`halt_max_steps` unless told otherwise); the halting
head only reports where the model would have stopped. Two test-time options change that, row by row:

- `halt=THRESHOLD`: a row stops at the first step whose halting probability passes THRESHOLD and keeps
  that answer; halted rows leave the batch, so later steps compute only the rows still thinking.
- `noise_scale` with `noise_seeds`: rows with a seed get Gaussian noise added to their low-level latent
  before every H cycle (a sampled trajectory, solver/thinking.py). Each row draws from its own generator,
  so a row's trajectory does not depend on which other rows share its batch.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Sequence

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
    # [B] bools: the rows computed at this step. With halting, a row that stopped earlier keeps its last
    # answer in the arrays above and is False here; without halting every row is computed every step.
    active: np.ndarray | None = None


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
    halt: float | None = None,
    noise_scale: float = 0.0,
    noise_seeds: Sequence[int | None] | None = None,
) -> Iterator[StepResult]:
    """Run TRM on a batch and yield a `StepResult` after each supervision step.

    inputs: int tokens [B, seq_len] (array or tensor, from a codec's `encode`). puzzle_ids: [B] puzzle
    identifiers (default 0, the blank id every Sudoku and maze model is trained with). steps: how many
    supervision steps (default the config's halt_max_steps). cancel: checked before every step; when it
    returns True the generator ends. halt: stop each row at the first step whose halting probability
    exceeds it (the generator ends when every row has stopped). noise_seeds: [B] seeds, None for an exact
    row; seeded rows get N(0, noise_scale^2) added to z_L before each H cycle. The model's own dtype and
    device are used; `load_checkpoint` picks fp32 on a CPU, which is much faster there than bf16.
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
    if noise_seeds is not None and len(noise_seeds) != batch:
        raise ValueError(f"noise_seeds must have {batch} entries, got {len(noise_seeds)}")
    total = cfg.halt_max_steps if steps is None else int(steps)
    seeds: list[int | None] = list(noise_seeds) if noise_seeds is not None and noise_scale > 0 else [None] * batch

    model.eval()
    with torch.inference_mode():
        x = model.embed(x_tokens, ids)
        per_chunk = rows_per_chunk(model)
        chunks = [Chunk(model, x[i:i + per_chunk], list(range(i, min(i + per_chunk, batch))),
                        seeds[i:i + per_chunk], noise_scale) for i in range(0, batch, per_chunk)]

    last: StepResult | None = None
    for step in range(1, total + 1):
        chunks = [chunk for chunk in chunks if chunk.rows]
        if not chunks or (cancel is not None and cancel()):
            return
        # inference_mode is entered per step, not around the yield, so the caller's code between steps
        # runs in its own mode.
        with torch.inference_mode():
            started = time.perf_counter()
            outputs = [chunk.advance(frames) for chunk in chunks]
            rows = [row for chunk in chunks for row in chunk.rows]
            logits = torch.cat([o[0] for o in outputs])
            q_halt = torch.cat([o[1] for o in outputs])
            # Argmax of the raw logits, as the reference takes it (probabilities can tie where logits do not).
            tokens = logits.argmax(-1)
            confidence = probabilities(logits, cfg.loss_type).gather(-1, tokens[..., None])[..., 0]
            result = _scatter(last, batch, rows, tokens.cpu().numpy(), confidence.cpu().numpy(),
                              q_halt.cpu().numpy(), torch.sigmoid(q_halt).cpu().numpy(), [torch.cat(per_cycle).cpu().numpy()
                                                     for per_cycle in zip(*(o[2] for o in outputs))])
            result.step = step
            if halt is not None:
                for chunk in chunks:
                    chunk.keep(result.halt_prob[chunk.rows] <= halt)
            result.seconds = time.perf_counter() - started
        last = result
        yield result


def _scatter(last: StepResult | None, batch: int, rows: list[int], tokens: np.ndarray, confidence: np.ndarray,
             q_halt: np.ndarray, halt_prob: np.ndarray, frames: list[np.ndarray]) -> StepResult:
    """This step's arrays for the whole batch: the computed rows from this step, the others as they stopped."""
    if last is None and len(rows) == batch:  # every row computed (always so without halting): no copies
        return StepResult(step=0, tokens=tokens, confidence=confidence, q_halt_logit=q_halt, halt_prob=halt_prob,
                          seconds=0.0, frames=frames, active=np.ones(batch, dtype=bool))
    assert last is not None
    out_tokens, out_conf = last.tokens.copy(), last.confidence.copy()
    out_q, out_prob = last.q_halt_logit.copy(), last.halt_prob.copy()
    out_tokens[rows], out_conf[rows], out_q[rows], out_prob[rows] = tokens, confidence, q_halt, halt_prob
    out_frames = []
    for frame in frames:
        full = last.tokens.copy()
        full[rows] = frame
        out_frames.append(full)
    active = np.zeros(batch, dtype=bool)
    active[rows] = True
    return StepResult(step=0, tokens=out_tokens, confidence=out_conf, q_halt_logit=out_q, halt_prob=out_prob,
                      seconds=0.0, frames=out_frames, active=active)


class Chunk:
    """Some rows of the batch and their recurrent state (z_H, z_L), advanced one supervision step at a time."""

    def __init__(self, model: TRM, x: torch.Tensor, rows: list[int], seeds: list[int | None], noise_scale: float):
        self.model, self.x, self.rows = model, x, rows
        self.z_H, self.z_L = model.initial_state(x.shape[0])
        self.noise_scale = noise_scale
        # One generator per sampled row, on the CPU so that a seed means the same noise on every device.
        self.generators = [None if seed is None else torch.Generator().manual_seed(int(seed)) for seed in seeds]

    def keep(self, still_thinking: np.ndarray) -> None:
        """Drop the rows that have halted (still_thinking[i] False for the i-th row of this chunk)."""
        if still_thinking.all():
            return
        index = torch.as_tensor(np.flatnonzero(still_thinking), device=self.x.device)
        self.x, self.z_H, self.z_L = self.x[index], self.z_H[index], self.z_L[index]
        self.rows = [row for row, kept in zip(self.rows, still_thinking) if kept]
        self.generators = [g for g, kept in zip(self.generators, still_thinking) if kept]

    def _noise(self) -> torch.Tensor | None:
        if not any(self.generators):
            return None
        shape = self.z_L.shape[1:]
        draws = [torch.zeros(shape) if g is None else torch.randn(shape, generator=g) for g in self.generators]
        return (self.noise_scale * torch.stack(draws)).to(device=self.z_L.device, dtype=self.z_L.dtype)

    def advance(self, frames: bool) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
        """One supervision step: answer logits, halting logit, and argmax tokens after each H cycle if asked."""
        cycle_tokens = []
        for _ in range(self.model.config.H_cycles):
            noise = self._noise()
            if noise is not None:
                self.z_L = self.z_L + noise
            self.z_H, self.z_L = self.model.cycle(self.z_H, self.z_L, self.x)
            if frames:
                cycle_tokens.append(self.model.readout(self.z_H)[0].argmax(-1))
        logits, q_halt = self.model.readout(self.z_H)
        return logits, q_halt, cycle_tokens
