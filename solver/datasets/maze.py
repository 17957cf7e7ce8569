"""Mazes in the style of Maze-Hard (HRM paper): random walls, one start and one goal, a long shortest path.

A maze is grown as a random tree of open cells (a wall opens when it touches exactly one open cell, so
walls are one cell thick and wind in every direction), then some walls between two open cells are opened
to make loops, so that a maze often has several shortest paths. Start and goal are drawn with a shortest
path longer than the minimum (110 steps on 30x30, as Maze-Hard asks).

The answer is the maze with 'o' on every cell of one shortest path between 'S' and 'G' (those two keep
their symbols), as in the reference's data. Because shortest paths are not unique, answers are graded with
`is_valid_shortest_path`. Mazes smaller than 30x30 sit at the top-left of a field of walls (the codec does
that); dihedral augmentation transforms the maze before it is placed there. The field is 30x30 as in the
reference unless `field` says otherwise (a smaller field makes a model for small mazes much cheaper).
"""

from __future__ import annotations

import random
import time
from collections import deque
from pathlib import Path
from typing import Sequence

import numpy as np

from solver.codecs import CANVAS, codec_for
from solver.datasets.common import SplitArrays, dihedral_transform, write_identifiers

WALL, OPEN, START, GOAL, PATH = "#", " ", "S", "G", "o"
MOVES = ((-1, 0), (0, 1), (1, 0), (0, -1))
HARD_SIZE, HARD_MIN_PATH = 30, 110  # Maze-Hard: 30x30, shortest path over 110 steps
LOOP_FRACTION = 0.03  # share of the walls between two open cells opened to make loops
DEPTH_BIAS = 0.9  # how often the tree grows from its newest cell (long corridors) rather than a random one


def default_min_path_length(size: int) -> int:
    """Maze-Hard's 110 steps for 30x30, scaled with the area for other sizes."""
    return round(HARD_MIN_PATH * size * size / (HARD_SIZE * HARD_SIZE))


def _neighbours(r: int, c: int, size: int):
    for dr, dc in MOVES:
        rr, cc = r + dr, c + dc
        if 0 <= rr < size and 0 <= cc < size:
            yield rr, cc


def _grow(size: int, rng: random.Random, depth_bias: float) -> list[list[bool]]:
    """Open cells (True) forming a random tree that fills the square.

    The tree grows from its newest cell with probability `depth_bias`, else from a random one: the
    higher, the longer and twistier its corridors.
    """
    is_open = [[False] * size for _ in range(size)]
    r, c = rng.randrange(size), rng.randrange(size)
    is_open[r][c] = True
    frontier = list(_neighbours(r, c, size))
    while frontier:
        i = len(frontier) - 1 if rng.random() < depth_bias else rng.randrange(len(frontier))
        frontier[i], frontier[-1] = frontier[-1], frontier[i]
        r, c = frontier.pop()
        if is_open[r][c] or sum(is_open[rr][cc] for rr, cc in _neighbours(r, c, size)) != 1:
            continue
        is_open[r][c] = True
        frontier.extend((rr, cc) for rr, cc in _neighbours(r, c, size) if not is_open[rr][cc])
    return is_open


def _add_loops(is_open: list[list[bool]], rng: random.Random, fraction: float) -> None:
    size = len(is_open)
    walls = [(r, c) for r in range(size) for c in range(size) if not is_open[r][c]
             and ((0 < r < size - 1 and is_open[r - 1][c] and is_open[r + 1][c])
                  or (0 < c < size - 1 and is_open[r][c - 1] and is_open[r][c + 1]))]
    for r, c in rng.sample(walls, round(fraction * len(walls))):
        is_open[r][c] = True


def distances(rows: Sequence[str], source: tuple[int, int]) -> dict[tuple[int, int], int]:
    """Steps from `source` to every reachable non-wall cell."""
    size_r, size_c = len(rows), len(rows[0])
    dist = {source: 0}
    queue = deque([source])
    while queue:
        r, c = queue.popleft()
        for dr, dc in MOVES:
            rr, cc = r + dr, c + dc
            if 0 <= rr < size_r and 0 <= cc < size_c and rows[rr][cc] != WALL and (rr, cc) not in dist:
                dist[rr, cc] = dist[r, c] + 1
                queue.append((rr, cc))
    return dist


def _find(rows: Sequence[str], symbol: str) -> tuple[int, int]:
    for r, row in enumerate(rows):
        c = row.find(symbol)
        if c >= 0:
            return r, c
    raise ValueError(f"the maze has no {symbol!r}")


def shortest_path_answer(rows: Sequence[str]) -> list[str] | None:
    """The maze with 'o' on one shortest path from 'S' to 'G'; None if 'G' cannot be reached.

    Ties are broken by the fixed move order up, right, down, left, so the answer is a function of the maze.
    """
    start, goal = _find(rows, START), _find(rows, GOAL)
    to_goal = distances(rows, goal)
    if start not in to_goal:
        return None
    cells = [list(row) for row in rows]
    r, c = start
    while to_goal[r, c] > 1:
        r, c = next((r + dr, c + dc) for dr, dc in MOVES if to_goal.get((r + dr, c + dc)) == to_goal[r, c] - 1)
        cells[r][c] = PATH
    return ["".join(row) for row in cells]


def shortest_length(rows: Sequence[str]) -> int | None:
    """Moves on a shortest path from 'S' to 'G', None when either is missing or 'G' cannot be reached."""
    try:
        start, goal = _find(rows, START), _find(rows, GOAL)
    except ValueError:
        return None
    return distances(rows, start).get(goal)


