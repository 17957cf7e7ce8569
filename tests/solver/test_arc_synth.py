"""The generated ARC curriculum (solver/datasets/arc_synth.py): every family's pairs follow its rule, tasks are
seeded and distinct, and the dataset is written in the ARC layout on the canvas asked for."""

import json

import numpy as np
import pytest

from solver.cli import main
from solver.data import load_split
from solver.datasets import arc_synth

CANVAS = 13


def tasks_of(family: str, count: int = 6, seed: int = 3) -> list[dict]:
    tasks = arc_synth.generate([family], count, seed=seed, pairs=3, min_side=3, max_side=8, canvas=CANVAS)
    assert sorted(tasks) == sorted(f"{family}-{n}" for n in range(1, count + 1))
    return list(tasks.values())


def pairs(task: dict) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(np.array(p["input"]), np.array(p["output"])) for p in task["train"] + task["test"]]


def one(values) -> object:
    """The one value every pair of a task agrees on (a task has one rule, with one set of parameters)."""
    found = set(values)
    assert len(found) == 1, found
    return found.pop()


@pytest.mark.parametrize(("family", "follows"), [
    ("flip-h", lambda i, o: np.array_equal(o, i[:, ::-1])),
    ("flip-v", lambda i, o: np.array_equal(o, i[::-1])),
    ("rotate-90", lambda i, o: np.array_equal(o, np.rot90(i, -1))),
    ("transpose", lambda i, o: np.array_equal(o, i.T)),
    ("invert", lambda i, o: np.array_equal(o == 0, i != 0)),
    ("crop", lambda i, o: np.array_equal(o, i[np.ix_(np.nonzero(i.any(1))[0], np.nonzero(i.any(0))[0])])),
    ("count", lambda i, o: o.shape == (1, np.count_nonzero(i))),
])
def test_each_pair_of_a_task_follows_its_familys_rule(family, follows):
    for task in tasks_of(family):
        assert all(follows(i, o) for i, o in pairs(task)), task


def test_parameters_hold_across_the_pairs_of_a_task_and_differ_between_tasks():
    factors = [one(o.shape[0] // i.shape[0] for i, o in pairs(task)) for task in tasks_of("scale", 12)]
    assert set(factors) == {2, 3}
    for task in tasks_of("scale"):
        for i, o in pairs(task):
            k = o.shape[0] // i.shape[0]
            assert np.array_equal(o, np.kron(i, np.ones((k, k), int)))
    borders = [one(int(o[0, 0]) for _, o in pairs(task)) for task in tasks_of("border", 12)]
    assert len(set(borders)) > 3
    for task in tasks_of("border"):
        assert all(np.array_equal(o[1:-1, 1:-1], i) and o.shape == (i.shape[0] + 2, i.shape[1] + 2) for i, o in pairs(task))
    for task in tasks_of("recolour"):
        mapping = one((int(a), int(b)) for i, o in pairs(task) for a, b in zip(i.flat, o.flat) if a != b)
        assert mapping[0] != mapping[1]


def test_tasks_are_seeded_distinct_and_fit_the_canvas():
    first = arc_synth.generate(list(arc_synth.FAMILIES), 4, seed=7, pairs=3, min_side=3, max_side=8, canvas=CANVAS)
    again = arc_synth.generate(list(arc_synth.FAMILIES), 4, seed=7, pairs=3, min_side=3, max_side=8, canvas=CANVAS)
    other = arc_synth.generate(list(arc_synth.FAMILIES), 4, seed=8, pairs=3, min_side=3, max_side=8, canvas=CANVAS)
    assert first == again and first != other
    assert len({json.dumps(task, sort_keys=True) for task in first.values()}) == len(first) == 4 * len(arc_synth.FAMILIES)
    for task in first.values():
        for i, o in pairs(task):
            assert 3 <= min(i.shape) and max(i.shape) <= 8 and max(o.shape) <= CANVAS and i.any()


def test_the_curriculum_is_written_in_the_arc_layout_with_held_out_tasks_and_families(tmp_path):
    out = tmp_path / "synth"
    assert main(["build-dataset", "arc-synth", "--output-dir", str(out), "--families", "flip-h", "scale", "count",
                 "--held-out-families", "border", "--tasks-per-family", "5", "--held-out-tasks", "2",
                 "--num-aug", "2", "--canvas", str(CANVAS)]) == 0

    held_out = json.loads((out / "test_puzzles.json").read_text())
    assert sorted(held_out) == sorted([f"{f}-{n}" for f in ("flip-h", "scale", "count") for n in (6, 7)]
                                      + ["unseen-border-1", "unseen-border-2"])
    train, test = load_split(out, "train"), load_split(out, "test")
    assert train.metadata.seq_len == test.metadata.seq_len == CANVAS * CANVAS
    assert test.num_examples == len(held_out) * 3  # one test pair each, as itself and 2 augmentations (voted over)
    names = json.loads((out / "identifiers.json").read_text())
    # 23 tasks (5 + 2 of each of three families, 2 unseen), each as itself and with 2 augmentations.
    assert len(names) == 1 + 23 * 3 and "unseen-border-1|||" in " ".join(names)

    assert main(["build-dataset", "arc-synth", "--output-dir", str(tmp_path / "bad"), "--families", "spiral"]) == 2
    assert main(["build-dataset", "arc-synth", "--output-dir", str(tmp_path / "bad"), "--canvas", "40"]) == 2
