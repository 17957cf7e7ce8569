"""Sudoku puzzles with a unique solution and a difficulty rating, generated here; and their dataset.

Difficulty is rated as Sudoku-Extreme rates it: by the number of guesses a backtracking solver needs.
The solver here is fixed so that the number is well defined: at every node it eliminates candidates with
naked and hidden singles until nothing changes (the result of that does not depend on the order), then
branches on the first cell, in row-major order, with the fewest candidates, trying each of them. The rating
is the number of branches tried (one per candidate at each branching cell) in the complete search that
finds the solution and proves it is the only one. 0 means the singles alone solve the puzzle.

Puzzles come from a random full grid with clues removed in random order while the solution stays unique
(a minimal puzzle), drawn until one lands in the requested difficulty band. One that is too hard gets
clues of its solution back; one a little too easy gets a short random local search (a few clues swapped
for others, minimised again, kept when no easier), as puzzle generators do.

Augmentation is the reference's: digit relabelling, band and stack shuffles with row and column shuffles
inside them, and transposition.
"""

from __future__ import annotations

import collections
import multiprocessing
import random
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from solver.codecs import codec_for
from solver.datasets.common import SplitArrays, write_identifiers

ALL = 0x1FF  # candidate digits 1-9 as bits 0-8
BIT_COUNT = [bin(m).count("1") for m in range(ALL + 1)]
BIT_DIGIT = {1 << d: d + 1 for d in range(9)}

UNITS = ([[r * 9 + c for c in range(9)] for r in range(9)]
         + [[r * 9 + c for r in range(9)] for c in range(9)]
         + [[(br * 3 + r) * 9 + bc * 3 + c for r in range(3) for c in range(3)] for br in range(3) for bc in range(3)])
PEERS = [sorted({p for unit in UNITS if i in unit for p in unit} - {i}) for i in range(81)]


def _propagate(cand: list[int], done: list[bool], queue: list[int]) -> bool:
    """Naked and hidden singles until nothing changes; False on a contradiction.

    `queue` holds the cells that became single and whose digit is not yet removed from their peers;
    `done` marks the cells whose digit has been. Both and `cand` change in place.
    """
    while True:
        while queue:
            i = queue.pop()
            if done[i]:
                continue
            done[i] = True
            bit = cand[i]
            for p in PEERS[i]:
                m = cand[p]
                if m & bit:
                    m &= ~bit
                    if not m:
                        return False
                    cand[p] = m
                    if BIT_COUNT[m] == 1:
                        queue.append(p)
        for unit in UNITS:
            once = twice = 0
            for i in unit:
                m = cand[i]
                twice |= once & m
                once |= m
            if once != ALL:
                return False  # a digit has no place left in this unit
            hidden = once & ~twice
            if hidden:
                for i in unit:
                    m = cand[i] & hidden
                    if m and cand[i] != m:
                        if BIT_COUNT[m] > 1:
                            return False  # one cell is the only place of two digits
                        cand[i] = m
                        queue.append(i)
        if not queue:
            return True


def _search(cand: list[int], done: list[bool], queue: list[int], limit: int, solutions: list[list[int]],
            counter: list[int]) -> None:
    if not _propagate(cand, done, queue):
        return
    best, best_count = -1, 10
    for i in range(81):
        n = BIT_COUNT[cand[i]]
        if 1 < n < best_count:
            best, best_count = i, n
            if n == 2:
                break
    if best < 0:
        solutions.append([BIT_DIGIT[m] for m in cand])
        return
    m = cand[best]
    while m and len(solutions) < limit:
        bit = m & -m
        m ^= bit
        if m:
            counter[0] += 1  # trying the last candidate left is no guess
        child = cand[:]
        child[best] = bit
        _search(child, done[:], [best], limit, solutions, counter)


def _start(cand: list[int]) -> tuple[list[int], list[bool], list[int]]:
    return cand, [False] * 81, [i for i in range(81) if BIT_COUNT[cand[i]] == 1]


def _candidates(puzzle: list[int]) -> list[int]:
    return [1 << (v - 1) if v else ALL for v in puzzle]


@dataclass(frozen=True)
class SolveResult:
    solutions: list[list[int]]  # each 81 digits, row-major
    guesses: int  # the difficulty rating when the search was complete


class TooManyGuesses(Exception):
    """The search passed its `max_guesses`."""


class _GuessCounter(list):
    """The one-item counter the search increments at every guess, ending the search past `most`."""

    def __init__(self, most: int | None):
        super().__init__([0])
        self.most = most

    def __setitem__(self, index, value):
        if self.most is not None and value > self.most:
            raise TooManyGuesses(f"the search passed {self.most:,} guesses")
        super().__setitem__(index, value)


