"""static/js/verdicts.js run where it runs for real, in the browser, on boards whose verdict is known."""

from pathlib import Path

import pytest

from solver.datasets.maze import is_valid_shortest_path

VERDICTS_JS = Path(__file__).resolve().parent.parent / "static" / "js" / "verdicts.js"

# Project Euler's first Sudoku (the playground's example) and its one solution.
PUZZLE = "..3.2.6..9..3.5..1..18.64....81.29..7.......8..67.82....26.95..8..2.3..9..5.1.3.."
SOLUTION = "483921657967345821251876493548132976729564138136798245372689514814253769695417382"

MAZE = [
    "#######",
    "#S   G#",
    "# ### #",
    "#     #",
    "#######",
]


def rows(digits: str) -> list[list[int]]:
    return [[0 if ch == "." else int(ch) for ch in digits[r * 9:r * 9 + 9]] for r in range(9)]


@pytest.fixture
def judge(page):
    """Evaluate `judgeStep(kind, puzzle, verdictReference(kind, puzzle), step)` in the page."""
    page.set_content("<!doctype html><title>verdicts</title>")
    page.add_script_tag(path=str(VERDICTS_JS))

    def run(kind, puzzle, step):
        return page.evaluate(
            "([kind, puzzle, step]) => judgeStep(kind, puzzle, verdictReference(kind, puzzle), step)",
            [kind, puzzle, step],
        )

    run.page = page
    return run


def test_the_solver_finds_the_unique_solution_of_a_sudoku(judge):
    reference = judge.page.evaluate("(grid) => sudokuReference(grid)", rows(PUZZLE))
    assert reference["note"] == "unique solution"
    assert reference["solution"] == rows(SOLUTION)


def test_a_sudoku_with_several_solutions_or_none_has_nothing_to_compare_with(judge):
    empty = [[0] * 9 for _ in range(9)]
    assert judge.page.evaluate("(grid) => sudokuReference(grid)", empty) == {
        "solution": None, "note": "the puzzle has several solutions"}
    clash = rows(PUZZLE)
    clash[0][0] = 3  # a second 3 in row 1
    assert judge.page.evaluate("(grid) => sudokuReference(grid).note", clash) == "the puzzle has no solution"
    answer = judge("sudoku", {"grid": empty}, {"grid": rows(SOLUTION)})
    assert answer["text"] == "Solved: checked by the rules only (the puzzle has several solutions)."


def test_a_solved_sudoku_is_solved(judge):
    verdict = judge("sudoku", {"grid": rows(PUZZLE)}, {"grid": rows(SOLUTION)})
    assert verdict == {"status": "solved", "text": "Solved: 81/81 cells agree with the unique solution.", "marked": []}


def test_a_sudoku_with_a_conflict_marks_the_clashing_cells(judge):
    answer = rows(SOLUTION)
    answer[8][8] = 5  # its row, column and box each hold a 5 already
    verdict = judge("sudoku", {"grid": rows(PUZZLE)}, {"grid": answer})

    assert verdict["status"] == "wrong"
    assert verdict["text"] == "Not solved: 80/81 cells agree with the unique solution · 4 cells break a rule."
    assert verdict["marked"] == [[5, 8], [6, 6], [8, 2], [8, 8]]


def test_a_sudoku_answer_that_changes_a_given_or_leaves_blanks_says_so(judge):
    answer = rows(SOLUTION)
    answer[0][2] = 0  # the given 3 of row 1, blanked
    verdict = judge("sudoku", {"grid": rows(PUZZLE)}, {"grid": answer})
    assert verdict["text"] == "Not solved: 80/81 cells agree with the unique solution · 1 given digit changed · 1 cell blank."
    assert verdict["marked"] == [[0, 2]]


def judge_maze(judge, maze: list[str], answer: list[str]) -> dict:
    """The page's verdict on a maze answer, held to the solver's check: "solved" exactly when
    solver.datasets.maze.is_valid_shortest_path (what `python -m solver evaluate` grades with) says so."""
    verdict = judge("maze", {"grid": maze}, {"grid": answer})
    assert (verdict["status"] == "solved") == is_valid_shortest_path(maze, answer), (answer, verdict)
    return verdict


def maze_answer(*changes: tuple[int, str]) -> list[str]:
    answer = list(MAZE)
    for r, row in changes:
        answer[r] = row
    return answer


def test_a_maze_answer_along_the_shortest_path_is_a_valid_shortest_path(judge):
    verdict = judge_maze(judge, MAZE, maze_answer((1, "#SoooG#")))
    assert verdict == {"status": "solved", "text": "Valid shortest path: 4 steps.", "marked": []}


def test_a_maze_answer_around_the_block_is_valid_but_longer(judge):
    verdict = judge_maze(judge, MAZE, maze_answer((2, "#o###o#"), (3, "#ooooo#")))
    assert verdict == {"status": "valid", "text": "Valid but longer: 8 steps, shortest 4.", "marked": []}


def test_a_maze_path_that_runs_beside_itself_is_a_path_not_a_branch(judge):
    room = ["#######", "#S    #", "#     #", "#    G#", "#######"]
    # S, right, down, left (beside S), down, then right to G: every marked cell once.
    answer = ["#######", "#So   #", "#oo   #", "#ooooG#", "#######"]
    verdict = judge_maze(judge, room, answer)
    assert verdict == {"status": "valid", "text": "Valid but longer: 8 steps, shortest 6.", "marked": []}


