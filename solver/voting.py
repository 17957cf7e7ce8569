"""Votes over the answers of several trajectories of one puzzle: the one ballot of the solver.

Every answer is counted by its content (`grid_hash`), and candidates rank by their votes, then by the mean
halting probability of the trajectories that gave them, as the reference's ARC evaluator ranks them.
Evaluation votes over an ARC task's augmented copies (solver/evaluate.py), test-time fitting over a drawn
task's augmentations (solver/test_time.py), and `--select vote` over a Sudoku's or maze's samples and views
(solver/thinking.py). The augmentations themselves, and undoing them, are the dataset builders'
(solver/datasets/common.py: the dihedral table; solver/datasets/arc.py: inverse_augmentation).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from solver.codecs import codec_for


def grid_hash(grid: np.ndarray) -> str:
    """What a vote counts an answer by: its shape and its cells (uint8: colours, or tokens of a small vocabulary)."""
    grid = np.ascontiguousarray(grid, dtype=np.uint8)
    return hashlib.sha256(f"{grid.shape}:".encode() + grid.tobytes()).hexdigest()


def arc_crop(tokens: np.ndarray) -> np.ndarray:
    """The answer grid in an ARC canvas (uint8, possibly empty), read as the reference evaluator reads it. The
    canvas is as large as the tokens fill (30x30, or a smaller model's)."""
    grid = codec_for("arc", int(np.asarray(tokens).size)).decode(tokens)
    return np.array(grid, dtype=np.uint8).reshape(len(grid), len(grid[0]) if grid else 0)


@dataclass
class Candidate:
    """One distinct answer to a test input and the votes it got."""

    grid: np.ndarray  # in the task's own frame (uint8, cropped)
    count: int  # augmented copies that gave it
    confidence_sum: float  # their halting probabilities, summed

    @property
    def confidence(self) -> float:
        return self.confidence_sum / self.count


class Ballot:
    """The answers to one test input from its augmented copies, counted as the reference counts them."""

    def __init__(self) -> None:
        self.candidates: dict[str, Candidate] = {}

    def add(self, answer: np.ndarray, q_halt_logit: float) -> str:
        """Count an answer already mapped back to the task's frame; returns its hash."""
        key = grid_hash(answer)
        candidate = self.candidates.setdefault(key, Candidate(np.array(answer, dtype=np.uint8), 0, 0.0))
        candidate.count += 1
        candidate.confidence_sum += float(1.0 / (1.0 + np.exp(-np.float64(q_halt_logit))))
        return key

    def ranked(self) -> list[tuple[str, Candidate]]:
        """(hash, candidate) best first: most votes, then highest mean halting confidence."""
        return sorted(self.candidates.items(), key=lambda kv: (kv[1].count, kv[1].confidence), reverse=True)