def solve(puzzle: list[int], limit: int = 2, max_guesses: int | None = None) -> SolveResult:
    """Solutions of a puzzle (81 digits, 0 = blank), up to `limit` of them, and the guesses made.

    With limit 2 a puzzle with one solution is searched completely, so `guesses` is its rating. A grid that
    breaks no rule yet has no solution can take millions of guesses to prove so: `max_guesses` bounds the
    work (TooManyGuesses past it); between two guesses the search does a bounded amount of propagation, so
    this bounds the time too, and unlike a deadline it answers the same however busy the machine is.
    """
    solutions: list[list[int]] = []
    counter = _GuessCounter(max_guesses)
    _search(*_start(_candidates(puzzle)), limit, solutions, counter)
    return SolveResult(solutions, counter[0])


def rate(puzzle: list[int]) -> int:
    """The difficulty rating of a puzzle with a unique solution (see the module docstring)."""
    result = solve(puzzle, limit=2)
    if len(result.solutions) != 1:
        raise ValueError(f"the puzzle has {'no' if not result.solutions else 'more than one'} solution")
    return result.guesses


def _has_other_solution(puzzle: list[int], cell: int, value: int) -> bool:
    """Whether `puzzle`, whose known solution has `value` at the blank `cell`, has a solution without it.

    Any second solution must differ at `cell`: the puzzle with `cell` filled in has one solution.
    """
    cand = _candidates(puzzle)
    cand[cell] = ALL & ~(1 << (value - 1))
    found: list[list[int]] = []
    _search(*_start(cand), 1, found, [0])
    return bool(found)


def random_solution(rng: random.Random) -> list[int]:
    """A random full grid: a search that breaks ties between cells and orders values at random."""
    def fill(cand: list[int], done: list[bool], queue: list[int]) -> list[int] | None:
        if not _propagate(cand, done, queue):
            return None
        open_cells = [i for i in range(81) if BIT_COUNT[cand[i]] > 1]
        if not open_cells:
            return [BIT_DIGIT[m] for m in cand]
        fewest = min(BIT_COUNT[cand[i]] for i in open_cells)
        cell = rng.choice([i for i in open_cells if BIT_COUNT[cand[i]] == fewest])
        bits = [1 << d for d in range(9) if cand[cell] >> d & 1]
        rng.shuffle(bits)
        for bit in bits:
            child = cand[:]
            child[cell] = bit
            grid = fill(child, done[:], [cell])
            if grid:
                return grid
        return None

    return fill(*_start([ALL] * 81))  # type: ignore[return-value]


def minimise(puzzle: list[int], solution: list[int], rng: random.Random) -> list[int]:
    """Removes clues in random order while the solution stays unique."""
    puzzle = puzzle[:]
    clues = [i for i in range(81) if puzzle[i]]
    rng.shuffle(clues)
    for cell in clues:
        puzzle[cell] = 0
        if _has_other_solution(puzzle, cell, solution[cell]):
            puzzle[cell] = solution[cell]
    return puzzle


def generate(rng: random.Random, min_difficulty: int = 0, max_difficulty: int | None = None,
             climb_steps: int = 12) -> tuple[list[int], list[int], int]:
    """(puzzle, solution, rating) with min_difficulty <= rating <= max_difficulty (None: no upper bound).

    Fresh minimal puzzles are drawn until one lands in the band; one that is too easy but at least half
    as hard as asked gets `climb_steps` of local search first. Measured on one core: about 0.025 s per
    fresh puzzle, of which about 40% rate 0, 15% rate 4-10, 2.5% over 10; a puzzle of band 4-10 takes
    about 0.2 s, 11-30 about 1 s, 31 and up about 6 s.
    """
    upper = float("inf") if max_difficulty is None else max_difficulty
    if upper < min_difficulty:
        raise ValueError(f"difficulty band {min_difficulty}-{max_difficulty} is empty")
    while True:
        solution = random_solution(rng)
        puzzle = minimise(solution, solution, rng)
        rating = rate(puzzle)
        if 0 < rating < min_difficulty <= 2 * rating:
            for _ in range(climb_steps):
                candidate = _harder_neighbour(puzzle, solution, rng)
                if candidate is not None:
                    new_rating = rate(candidate)
                    if new_rating >= rating:
                        puzzle, rating = candidate, new_rating
                        if rating >= min_difficulty:
                            break
        if rating < min_difficulty:
            continue
        blanks = [i for i in range(81) if not puzzle[i]]
        rng.shuffle(blanks)
        while rating > upper and blanks:
            cell = blanks.pop()  # a clue given back makes the search easier
            puzzle[cell] = solution[cell]
            rating = rate(puzzle)
        if min_difficulty <= rating <= upper:
            return puzzle, solution, rating


def _harder_neighbour(puzzle: list[int], solution: list[int], rng: random.Random) -> list[int] | None:
    """The puzzle with one or two clues moved to other cells of the solution, minimised; None if not unique."""
    candidate = puzzle[:]
    clues = [i for i in range(81) if candidate[i]]
    blanks = [i for i in range(81) if not candidate[i]]
    k = rng.choice((1, 1, 2))
    for cell in rng.sample(clues, k):
        candidate[cell] = 0
    for cell in rng.sample(blanks, k):
        candidate[cell] = solution[cell]
    if len(solve(candidate, limit=2).solutions) != 1:
        return None
    return minimise(candidate, solution, rng)


