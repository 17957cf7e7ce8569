"""Generated ARC-style tasks: the rules people draw in an editor, each family with random parameters.

A family is a rule with parameters (which colour, which direction, how many times); drawing the parameters
makes a task, and drawing input grids and applying the rule makes its pairs. One family yields many distinct
tasks, so that a model that learns a family from some of its tasks can be asked for others: the held-out
tasks are of the same families with parameters of their own (and, with `--held-out-families`, of families
never trained). Trained tasks go through the ARC builder (solver/datasets/arc.py) like any ARC subset: one
puzzle embedding per task and augmentation, the reference's augmentations and placement, on a canvas of
`--canvas` cells a side (30 as the reference; smaller is much cheaper to train on a CPU). Held-out tasks are
kept out of training altogether (held_out_tasks.json), as a task drawn in the editor is.

    python -m solver build-dataset arc-synth --output-dir DIR [--tasks-per-family 40] [--held-out-tasks 5]
                                             [--families flip-h rotate ...] [--held-out-families ...]
                                             [--pairs 3] [--train-pairs N] [--min-side 3] [--max-side 8]
                                             [--canvas 13]
                                             [--num-aug 8] [--seed 0]

The families (FAMILIES), by group: geometry (flips, rotations, transposition, shifts), colour (recolour one
colour, swap two, fill the background, invert foreground and background), objects (gravity, crop to the
object, count cells into a bar), patterns (tiling, scaling, mirroring to symmetry, a border, filling the
rows and columns of marked cells, lines between two points of a row or column). Output sizes change where
the rule says (tiling, scaling, mirroring, borders, cropping, counting).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from solver.datasets import arc

Grid = np.ndarray
Rule = Callable[[Grid], Grid]
HELD_OUT_FILE = "held_out_tasks.json"  # tasks never trained, with their test outputs


@dataclass(frozen=True)
class Family:
    """A rule with random parameters: `draw(rng)` gives (parameter text, rule, input maker)."""

    name: str
    group: str
    draw: Callable[[np.random.RandomState], tuple[str, Rule, Callable[[np.random.RandomState, int, int], Grid]]]
    max_growth: int = 1  # how many times larger than the input an output side can be (to keep it on the canvas)


def _colours(rng: np.random.RandomState, count: int) -> list[int]:
    return [int(c) for c in rng.choice(np.arange(1, 10), size=count, replace=False)]


def _scatter(colours: Sequence[int], density: float = 0.4) -> Callable[[np.random.RandomState, int, int], Grid]:
    """Inputs of random cells of `colours` on black."""
    def make(rng: np.random.RandomState, rows: int, cols: int) -> Grid:
        grid = rng.choice(np.array(colours, dtype=np.uint8), size=(rows, cols))
        return np.where(rng.rand(rows, cols) < density, grid, 0).astype(np.uint8)
    return make


def _object(colour: int) -> Callable[[np.random.RandomState, int, int], Grid]:
    """Inputs holding one solid rectangle of `colour` somewhere on black."""
    def make(rng: np.random.RandomState, rows: int, cols: int) -> Grid:
        grid = np.zeros((rows, cols), np.uint8)
        h, w = rng.randint(1, rows + 1), rng.randint(1, cols + 1)
        r, c = rng.randint(0, rows - h + 1), rng.randint(0, cols - w + 1)
        grid[r:r + h, c:c + w] = colour
        return grid
    return make


def _fixed(text: str, rule: Rule, colours_drawn: int = 3, density: float = 0.4):
    """A family whose only parameters are the colours its inputs use."""
    def draw(rng: np.random.RandomState):
        colours = _colours(rng, colours_drawn)
        return f"{text} {''.join(map(str, colours))}", rule, _scatter(colours, density)
    return draw


def _recolour(rng):
    source, target, other = _colours(rng, 3)
    return f"{source}->{target}", lambda g: np.where(g == source, target, g).astype(np.uint8), _scatter([source, other])


def _swap(rng):
    a, b = _colours(rng, 2)
    def rule(g: Grid) -> Grid:
        out = g.copy()
        out[g == a], out[g == b] = b, a
        return out
    return f"{a}<->{b}", rule, _scatter([a, b])


def _fill_background(rng):
    fill, *others = _colours(rng, 3)
    return f"bg->{fill}", lambda g: np.where(g == 0, fill, g).astype(np.uint8), _scatter(others)


def _invert(rng):
    colour = _colours(rng, 1)[0]
    return f"invert {colour}", lambda g: np.where(g == 0, colour, 0).astype(np.uint8), _scatter([colour], 0.5)


def _shift(rng):
    dr, dc = [(0, 1), (0, -1), (1, 0), (-1, 0)][rng.randint(4)]
    colours = _colours(rng, 2)
    return f"shift {dr},{dc}", lambda g: np.roll(g, (dr, dc), axis=(0, 1)), _scatter(colours)


def _gravity(rng):
    direction = int(rng.randint(4))  # down, left, up, right: rotate so that "down" is the way, settle, rotate back
    colours = _colours(rng, 2)

    def rule(g: Grid) -> Grid:
        turned = np.rot90(g, direction)
        settled = np.zeros_like(turned)
        for c in range(turned.shape[1]):
            cells = turned[:, c][turned[:, c] != 0]
            if len(cells):
                settled[-len(cells):, c] = cells
        return np.rot90(settled, -direction).copy()
    return f"gravity {direction}", rule, _scatter(colours, 0.3)


def _crop(rng):
    colour = _colours(rng, 1)[0]
    make_object = _object(colour)

    def rule(g: Grid) -> Grid:
        rows, cols = np.nonzero(g == colour)
        return g[rows.min():rows.max() + 1, cols.min():cols.max() + 1].copy()
    return f"crop {colour}", rule, make_object


def _count(rng):
    colour, bar = _colours(rng, 2)

    def rule(g: Grid) -> Grid:
        return np.full((1, max(1, int((g != 0).sum()))), bar, np.uint8)

    def make(rng_: np.random.RandomState, rows: int, cols: int) -> Grid:
        grid = np.zeros((rows, cols), np.uint8)
        count = rng_.randint(1, min(rows * cols, 9) + 1)
        grid.flat[rng_.choice(rows * cols, size=count, replace=False)] = colour
        return grid
    return f"count {colour}->{bar}", rule, make


def _tile(rng):
    times = (int(rng.randint(1, 3)), int(rng.randint(2, 3)))
    colours = _colours(rng, 3)
    return f"tile {times}", lambda g: np.tile(g, times), _scatter(colours, 0.5)


def _scale(rng):
    factor = int(rng.randint(2, 4))
    colours = _colours(rng, 3)
    return f"scale {factor}", lambda g: np.kron(g, np.ones((factor, factor), np.uint8)), _scatter(colours, 0.5)


def _mirror(rng):
    axis = int(rng.randint(2))
    colours = _colours(rng, 3)
    return f"mirror {axis}", lambda g: np.concatenate([g, np.flip(g, axis)], axis=axis), _scatter(colours, 0.5)


def _border(rng):
    colour, *others = _colours(rng, 3)
    return f"border {colour}", lambda g: np.pad(g, 1, constant_values=colour), _scatter(others, 0.4)


def _fill_lines(rng):
    mark, line = _colours(rng, 2)
    along = int(rng.randint(2))  # 0: the marked cell's row, 1: its column

    def rule(g: Grid) -> Grid:
        out = g.copy()
        for r, c in zip(*np.nonzero(g == mark)):
            if along == 0:
                out[r, :] = np.where(out[r, :] == 0, line, out[r, :])
            else:
                out[:, c] = np.where(out[:, c] == 0, line, out[:, c])
        return out
    return f"fill {'rows' if along == 0 else 'columns'} {mark}->{line}", rule, _scatter([mark], 0.12)


def _connect(rng):
    end, line = _colours(rng, 2)

    def rule(g: Grid) -> Grid:
        out = g.copy()
        for lines in (out, out.T):  # rows, then columns (a view: writing it writes `out`)
            for row in lines:
                ends = np.nonzero(row == end)[0]
                if len(ends) >= 2:
                    between = row[ends[0] + 1:ends[-1]]
                    between[between == 0] = line
        return out

    def make(rng_: np.random.RandomState, rows: int, cols: int) -> Grid:
        grid = np.zeros((rows, cols), np.uint8)
        for _ in range(rng_.randint(1, 3)):
            if rng_.rand() < 0.5 and cols >= 3:
                r = rng_.randint(rows)
                grid[r, rng_.choice(cols, size=2, replace=False)] = end
            elif rows >= 3:
                c = rng_.randint(cols)
                grid[rng_.choice(rows, size=2, replace=False), c] = end
        return grid
    return f"connect {end} with {line}", rule, make


FAMILIES = {family.name: family for family in [
    Family("flip-h", "geometry", _fixed("flip-h", lambda g: np.flip(g, 1).copy())),
    Family("flip-v", "geometry", _fixed("flip-v", lambda g: np.flip(g, 0).copy())),
    Family("rotate-90", "geometry", _fixed("rotate-90", lambda g: np.rot90(g, -1).copy())),
    Family("rotate-180", "geometry", _fixed("rotate-180", lambda g: np.rot90(g, 2).copy())),
    Family("transpose", "geometry", _fixed("transpose", lambda g: g.T.copy())),
    Family("shift", "geometry", _shift),
    Family("recolour", "colour", _recolour),
    Family("swap", "colour", _swap),
    Family("fill-background", "colour", _fill_background),
    Family("invert", "colour", _invert),
    Family("gravity", "objects", _gravity),
    Family("crop", "objects", _crop),
    Family("count", "objects", _count),
    Family("tile", "patterns", _tile, max_growth=3),
    Family("scale", "patterns", _scale, max_growth=3),
    Family("mirror", "patterns", _mirror, max_growth=2),
    Family("border", "patterns", _border),
    Family("fill-lines", "patterns", _fill_lines),
    Family("connect", "patterns", _connect),
]}


def make_task(family: Family, rng: np.random.RandomState, *, pairs: int, min_side: int, max_side: int,
              canvas: int) -> tuple[str, dict]:
    """One task of `family`: (its parameters as text, {"train": pairs, "test": [one pair]})."""
    parameters, rule, make_input = family.draw(rng)
    # Room for the output on the canvas (the EOS border takes no room at the canvas's edge).
    largest = min(max_side, max(min_side, (canvas - 2) // family.max_growth + (1 if family.max_growth == 1 else 0)))
    examples = []
    seen = set()
    for _ in range(20 * (pairs + 1)):
        rows, cols = rng.randint(min_side, largest + 1), rng.randint(min_side, largest + 1)
        grid = make_input(rng, rows, cols)
        output = rule(grid)
        key = grid.tobytes() + bytes(grid.shape)
        if key in seen or not grid.any() or output.shape[0] > canvas or output.shape[1] > canvas:
            continue
        seen.add(key)
        examples.append({"input": grid.tolist(), "output": output.tolist()})
        if len(examples) == pairs + 1:
            break
    if len(examples) < pairs + 1:
        raise ValueError(f"family {family.name} ({parameters}) made too few distinct pairs on a {canvas}x{canvas} canvas")
    return parameters, {"train": examples[:pairs], "test": examples[pairs:]}


def generate(families: Sequence[str], tasks_per_family: int, *, seed: int, pairs: int, min_side: int, max_side: int,
             canvas: int, progress: Callable[[int, int], None] | None = None) -> dict[str, arc.Task]:
    """{task name: task} of `tasks_per_family` distinct tasks of each family, named `<family>-<n>`."""
    rng = np.random.RandomState(seed)
    tasks: dict[str, arc.Task] = {}
    total, done = len(families) * tasks_per_family, 0
    for name in families:
        family = FAMILIES[name]
        made: set[str] = set()
        for _attempt in range(50 * tasks_per_family):
            parameters, task = make_task(family, rng, pairs=pairs, min_side=min_side, max_side=max_side, canvas=canvas)
            key = repr(task)
            if key in made:
                continue
            made.add(key)
            tasks[f"{name}-{len(made)}"] = task
            done += 1
            if progress:
                progress(done, total)
            if len(made) == tasks_per_family:
                break
    return tasks


def build(output_dir: Path, *, families: Sequence[str] = tuple(FAMILIES), held_out_families: Sequence[str] = (),
          tasks_per_family: int = 40, held_out_tasks: int = 5, pairs: int = 3, train_pairs: int | None = None,
          min_side: int = 3, max_side: int = 8, canvas: int = 13, num_aug: int = 8, seed: int = 0,
          log: Callable[[str], None] = lambda message: print(message, file=sys.stderr)) -> dict:
    """Write the curriculum in the reference's ARC layout (train/, test/, identifiers.json, test_puzzles.json)
    and the held-out tasks beside it (HELD_OUT_FILE).

    The trained tasks are `tasks_per_family` of each of `families`: their demonstration pairs are the train
    split, their test pairs the test split (new inputs of known tasks, what the training's evaluations
    report). The held-out tasks are never trained, as a drawn task is not: `held_out_tasks` more of each
    family (new parameters; `pairs` demonstrations, as a drawn task has, where trained tasks have
    `train_pairs`) and every task of `held_out_families` (`unseen-<family>-<n>`), written with their test
    outputs to HELD_OUT_FILE for bench/arc_fitting.py --synth, which fits and solves them.
    """
    unknown = [name for name in (*families, *held_out_families) if name not in FAMILIES]
    if unknown:
        raise ValueError(f"unknown families {', '.join(unknown)}; use any of {', '.join(FAMILIES)}")
    if not 3 <= canvas <= arc.CANVAS:
        raise ValueError(f"--canvas {canvas} is out of range; use 3-{arc.CANVAS}")
    if not 1 <= min_side <= max_side <= canvas:
        raise ValueError(f"sides must satisfy 1 <= --min-side <= --max-side <= --canvas, got {min_side}, {max_side}, {canvas}")
    families = [name for name in families if name not in held_out_families]
    interactive = sys.stderr.isatty()

    def progress(done: int, total: int) -> None:
        if interactive or done == total:
            print(f"\rgenerated {done}/{total} tasks", end="\n" if done == total else "", file=sys.stderr, flush=True)

    most_pairs = max(pairs, train_pairs or pairs)
    trained = generate(families, tasks_per_family + held_out_tasks, seed=seed, pairs=most_pairs, min_side=min_side,
                       max_side=max_side, canvas=canvas, progress=progress)
    unseen = generate(held_out_families, held_out_tasks, seed=seed + 1, pairs=pairs, min_side=min_side,
                      max_side=max_side, canvas=canvas, progress=progress) if held_out_families else {}
    subsets: dict[str, dict[str, arc.Task]] = {"synth-train": {}, "synth-held-out": {}}
    for name, task in trained.items():
        family, number = name.rsplit("-", 1)
        if int(number) > tasks_per_family:  # held out: as many pairs as a drawn task has
            subsets["synth-held-out"][name] = {"train": task["train"][:pairs], "test": task["test"]}
        else:
            subsets["synth-train"][name] = {"train": task["train"][:train_pairs or pairs], "test": task["test"]}
    subsets["synth-held-out"].update({f"unseen-{name}": task for name, task in unseen.items()})
    summary = arc.build(output_dir, subsets=["synth-train"], test_set_name="synth-train", seed=seed, num_aug=num_aug,
                        load_tasks=subsets.__getitem__, canvas=canvas, log=log)
    (output_dir / HELD_OUT_FILE).write_text(json.dumps(subsets["synth-held-out"]))
    return {"families": len(families), "held_out_families": len(held_out_families),
            "subsets": {name: len(tasks) for name, tasks in subsets.items()}, "canvas": canvas, **summary}
