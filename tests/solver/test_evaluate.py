"""Evaluation: exact accuracy against known answers, the maze path checker, ARC voting, --record."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest

from solver.checkpoint import checkpoint_info, load_checkpoint, save_checkpoint
from solver.codecs import codec_for
from solver.datasets.arc import inverse_augmentation
from solver.datasets.common import dihedral_transform as dihedral
from solver.cli.evaluate import register
from solver.evaluate import ArcVotes, Grader, evaluate_model, maze_path_is_shortest, maze_shortest_length, render_table
from solver.data import load_split
from solver.inference import solve_steps
from tests.solver.conftest import tiny_model
from tests.solver.test_train import one_thread, write_split, write_sudoku_dataset  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def model_and_data(tmp_path):
    """A tiny Sudoku checkpoint and a dataset whose test labels are that model's own final answers."""
    model = tiny_model("sudoku")
    checkpoint = save_checkpoint(model, model.config, tmp_path / "tiny.safetensors",
                                 provenance={"made_by": "tests", "trained": False, "training_step": 0})
    data = write_sudoku_dataset(tmp_path / "data", test=6)
    inputs = np.load(data / "test" / "all__inputs.npy")
    answers = list(solve_steps(model, inputs.astype(np.int64)))[-1].tokens
    return model, checkpoint, data, inputs, answers


def test_exact_accuracy_is_one_on_the_models_own_answers_and_zero_on_wrong_ones(model_and_data, tmp_path):
    model, _, data, inputs, answers = model_and_data
    write_split(data / "test", inputs, answers, kind_shape=(81, 11))
    figures = evaluate_model(model, load_split(data, "test"), batch_size=4)
    assert figures["puzzles"] == 6 and figures["steps"] == model.config.halt_max_steps
    assert figures["exact_accuracy"] == 1.0 and figures["token_accuracy"] == 1.0
    assert figures["per_step"][-1]["exact_accuracy"] == 1.0 and len(figures["per_step"]) == figures["steps"]
    assert sum(row["would_halt_here"] for row in figures["per_step"]) + figures["halting"]["never_halted"] == 6

    np.save(data / "test" / "all__difficulty.npy", np.array([0, 1, 2, 3, 5, 9], dtype=np.int32))
    by_band = evaluate_model(model, load_split(data, "test"))["by_difficulty"]
    assert [(b["difficulty"], b["puzzles"], b["exact_accuracy"]) for b in by_band] == [
        ("0", 1, 1.0), ("1", 1, 1.0), ("2-3", 2, 1.0), ("4-7", 1, 1.0), ("8-15", 1, 1.0)]

    wrong = np.where(answers >= 10, 2, answers + 1)  # every position differs, no label is the ignored 0
    write_split(data / "test", inputs, wrong, kind_shape=(81, 11))
    figures = evaluate_model(model, load_split(data, "test"), limit=5)
    assert figures["puzzles"] == 5 and figures["exact_accuracy"] == 0.0 and figures["token_accuracy"] == 0.0


def test_command_line_prints_json_and_records_figures_without_changing_the_weights(model_and_data, capsys):
    _, checkpoint, data, inputs, answers = model_and_data
    write_split(data / "test", inputs, answers, kind_shape=(81, 11))
    before = checkpoint_info(checkpoint)
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["evaluate", str(checkpoint), str(data), "--json", "--record", "--limit", "3"])
    args.func(args)
    printed = json.loads(capsys.readouterr().out)
    assert printed["exact_accuracy"] == 1.0 and printed["puzzles"] == 3 and printed["split"] == "test"
    after = checkpoint_info(checkpoint)
    assert after["content_hash"] == before["content_hash"]
    recorded = after["provenance"]["evaluation"]
    assert recorded["exact_accuracy"] == 1.0 and recorded["puzzles"] == 3 and recorded["split"] == "test"
    assert after["provenance"]["made_by"] == "tests"
    load_checkpoint(checkpoint)

    args = parser.parse_args(["evaluate", str(checkpoint), str(data)])
    args.func(args)
    table = capsys.readouterr().out
    assert "exact 100.0%" in table and "would halt here" in table


def test_evaluating_a_model_on_another_kind_of_dataset_is_refused(tmp_path):
    data = write_sudoku_dataset(tmp_path / "data")
    with pytest.raises(ValueError, match="sudoku puzzles, the model is a maze model"):
        evaluate_model(tiny_model("maze"), load_split(data, "test"))


# --------------------------------------------------------------------------------------------- mazes

MAZE = ["#######",
        "#S    #",
        "# ### #",
        "#    G#",
        "#######"]


def maze_tokens(rows: list[str]) -> np.ndarray:
    return codec_for("maze").encode(rows)