def shuffle_sudoku(board: np.ndarray, solution: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The reference's augmentation, applied alike to a 9x9 puzzle (0 = blank) and its solution."""
    digit_map = np.concatenate([[0], rng.permutation(np.arange(1, 10))])
    transpose = rng.random() < 0.5
    rows = np.concatenate([band * 3 + rng.permutation(3) for band in rng.permutation(3)])
    cols = np.concatenate([stack * 3 + rng.permutation(3) for stack in rng.permutation(3)])

    def apply(grid: np.ndarray) -> np.ndarray:
        grid = grid.T if transpose else grid
        return digit_map[grid[rows][:, cols]]

    return apply(board), apply(solution)


Band = tuple[int, "int | None"]


def parse_bands(text: str) -> list[Band]:
    """'0,1-3,4-10,11-' -> [(0, 0), (1, 3), (4, 10), (11, None)]: guesses, inclusive; 'N-' has no top."""
    bands: list[Band] = []
    for part in text.split(","):
        lo, dash, hi = part.strip().partition("-")
        try:
            band = (int(lo), (int(hi) if hi else None) if dash else int(lo))
        except ValueError:
            raise ValueError(f"difficulty band {part.strip()!r} is not N, N-M or N- (numbers of guesses)") from None
        if band[0] < 0 or (band[1] is not None and band[1] < band[0]):
            raise ValueError(f"difficulty band {part.strip()!r} is empty")
        bands.append(band)
    return bands


def _generate_one(job: tuple[str, int, int | None]) -> tuple[list[int], list[int], int]:
    seed, lo, hi = job
    return generate(random.Random(seed), lo, hi)


def generate_set(count: int, bands: list[Band], seed: str, exclude: frozenset[str] | set[str] = frozenset(),
                 workers: int = 1) -> list[tuple[list[int], list[int], int]]:
    """`count` distinct puzzles, the k-th from band k mod len(bands), none of them in `exclude`.

    Each puzzle has its own random stream (seed, k), so the result does not depend on `workers`.
    """
    puzzles: list[tuple[list[int], list[int], int]] = []
    seen = set(exclude)
    pool = multiprocessing.get_context("fork").Pool(workers) if workers > 1 and count > 1 else None
    try:
        k = 0
        while len(puzzles) < count:  # a second round only if a puzzle came out twice
            jobs = [(f"{seed}:{j}", *bands[j % len(bands)]) for j in range(k, k + count - len(puzzles))]
            k += len(jobs)
            for puzzle, solution, rating in (pool.imap(_generate_one, jobs) if pool else map(_generate_one, jobs)):
                key = "".join(map(str, puzzle))
                if key not in seen:
                    seen.add(key)
                    puzzles.append((puzzle, solution, rating))
    finally:
        if pool:
            pool.terminate()
    return puzzles


def build(output_dir: Path, *, num_train: int, num_test: int, bands: list[Band], num_aug: int = 0,
          seed: int = 0, workers: int = 1, log=print) -> dict:
    """Generates the puzzles and writes the dataset; returns a summary for the command line.

    Train and test puzzles come from separate random streams and never repeat one another. Only train
    puzzles are augmented (num_aug shuffled copies each, in the original's group). Each split also gets
    all__difficulty.npy: for each example, the rating of the puzzle it was made from.
    """
    codec = codec_for("sudoku")
    summary: dict = {}
    seen: set[str] = set()
    for split, count in (("train", num_train), ("test", num_test)):
        started = time.perf_counter()
        puzzles = generate_set(count, bands, f"{seed}:{split}", seen, workers) if count else []
        seen.update("".join(map(str, p)) for p, _, _ in puzzles)
        generated = time.perf_counter() - started
        aug_rng = np.random.default_rng([seed, 1 if split == "train" else 2])
        arrays = SplitArrays(seq_len=codec.seq_len)
        ratings = []
        for puzzle, solution, rating in puzzles:
            board, answer = np.array(puzzle).reshape(9, 9), np.array(solution).reshape(9, 9)
            for aug in range(1 + (num_aug if split == "train" else 0)):
                inp, out = (board, answer) if aug == 0 else shuffle_sudoku(board, answer, aug_rng)
                arrays.add_puzzle(0, [(codec.encode(inp.tolist()), codec.encode(out.tolist()))])
                ratings.append(rating)
            arrays.end_group()
        arrays.save(output_dir / split, vocab_size=codec.vocab_size, num_puzzle_identifiers=1,
                    extra={"difficulty": np.array(ratings, dtype=np.int32)})
        histogram = dict(sorted(collections.Counter(r for _, _, r in puzzles).items()))
        summary[split] = {"puzzles": len(puzzles), "examples": len(ratings), "seconds": round(generated, 2),
                          "difficulty": histogram}
        log(f"sudoku {split}: {len(puzzles)} puzzles ({len(ratings)} examples) generated in {generated:.1f} s; "
            f"puzzles by guesses: {histogram}")
    write_identifiers(output_dir, ["<blank>"])
    return summary
