"""Augmented views of a puzzle for test-time voting: the puzzle transformed, solved, the answer mapped back.

A view is a permutation of token positions and of token values that maps a valid puzzle to another valid
puzzle of the same kind, with its answer mapped the same way, so the answer to a view can be read back
in the puzzle's own frame exactly, tokens and per-cell confidences alike:

    view_tokens[i] = values[tokens[source[i]]]        answer[source[i]] = inverse_values[view_answer[i]]

- Sudoku: digit relabelling, rows permuted within their bands, bands permuted, the same for columns and
  stacks, and transposition (the symmetries a Sudoku's rules do not see). View 0 is the puzzle itself; the
  others are drawn from a generator seeded with the job's seed, so a job is reproducible.
- Maze: the 8 dihedral transforms of the maze (view k is transform k; a maze has no more). The maze sits at
  the top-left of the model's square field, so every transform of a maze that fits the field fits it too.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np

from solver.codecs import Grid, maze_field
from solver.limits import LimitError

SUDOKU_DIGIT_TOKENS = np.arange(2, 11)  # digit d is token d + 1; PAD 0 and blank 1 never move


@dataclass(frozen=True)
class View:
    source: np.ndarray  # [seq_len] int: the original position each position of the view shows
    values: np.ndarray  # [vocab] int: the view's token for each original token

    def apply(self, tokens: np.ndarray) -> np.ndarray:
        return self.values[np.asarray(tokens)[..., self.source]]

    def undo(self, tokens: np.ndarray) -> np.ndarray:
        """An answer to the view, in the original puzzle's frame."""
        inverse = np.argsort(self.values)
        out = np.empty_like(tokens)
        out[..., self.source] = inverse[np.asarray(tokens)]
        return out

    def undo_positions(self, values: np.ndarray) -> np.ndarray:
        """Per-position values (e.g. confidences) of the view, in the original frame."""
        out = np.empty_like(values)
        out[..., self.source] = values
        return out


def identity(seq_len: int, vocab_size: int) -> View:
    return View(np.arange(seq_len), np.arange(vocab_size))


def _sudoku_view(rng: random.Random) -> View:
    def line_order() -> list[int]:  # bands permuted, then the lines within each band
        bands = rng.sample(range(3), 3)
        return [3 * band + line for band in bands for line in rng.sample(range(3), 3)]

    rows, columns = line_order(), line_order()
    grid = np.arange(81).reshape(9, 9)[np.ix_(rows, columns)]
    if rng.random() < 0.5:
        grid = grid.T
    values = np.arange(11)
    values[SUDOKU_DIGIT_TOKENS] = SUDOKU_DIGIT_TOKENS[rng.sample(range(9), 9)]
    return View(grid.reshape(81), values)


def _dihedral_indices(grid: np.ndarray, k: int) -> np.ndarray:
    """The k-th symmetry of a rectangle (0 identity, 1-3 rotations, 4-5 flips, 6 transpose, 7 anti-transpose)."""
    return [lambda a: a, lambda a: np.rot90(a, 1), lambda a: np.rot90(a, 2), lambda a: np.rot90(a, 3),
            np.fliplr, np.flipud, lambda a: a.T, lambda a: np.fliplr(np.rot90(a, 1))][k](grid)


def _maze_view(rows: int, columns: int, field: int, k: int) -> View:
    index = np.arange(field * field).reshape(field, field)
    region = index[:rows, :columns]
    moved = _dihedral_indices(region, k)
    source = index.copy()
    outside_view = np.ones((field, field), dtype=bool)
    outside_view[:moved.shape[0], :moved.shape[1]] = False
    outside_original = np.ones((field, field), dtype=bool)
    outside_original[:rows, :columns] = False
    source[:moved.shape[0], :moved.shape[1]] = moved
    source[outside_view] = index[outside_original]  # the walls around the maze: any bijection will do
    return View(source.reshape(-1), np.arange(6))


def views_for(kind: str, grid: Grid, count: int, *, seq_len: int, vocab_size: int, seed: int = 0) -> list[View]:
    """`count` views of one puzzle, the first the puzzle itself; LimitError('views') if the kind has fewer."""
    if count < 1:
        raise LimitError("views", f"must be at least 1, got {count}")
    if count == 1:
        return [identity(seq_len, vocab_size)]
    if kind == "sudoku":
        rng = random.Random(f"views:{seed}")
        return [identity(seq_len, vocab_size)] + [_sudoku_view(rng) for _ in range(count - 1)]
    if kind == "maze":
        if count > 8:
            raise LimitError("views", f"a maze has 8 dihedral views, not {count}")
        field = maze_field(seq_len)
        rows, columns = len(grid), len(grid[0]) if grid else 0
        if field is None or max(rows, columns) > field:  # the codec refuses such a maze before this
            raise LimitError("views", f"a {rows}x{columns} maze does not fit the model's field")
        return [_maze_view(rows, columns, field, k) for k in range(count)]
    raise LimitError("views", f"{kind} puzzles have no views here; leave views at 1")
