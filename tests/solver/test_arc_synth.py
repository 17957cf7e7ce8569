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


def test_the_curriculum_is_written_in_the_arc_layout_and_held_out_tasks_are_never_trained(tmp_path):
    out = tmp_path / "synth"
    assert main(["build-dataset", "arc-synth", "--output-dir", str(out), "--families", "flip-h", "scale", "count",
                 "--held-out-families", "border", "--tasks-per-family", "5", "--held-out-tasks", "2",
                 "--num-aug", "2", "--canvas", str(CANVAS)]) == 0

    held_out = json.loads((out / arc_synth.HELD_OUT_FILE).read_text())
    assert sorted(held_out) == sorted([f"{f}-{n}" for f in ("flip-h", "scale", "count") for n in (6, 7)]
                                      + ["unseen-border-1", "unseen-border-2"])
    assert all("output" in pair for task in held_out.values() for pair in task["test"])
    train, test = load_split(out, "train"), load_split(out, "test")
    assert train.metadata.seq_len == test.metadata.seq_len == CANVAS * CANVAS
    names = json.loads((out / "identifiers.json").read_text())
    # The 15 trained tasks (5 of each of three families), each as itself and with 2 augmentations; nothing
    # of a held-out task is trained.
    assert len(names) == 1 + 15 * 3
    assert not {name.split("|||")[0] for name in names} & set(held_out)
    assert test.num_examples == 15 * 3  # the trained tasks' test pairs: new inputs of known tasks

    assert main(["build-dataset", "arc-synth", "--output-dir", str(tmp_path / "bad"), "--families", "spiral"]) == 2
    assert main(["build-dataset", "arc-synth", "--output-dir", str(tmp_path / "bad"), "--canvas", "40"]) == 2


def test_trained_tasks_get_train_pairs_demonstrations_and_held_out_tasks_as_many_as_a_drawn_task(tmp_path):
    out = tmp_path / "synth"
    assert main(["build-dataset", "arc-synth", "--output-dir", str(out), "--families", "flip-h", "border",
                 "--tasks-per-family", "3", "--held-out-tasks", "2", "--pairs", "3", "--train-pairs", "6",
                 "--num-aug", "0", "--canvas", str(CANVAS)]) == 0

    held_out = json.loads((out / arc_synth.HELD_OUT_FILE).read_text())
    assert {len(task["train"]) for task in held_out.values()} == {3}
    train = load_split(out, "train")
    # No augmentations: one group per trained task, each with its six demonstration pairs.
    assert train.num_examples == 2 * 3 * 6
    assert main(["build-dataset", "arc-synth", "--output-dir", str(tmp_path / "bad"), "--train-pairs", "0"]) == 2


def test_an_arc_codec_on_a_small_canvas_takes_grids_up_to_its_side():
    from solver.codecs import PuzzleError, codec_for

    codec = codec_for("arc", CANVAS * CANVAS)
    assert codec.canvas == CANVAS and codec.seq_len == 169
    grid = [[(r * CANVAS + c) % 10 for c in range(CANVAS)] for r in range(CANVAS - 1)]
    assert codec.decode(codec.encode(grid)) == grid
    with pytest.raises(PuzzleError, match="at most 13 are allowed by this model, whose canvas is 13x13"):
        codec.encode([[1]] * (CANVAS + 1))
    with pytest.raises(PuzzleError, match="has no codec"):
        codec_for("arc", 170)


def test_a_model_on_a_small_canvas_trains_on_the_curriculum_and_answers_a_drawn_task(tmp_path):
    data = tmp_path / "synth"
    assert main(["build-dataset", "arc-synth", "--output-dir", str(data), "--families", "flip-h", "recolour",
                 "--tasks-per-family", "3", "--held-out-tasks", "1", "--num-aug", "1"]) == 0
    config = tmp_path / "train.yaml"
    config.write_text(json.dumps({
        "data_paths": [str(data)], "checkpoint_path": str(tmp_path / "run"), "global_batch_size": 4, "max_steps": 2,
        "eval_at_end": False, "arch": {"hidden_size": 16, "num_heads": 2, "H_cycles": 1, "L_cycles": 1,
                                       "halt_max_steps": 2, "puzzle_emb_ndim": 16, "puzzle_emb_len": 2,
                                       "forward_dtype": "float32"}}))  # JSON is YAML
    assert main(["train", "--config", str(config), "--device", "cpu"]) == 0
    checkpoint = tmp_path / "run" / "model.safetensors"
    task = tmp_path / "task.json"

    task.write_text(json.dumps({"train": [{"input": [[1, 0], [0, 0]], "output": [[0, 1], [0, 0]]}],
                                "test": [{"input": [[2, 0], [0, 3]]}]}))
    assert main(["fit-solve", "--checkpoint", str(checkpoint), "--input", str(task), "--augmentations", "2",
                 "--fit-steps", "2"]) == 0
    task.write_text(json.dumps({"train": [{"input": [[1] * 14], "output": [[1] * 14]}], "test": [{"input": [[2]]}]}))
    assert main(["fit-solve", "--checkpoint", str(checkpoint), "--input", str(task)]) == 2  # 14 wide: refused first