@pytest.mark.parametrize(("changes", "reason", "marked"), [
    ([(1, "#Soo G#")], "the path stops before G", [[1, 3]]),
    ([(1, "#S   G#")], "no path leaves S", [[1, 1]]),
    ([(1, "#SoooG#"), (2, "#o### #")], "the path branches", [[1, 1]]),
    ([(1, "#SoooG#"), (2, "# #o# #")], "1 path cell lies on a wall, S or G", [[2, 3]]),
    ([(1, "#SoooG#"), (3, "#  o  #")], "1 marked cell is off the path", []),
])
def test_a_broken_maze_path_is_not_a_path(judge, changes, reason, marked):
    verdict = judge_maze(judge, MAZE, maze_answer(*changes))
    assert verdict == {"status": "wrong", "text": f"Not a path: {reason} (shortest 4).", "marked": marked}


def test_a_maze_without_a_way_through_says_so(judge):
    walled = ["#####", "#S#G#", "#####"]
    verdict = judge_maze(judge, walled, walled)
    assert verdict["text"] == "Not a path: no path leaves S (this maze has no path from S to G)."


ARC_TASK = {
    "train": [{"input": [[1, 0], [0, 0]], "output": [[1, 1], [1, 1]]}],
    "test": [{"input": [[0, 2], [0, 0]], "output": [[2, 2], [2, 2]]}],
}


def test_an_arc_answer_equal_to_the_test_output_is_an_exact_match(judge):
    verdict = judge("arc", ARC_TASK, {"grid": [[2, 2], [2, 2]]})
    assert verdict == {"status": "solved", "text": "Exact match.", "marked": []}


def test_an_arc_answer_of_the_wrong_size_or_with_other_cells_is_wrong(judge):
    assert judge("arc", ARC_TASK, {"grid": [[2, 2, 2], [2, 2, 2]]}) == {
        "status": "wrong", "text": "Wrong size (2×3, expected 2×2).", "marked": []}
    assert judge("arc", ARC_TASK, {"grid": [[2, 0], [2, 1]]}) == {
        "status": "wrong", "text": "2 cells differ.", "marked": [[0, 1], [1, 1]]}


def test_an_arc_task_with_several_tests_judges_each_and_one_without_outputs_is_unknown(judge):
    task = {"train": ARC_TASK["train"], "test": [ARC_TASK["test"][0], {"input": [[3]], "output": [[3]]}]}
    verdict = judge("arc", task, {"grid": [[2, 2], [2, 2]], "grids": [[[2, 2], [2, 2]], [[4]]]})
    assert verdict["status"] == "wrong"
    assert verdict["text"] == "Test 1: exact match · test 2: 1 cell differs."

    unknown = {"train": ARC_TASK["train"], "test": [{"input": [[0, 2], [0, 0]]}]}
    assert judge("arc", unknown, {"grid": [[2, 2], [2, 2]]})["status"] == "unknown"


def cells_right(judge, kind, puzzle, step):
    """verdicts.js's cellsRight on a step: what the job page charts and tabulates per step."""
    return judge.page.evaluate("([kind, puzzle, step]) => cellsRight(kind, puzzle, verdictReference(kind, puzzle), step)",
                               [kind, puzzle, step])


def test_cells_right_counts_what_the_verdict_checks(judge):
    answer = rows(SOLUTION)
    assert cells_right(judge, "sudoku", {"grid": rows(PUZZLE)}, {"grid": answer}) == {"right": 81, "of": 81, "label": "cells right"}
    answer[8][8], answer[0][0] = 5, 0
    assert cells_right(judge, "sudoku", {"grid": rows(PUZZLE)}, {"grid": answer})["right"] == 79
    several = [[0] * 9 for _ in range(9)]
    assert cells_right(judge, "sudoku", {"grid": several}, {"grid": rows(SOLUTION)}) is None  # nothing to count against

    assert cells_right(judge, "arc", ARC_TASK, {"grid": [[2, 0], [2, 1]]}) == {"right": 2, "of": 4, "label": "cells right"}
    assert cells_right(judge, "arc", ARC_TASK, {"grid": [[2, 2, 2]]})["right"] == 0  # the wrong size
    assert cells_right(judge, "arc", {"train": ARC_TASK["train"], "test": [{"input": [[1]]}]}, {"grid": [[1]]}) is None


@pytest.mark.parametrize(("changes", "right"), [
    ([(1, "#SoooG#")], 3),  # the shortest path: all of it
    ([(1, "#Soo G#")], 2),  # stops short: 2 of the 3 cells a shortest path has
    ([(2, "#o###o#"), (3, "#ooooo#")], 0),  # around the block: none of its 7 cells is on a shortest path
    ([(1, "#SoooG#"), (3, "#  o  #")], 3),  # a stray cell: 3 right of the 4 marked
])
def test_path_cells_right_count_the_marked_cells_on_some_shortest_path(judge, changes, right):
    answer = maze_answer(*changes)
    marked = sum(row.count("o") for row in answer)
    count = cells_right(judge, "maze", {"grid": MAZE}, {"grid": answer})
    assert count == {"right": right, "of": max(marked, 3), "label": "path cells right"}
    assert (count["right"] == count["of"]) == is_valid_shortest_path(MAZE, answer)