def with_path(rows: list[str], cells: list[tuple[int, int]]) -> np.ndarray:
    grid = [list(r) for r in rows]
    for r, c in cells:
        grid[r][c] = "o"
    return maze_tokens(["".join(r) for r in grid])


def test_maze_checker_accepts_any_shortest_path_and_rejects_longer_or_broken_ones():
    x = maze_tokens(MAZE)
    assert maze_shortest_length(x) == 6
    down_first = [(2, 1), (3, 1), (3, 2), (3, 3), (3, 4)]
    right_first = [(1, 2), (1, 3), (1, 4), (1, 5), (2, 5)]
    assert maze_path_is_shortest(x, with_path(MAZE, down_first))
    assert maze_path_is_shortest(x, with_path(MAZE, right_first))
    assert not maze_path_is_shortest(x, with_path(MAZE, down_first + [(1, 2)]))  # a stray extra cell
    assert not maze_path_is_shortest(x, with_path(MAZE, down_first[:-1] + [(1, 2)]))  # broken: gap before G
    assert not maze_path_is_shortest(x, with_path(MAZE, down_first[:-1]))  # too short to connect
    assert not maze_path_is_shortest(x, with_path(MAZE, [(2, 1), (2, 2), (3, 2), (3, 3), (3, 4)]))  # through a wall
    moved_goal = with_path(MAZE, down_first)
    moved_goal[3 * 30 + 5], moved_goal[1 * 30 + 5] = 2, 4  # the answer must keep the maze as it was
    assert not maze_path_is_shortest(x, moved_goal)

    longer = ["#########",
              "#S      #",
              "# ##### #",
              "#   G   #",
              "#########"]
    assert maze_shortest_length(maze_tokens(longer)) == 5
    detour = [(1, 2), (1, 3), (1, 4), (1, 5), (1, 6), (1, 7), (2, 7), (3, 7), (3, 6), (3, 5)]
    assert not maze_path_is_shortest(maze_tokens(longer), with_path(longer, detour))
    assert maze_path_is_shortest(maze_tokens(longer), with_path(longer, [(2, 1), (3, 1), (3, 2), (3, 3)]))


def test_maze_evaluation_counts_valid_shortest_paths_that_differ_from_the_label(tmp_path):
    model = tiny_model("maze")
    x = maze_tokens(MAZE)
    write_split(tmp_path / "data" / "test", x[None], with_path(MAZE, [(1, 2), (1, 3), (1, 4), (1, 5), (2, 5)])[None],
                kind_shape=(900, 6))
    figures = evaluate_model(model, load_split(tmp_path / "data", "test"))
    assert figures["kind"] == "maze" and figures["valid_shortest_path"] == 0.0  # a random model draws no path

    grader = Grader("maze", 1, None)
    answer = with_path(MAZE, [(2, 1), (3, 1), (3, 2), (3, 3), (3, 4)])
    label = with_path(MAZE, [(1, 2), (1, 3), (1, 4), (1, 5), (2, 5)])
    grader.add(x[None], label[None], label[None].astype(np.int64), np.zeros(1), [answer[None]], [np.ones(1)])
    figures = grader.figures()
    assert figures["valid_shortest_path"] == 1.0 and figures["exact_accuracy"] == 0.0
    assert "by_size" not in figures  # the builder's sizes were not given


def test_maze_evaluation_reports_accuracy_by_the_builders_maze_size(tmp_path):
    x = maze_tokens(MAZE)
    right = with_path(MAZE, [(2, 1), (3, 1), (3, 2), (3, 3), (3, 4)])
    wrong = with_path(MAZE, [(2, 1), (3, 1), (3, 2), (3, 3)])  # stops short of G
    inputs, labels = np.stack([x, x, x]), np.stack([right, right, right])
    np.save(tmp_path / "sizes.npy", np.array([6, 6, 9], dtype=np.int32))
    grader = Grader("maze", 1, None)
    grader.add(inputs, labels, labels.astype(np.int64), np.zeros(3), [np.stack([right, wrong, right])], [np.ones(3)],
               size=np.load(tmp_path / "sizes.npy"))
    figures = grader.figures()
    assert figures["by_size"] == [{"size": "6x6", "puzzles": 2, "valid_shortest_path": 0.5},
                                  {"size": "9x9", "puzzles": 1, "valid_shortest_path": 1.0}]
    assert "  6x6         2       50.0%" in render_table({**figures, "kind": "maze", "dataset": "d", "split": "test"})


# ----------------------------------------------------------------------------------------------- ARC


def augment(grid: np.ndarray, tid: int, perm: np.ndarray) -> np.ndarray:
    return dihedral(perm[grid], tid)