def is_valid_shortest_path(maze_rows: Sequence[str], answer_rows: Sequence[str], *, shortest: int | None = None) -> bool:
    """Whether `answer_rows` is the maze with 'o' on exactly the inner cells of some shortest S-G path.

    Every cell that is not 'o' must be as in the maze, 'o' only on open cells, and S, the 'o' cells and G
    must join up into a path as short as the maze's shortest one (then it uses each 'o' exactly once).
    The one check of a maze answer: `python -m solver evaluate` grades tokens with it, and the page's
    static/js/verdicts.js is held to the same cases (tests/test_browser_verdicts.py). `shortest`: the
    maze's shortest length when the caller knows it.
    """
    if len(answer_rows) != len(maze_rows) or any(len(a) != len(m) for a, m in zip(answer_rows, maze_rows)):
        return False
    path_cells = 0
    for maze_row, answer_row in zip(maze_rows, answer_rows):
        for m, a in zip(maze_row, answer_row):
            if a == PATH:
                if m != OPEN:
                    return False
                path_cells += 1
            elif a != m:
                return False
    if shortest is None:
        shortest = shortest_length(maze_rows)
    if shortest is None:
        return False
    start, goal = _find(maze_rows, START), _find(maze_rows, GOAL)
    on_path = ["".join(ch if ch in (START, GOAL, PATH) else WALL for ch in row) for row in answer_rows]
    return distances(on_path, start).get(goal) == shortest and path_cells == shortest - 1


def generate(rng: random.Random, size: int = HARD_SIZE, min_path_length: int | None = None,
             loop_fraction: float = LOOP_FRACTION, depth_bias: float = DEPTH_BIAS) -> tuple[list[str], list[str], int]:
    """(maze rows, answer rows, shortest path length), the path longer than min_path_length steps."""
    if not 2 <= size <= CANVAS:
        raise ValueError(f"maze size {size} is out of range; use 2-{CANVAS}")
    threshold = default_min_path_length(size) if min_path_length is None else min_path_length
    for _ in range(10_000):
        is_open = _grow(size, rng, depth_bias)
        _add_loops(is_open, rng, loop_fraction)
        rows = ["".join(OPEN if o else WALL for o in row) for row in is_open]
        open_cells = [(r, c) for r in range(size) for c in range(size) if is_open[r][c]]
        for _ in range(4):  # a few starts per maze before growing another
            start = rng.choice(open_cells)
            dist = distances(rows, start)
            far = sorted(cell for cell, d in dist.items() if d > threshold)
            if far:
                goal = rng.choice(far)
                cells = [list(row) for row in rows]
                cells[start[0]][start[1]], cells[goal[0]][goal[1]] = START, GOAL
                maze = ["".join(row) for row in cells]
                return maze, shortest_path_answer(maze), dist[goal]  # type: ignore[return-value]
    raise ValueError(f"could not make a {size}x{size} maze with a shortest path over {threshold} steps; "
                     "ask for a shorter --min-path-length")


def _transform(rows: list[str], tid: int) -> list[str]:
    return ["".join(row) for row in dihedral_transform(np.array([list(r) for r in rows]), tid)]


def build(output_dir: Path, *, num_train: int, num_test: int, sizes: Sequence[int] = (HARD_SIZE,),
          min_path_length: int | None = None, loop_fractions: Sequence[float] = (LOOP_FRACTION,),
          aug: bool = False, field: int = HARD_SIZE, seed: int = 0, log=print) -> dict:
    """Generates the mazes and writes the dataset; the k-th maze of a split has size sizes[k % len(sizes)]
    and loop fraction loop_fractions[k % len(loop_fractions)] (so `(0, 0.03)` mixes perfect and looped mazes).

    With `aug`, each train maze's group also holds its 7 other dihedral transforms (as the reference's
    --aug). Each transform's answer is the shortest path of the transformed maze with the usual tie-break,
    not the transformed path: with loops the two can differ, and a label that is not a function of the maze
    it goes with cannot be learned. Each split also gets all__path_length.npy, the shortest path length of
    each example, and all__size.npy, the width of its maze (evaluation reports accuracy by size).
    """
    codec = codec_for("maze", field * field)
    summary: dict = {}
    seen: set[tuple[str, ...]] = set()
    for split, count in (("train", num_train), ("test", num_test)):
        started = time.perf_counter()
        rng = random.Random(f"{seed}:{split}")
        arrays = SplitArrays(seq_len=codec.seq_len)
        lengths: list[int] = []
        widths: list[int] = []
        made = 0
        while made < count:
            size = sizes[made % len(sizes)]
            loop_fraction = loop_fractions[made % len(loop_fractions)]
            maze, _, length = generate(rng, size, min_path_length, loop_fraction)
            if tuple(maze) in seen:
                continue
            seen.add(tuple(maze))
            made += 1
            for tid in range(8 if aug and split == "train" else 1):
                view = _transform(maze, tid)
                answer = shortest_path_answer(view)
                assert answer is not None, "generate() makes mazes whose goal is reachable"
                arrays.add_puzzle(0, [(codec.encode(view), codec.encode(answer))])
                lengths.append(length)
                widths.append(size)
            arrays.end_group()
        arrays.save(output_dir / split, vocab_size=codec.vocab_size, num_puzzle_identifiers=1,
                    extra={"path_length": np.array(lengths, dtype=np.int32),
                           "size": np.array(widths, dtype=np.int32)})
        seconds = time.perf_counter() - started
        summary[split] = {"mazes": made, "examples": len(lengths), "seconds": round(seconds, 2),
                          "mean_path_length": round(float(np.mean(lengths)), 1) if lengths else None}
        log(f"maze {split}: {made} mazes ({len(lengths)} examples) in {seconds:.1f} s; "
            f"mean shortest path {summary[split]['mean_path_length']}")
    write_identifiers(output_dir, ["<blank>"])
    return summary
