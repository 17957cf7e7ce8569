"""Thinking longer and wider at test time: several trajectories per puzzle, one answer chosen at each step.

A puzzle is run as samples x views trajectories in one batch (with other puzzles' trajectories too):

- samples: trajectory 0 of each view is the exact, deterministic one; the others add Gaussian noise to the
  low-level latent before every H cycle (solver/inference.py), each from its own seeded generator, as the
  Probabilistic TRM does, so the recursion explores other answers.
- views: the puzzle's augmented views (solver/views.py), whose answers are mapped back to its own frame.

At each step the puzzle's answer is chosen among its trajectories' answers (mapped back):
- "halt": the answer of the trajectory whose halting head is most confident (its highest q_halt_logit),
  the Probabilistic TRM's selection;
- "vote": the answer most trajectories give, ties broken by their mean halting probability.
With halting, each trajectory stops on its own; a puzzle is computed while any of its trajectories is.
samples = views = 1 is exactly `solve_steps`: the same answers, bit for bit.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from solver.codecs import Grid
from solver.inference import solve_steps
from solver.limits import DEFAULT_NOISE_SCALE, SELECTIONS, LimitError
from solver.model import TRM
from solver.views import View, views_for
from solver.voting import Ballot



@dataclass
class TrajectoryStep:
    """One trajectory of a puzzle at one step, in the puzzle's own frame."""

    sample: int
    view: int
    tokens: np.ndarray
    q_halt_logit: float
    halt_prob: float
    active: bool  # computed at this step (False once it has halted)


@dataclass
class ThoughtStep:
    """One supervision step for P puzzles: the chosen answer of each, and its trajectories."""

    step: int
    tokens: np.ndarray  # [P, seq_len] the chosen answers
    confidence: np.ndarray  # [P, seq_len] of the chosen trajectory
    q_halt_logit: np.ndarray  # [P] of the chosen trajectory
    halt_prob: np.ndarray  # [P]
    active: np.ndarray  # [P] bools: some trajectory of the puzzle was computed at this step
    seconds: float
    chosen: np.ndarray  # [P] index of the chosen trajectory in `trajectories[p]`
    agreeing: np.ndarray  # [P] trajectories whose answer is the chosen one (itself included)
    trajectories: list[list[TrajectoryStep]]
    frames: list[np.ndarray] = field(default_factory=list)  # [H_cycles] of [P, seq_len], chosen trajectory's


def trajectory_seed(seed: int, puzzle: int, view: int, sample: int) -> int:
    """A 63-bit seed per trajectory, so a puzzle's noise does not depend on its batch companions."""
    digest = hashlib.sha256(f"{seed}:{puzzle}:{view}:{sample}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def _choose(answers: list[np.ndarray], q_halt: np.ndarray, selection: str) -> tuple[int, int]:
    """(index of the chosen trajectory, how many trajectories give its answer)."""
    ballot = Ballot()
    keys = [ballot.add(answer, float(logit)) for answer, logit in zip(answers, q_halt)]
    if selection == "halt":
        best = int(np.argmax(q_halt))
    else:  # the ballot's winner, and of the trajectories that gave it the surest
        winner = ballot.ranked()[0][0]
        best = max((i for i, key in enumerate(keys) if key == winner), key=lambda i: q_halt[i])
    return best, keys.count(keys[best])


def think_steps(model: TRM, kind: str, grids: list[Grid], inputs: np.ndarray, *, steps: int | None = None,
                samples: int = 1, views: int = 1, seed: int | Sequence[int] = 0,
                indexes: Sequence[int] | None = None, halt: float | None = None,
                noise: float = DEFAULT_NOISE_SCALE, selection: str = "halt", frames: bool = False,
                puzzle_ids: Any = None, cancel: Callable[[], bool] | None = None) -> Iterator[ThoughtStep]:
    """Solve `grids` (encoded as `inputs` [P, seq_len]) with samples x views trajectories each.

    A puzzle's trajectories and views come from its seed (`seed`, or seed[p] per puzzle) and its index
    within its own request (`indexes`, default 0..P-1), never from its place in this batch: the worker
    batches several jobs' puzzles and each must get what `solve --seed` gives it alone.
    """
    if selection not in SELECTIONS:
        raise LimitError("select", f"must be one of {', '.join(SELECTIONS)}, got {selection!r}")
    cfg = model.config
    inputs = np.asarray(inputs)
    puzzles = len(grids)
    seeds_of = [int(seed)] * puzzles if isinstance(seed, (int, np.integer)) else [int(s) for s in seed]
    index_of = list(range(puzzles)) if indexes is None else [int(i) for i in indexes]
    if len(seeds_of) != puzzles or len(index_of) != puzzles:
        raise ValueError(f"seed and indexes need one entry per puzzle ({puzzles})")
    views_of: list[list[View]] = [views_for(kind, grid, views, seq_len=cfg.seq_len, vocab_size=cfg.vocab_size,
                                            seed=seeds_of[p] + index_of[p]) for p, grid in enumerate(grids)]
    layout = [(p, v, s) for p in range(puzzles) for v in range(views) for s in range(samples)]
    rows = np.stack([views_of[p][v].apply(inputs[p]) for p, v, _ in layout])
    seeds = [None if s == 0 else trajectory_seed(seeds_of[p], index_of[p], v, s) for p, v, s in layout]
    ids = None if puzzle_ids is None else np.repeat(np.asarray(puzzle_ids).reshape(-1), views * samples)
    per_puzzle = views * samples
    for result in solve_steps(model, rows, ids, steps=steps, frames=frames, cancel=cancel, halt=halt,
                              noise_scale=noise if samples > 1 else 0.0, noise_seeds=seeds):
        active = result.active if result.active is not None else np.ones(len(layout), dtype=bool)
        mapped = [views_of[p][v].undo(result.tokens[row]) for row, (p, v, _) in enumerate(layout)]
        step = ThoughtStep(step=result.step, tokens=np.empty((puzzles, cfg.seq_len), dtype=result.tokens.dtype),
                           confidence=np.empty((puzzles, cfg.seq_len), dtype=result.confidence.dtype),
                           q_halt_logit=np.empty(puzzles, dtype=np.float32), halt_prob=np.empty(puzzles, dtype=np.float32),
                           active=np.zeros(puzzles, dtype=bool), seconds=result.seconds,
                           chosen=np.zeros(puzzles, dtype=np.int64), agreeing=np.zeros(puzzles, dtype=np.int64),
                           trajectories=[], frames=[np.empty((puzzles, cfg.seq_len), dtype=result.tokens.dtype)
                                                    for _ in result.frames])
        for p in range(puzzles):
            own = range(p * per_puzzle, (p + 1) * per_puzzle)
            best, agreeing = _choose([mapped[row] for row in own], result.q_halt_logit[list(own)], selection)
            row = own[best]
            view = views_of[p][layout[row][1]]
            step.tokens[p] = mapped[row]
            step.confidence[p] = view.undo_positions(result.confidence[row])
            step.q_halt_logit[p], step.halt_prob[p] = result.q_halt_logit[row], result.halt_prob[row]
            step.active[p] = bool(active[list(own)].any())
            step.chosen[p], step.agreeing[p] = best, agreeing
            for frame, out in zip(result.frames, step.frames):
                out[p] = view.undo(frame[row])
            step.trajectories.append([
                TrajectoryStep(sample=layout[r][2], view=layout[r][1], tokens=mapped[r],
                               q_halt_logit=float(result.q_halt_logit[r]), halt_prob=float(result.halt_prob[r]),
                               active=bool(active[r])) for r in own])
        yield step