@pytest.mark.parametrize("tid", range(8))
def test_inverse_augmentation_undoes_each_augmentation(tid):
    rng = np.random.default_rng(tid)
    grid = rng.integers(0, 10, (3, 5)).astype(np.uint8)
    perm = np.concatenate([[0], rng.permutation(9) + 1]).astype(np.uint8)
    task, undo = inverse_augmentation(f"abc123|||t{tid}|||{''.join(map(str, perm))}")
    assert task == "abc123"
    assert np.array_equal(undo(augment(grid, tid, perm)), grid)


def test_arc_voting_ranks_by_votes_then_halting_confidence():
    arc = codec_for("arc")
    test_input = np.array([[1, 2], [3, 4], [5, 6]], dtype=np.uint8)
    truth = np.array([[6, 5], [4, 3], [2, 1]], dtype=np.uint8)
    wrong = np.array([[0]], dtype=np.uint8)
    other_wrong = np.array([[7, 7]], dtype=np.uint8)
    shift = np.array([0, 2, 3, 4, 5, 6, 7, 8, 9, 1], dtype=np.uint8)
    copies = [(1, shift), (4, shift), (6, np.arange(10, dtype=np.uint8)), (0, np.arange(10, dtype=np.uint8))]
    names = ["<blank>"] + [f"task|||t{tid}|||{''.join(map(str, perm))}" for tid, perm in copies]
    votes = ArcVotes(names)
    # Two copies give the right answer with low confidence, two others differing wrong ones.
    answers = [(truth, -1.0), (truth, -2.0), (wrong, 3.0), (other_wrong, 0.0)]
    for identifier, ((tid, perm), (answer, q)) in enumerate(zip(copies, answers), start=1):
        votes.add(identifier, arc.encode(augment(test_input, tid, perm).tolist()),
                  arc.encode(augment(truth, tid, perm).tolist()), arc.encode(augment(answer, tid, perm).tolist()), q)
    scores = votes.scores()
    assert scores["tasks"] == 1 and scores["test_inputs"] == 1
    assert scores["pass@1"] == 1.0 and scores["pass@2"] == 1.0  # two votes beat one confident vote

    tie = ArcVotes(None)  # without identifiers.json each identifier is its own task, unaugmented
    grid = arc.encode(test_input.tolist())
    tie.add(3, grid, arc.encode(truth.tolist()), arc.encode(wrong.tolist()), 2.0)
    tie.add(3, grid, arc.encode(truth.tolist()), arc.encode(truth.tolist()), 1.0)
    assert tie.scores()["pass@1"] == 0.0 and tie.scores()["pass@2"] == 1.0  # one vote each: confidence decides


def test_generated_arc_tasks_are_scored_by_rule_family_and_arc_agi_tasks_are_not():
    arc = codec_for("arc")
    grid, other = np.array([[1, 2], [3, 4]]), np.array([[5, 6], [7, 8]])
    names = ["<blank>", "flip-h-1", "flip-h-2", "recolour-1", "unseen-gravity-3", "0d3d703e"]
    votes = ArcVotes(names)
    for identifier, right in ((1, True), (2, False), (3, True), (4, False), (5, True)):
        votes.add(identifier, arc.encode(grid.tolist()), arc.encode(grid.tolist()),
                  arc.encode((grid if right else other).tolist()), 1.0)
    assert votes.scores()["by_family"] == [
        {"family": "flip-h", "tasks": 2, "pass@2": 0.5},
        {"family": "recolour", "tasks": 1, "pass@2": 1.0},
        {"family": "unseen-gravity", "tasks": 1, "pass@2": 0.0},
    ]
    only_arc_agi = ArcVotes(["<blank>", "0d3d703e"])
    only_arc_agi.add(1, arc.encode(grid.tolist()), arc.encode(grid.tolist()), arc.encode(grid.tolist()), 1.0)
    assert "by_family" not in only_arc_agi.scores()


def test_mazes_on_a_smaller_field_are_graded_and_a_model_of_another_field_is_refused(tmp_path):
    codec = codec_for("maze", 100)
    x, path = codec.encode(MAZE), [(1, 2), (1, 3), (1, 4), (1, 5), (2, 5)]
    answer = codec.encode(["".join("o" if (r, c) in path else ch for c, ch in enumerate(row)) for r, row in enumerate(MAZE)])
    assert maze_shortest_length(x) == 6
    assert maze_path_is_shortest(x, answer) and not maze_path_is_shortest(x, x)
    write_split(tmp_path / "data" / "test", x[None], answer[None], kind_shape=(100, 6))
    figures = evaluate_model(tiny_model("maze", seq_len=100), load_split(tmp_path / "data", "test"))
    assert figures["kind"] == "maze" and figures["valid_shortest_path"] == 0.0  # a random model draws no path
    with pytest.raises(ValueError, match="has 100 positions a puzzle, the model 900; build the data with the model's --field"):
        evaluate_model(tiny_model("maze"), load_split(tmp_path / "data", "test"))
