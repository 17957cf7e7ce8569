import json

import numpy as np
import pytest

from solver.codecs import PuzzleError, codec_for

SUDOKU = "53..7....6..195....98....6.8...6...34..8.3..17...2...6.6....28....419..5....8..79"
MAZE = ["#######",
        "#S    #",
        "# ### #",
        "#    G#",
        "#######"]


def error_of(fn, *args) -> str:
    with pytest.raises(PuzzleError) as info:
        fn(*args)
    return str(info.value)


# ------------------------------------------------------------------------------------------ sudoku


def test_sudoku_tokens_are_digit_plus_one():
    codec = codec_for("sudoku")
    tokens = codec.encode(codec.parse_text(SUDOKU)[0])
    assert tokens.dtype == np.int32 and tokens.shape == (81,)
    assert tokens[:4].tolist() == [6, 4, 1, 1]  # '5', '3', blank, blank
    assert (codec.kind, codec.seq_len, codec.vocab_size) == ("sudoku", 81, 11)


def test_sudoku_parse_forms_agree():
    codec = codec_for("sudoku")
    grid = codec.parse_text(SUDOKU)[0]
    assert grid[0] == [5, 3, 0, 0, 7, 0, 0, 0, 0]
    as_rows = "\n".join(SUDOKU[i:i + 9] for i in range(0, 81, 9))
    assert codec.parse_text(as_rows) == [grid]
    assert codec.parse_text(SUDOKU.replace(".", "0")) == [grid]
    assert codec.from_json(SUDOKU) == grid
    assert codec.from_json(grid) == grid
    assert codec.decode(codec.encode(grid)) == grid
    assert json.loads(json.dumps(grid)) == grid


def test_sudoku_several_puzzles_one_per_line():
    codec = codec_for("sudoku")
    grids = codec.parse_text(SUDOKU + "\n\n" + "." * 81 + "\n")
    assert len(grids) == 2 and grids[1] == [[0] * 9] * 9
    assert codec.encode_batch(grids).shape == (2, 81)


@pytest.mark.parametrize("text, message", [
    ("x" + "." * 80, "row 1, column 1: symbol 'x' is not allowed; use 1-9, or '.' or '0' for a blank"),
    ("." * 40 + "a" + "." * 40, "row 5, column 5: symbol 'a'"),
    ("." * 80, "sudoku needs 81 cells, got 80"),
    ("", "sudoku input is empty"),
    ("." * 81 + "\n" + "." * 80 + "x", "line 2: row 9, column 9: symbol 'x'"),
])
def test_sudoku_text_errors(text, message):
    assert message in error_of(codec_for("sudoku").parse_text, text)


@pytest.mark.parametrize("obj, message", [
    ([[0] * 9] * 8, "sudoku grid must have 9 rows, got 8"),
    ([[0] * 9] * 8 + [[0] * 8], "row 9: a sudoku row must be a list of 9 integers 0-9, got 8 cells"),
    ([[0] * 9] * 2 + [[0, 0, 10] + [0] * 6] + [[0] * 9] * 6, "row 3, column 3: 10 is out of range; use 0-9"),
    ([[0] * 9] * 8 + [[0] * 8 + ["1"]], "row 9, column 9: '1' is not an integer"),
    ([[0] * 9] * 8 + [[0] * 8 + [True]], "row 9, column 9: True is not an integer"),
    (42, "81-character string or a 9x9 list"),
])
def test_sudoku_json_errors(obj, message):
    assert message in error_of(codec_for("sudoku").from_json, obj)


def test_sudoku_decode_shows_pad_as_blank():
    assert codec_for("sudoku").decode(np.zeros(81, dtype=np.int64))[0][0] == 0


# -------------------------------------------------------------------------------------------- maze


def test_maze_small_maze_sits_in_a_field_of_walls():
    codec = codec_for("maze")
    tokens = codec.encode(MAZE)
    field = tokens.reshape(30, 30)
    assert (codec.seq_len, codec.vocab_size) == (900, 6)
    assert field[1, :7].tolist() == [1, 3, 2, 2, 2, 2, 1]  # '#', 'S', ' ' ...
    assert field[3, 5] == 4  # 'G'
    assert (field[5:, :] == 1).all() and (field[:, 7:] == 1).all()
    assert codec.decode(tokens, like=MAZE) == MAZE
    assert len(codec.decode(tokens)) == 30  # without the input's size, the whole field


def test_maze_answer_with_path_decodes():
    codec = codec_for("maze")
    answer = ["#######", "#Sooo #", "# ###o#", "#    G#", "#######"]
    assert codec.decode(codec.encode(answer), like=MAZE) == answer


def test_maze_text_several_and_open_rows():
    codec = codec_for("maze")
    text = "\n".join(MAZE) + "\n\n" + "S  \n   \n  G\n"
    grids = codec.parse_text(text)
    assert grids == [MAZE, ["S  ", "   ", "  G"]]  # a row of spaces is an open row, not a separator
    assert codec.from_json(MAZE) == MAZE


@pytest.mark.parametrize("rows, message", [
    (["#S#", "#G", "###"], "row 2 has 2 cells but row 1 has 3; all rows must have the same length"),
    (["#S#", "#Gx"], "row 2, column 3: symbol 'x' is not allowed"),
    (["#S#", "# #"], "maze must have exactly one 'G' (goal), found 0"),
    (["SS#", "#G#"], "exactly one 'S' (start), found 2"),
    (["#" * 31] * 2, "row 1 has 31 cells; at most 30 are allowed"),
    (["S" + "#" * 4 + "G"] + ["#" * 6] * 30, "maze has 31 rows; at most 30 are allowed"),
    (["#S#", "#o#", "#G#"], "row 2, column 2: symbol 'o' is not allowed"),
    ("#S#G", "maze grid must be a list of row strings"),
])
def test_maze_errors(rows, message):
    assert message in error_of(codec_for("maze").from_json, rows)


def test_maze_errors_name_the_maze_when_several():
    text = "\n".join(MAZE) + "\n\n#S#\n###\n"
    assert error_of(codec_for("maze").parse_text, text).startswith("maze 2: maze must have exactly one 'G'")


# --------------------------------------------------------------------------------------------- arc


def test_arc_canvas_has_eos_border_but_not_the_corner():
    codec = codec_for("arc")
    grid = [[1, 2, 3], [4, 5, 6]]
    canvas = codec.encode(grid).reshape(30, 30)
    assert canvas[:3, :4].tolist() == [[3, 4, 5, 1], [6, 7, 8, 1], [1, 1, 1, 0]]
    assert canvas[3:, :].sum() == 0 and canvas[:, 4:].sum() == 0
    assert codec.decode(canvas) == grid


def test_arc_full_canvas_has_no_border():
    codec = codec_for("arc")
    grid = [[(r + c) % 10 for c in range(30)] for r in range(30)]
    tokens = codec.encode(grid)
    assert tokens.min() >= 2
    assert codec.decode(tokens) == grid


def test_arc_decode_crops_like_the_reference_evaluator():
    codec = codec_for("arc")
    canvas = np.zeros((30, 30), dtype=np.int64)
    canvas[0, :5] = 2
    canvas[1, :3] = 3
    canvas[2, :3] = 4
    canvas[3, :1] = 5
    # Rows 1-3 are 3 wide: 3x3 (area 9) beats 1x5 and 4x1.
    assert codec.decode(canvas) == [[0, 0, 0], [1, 1, 1], [2, 2, 2]]
    assert codec.decode(np.zeros(900, dtype=np.int64)) == []


def test_arc_parse_one_or_several():
    codec = codec_for("arc")
    assert codec.parse_text("[[1, 2], [3, 4]]") == [[[1, 2], [3, 4]]]
    assert codec.parse_text("[[[1]], [[2, 3]]]") == [[[1]], [[2, 3]]]


@pytest.mark.parametrize("text, message", [
    ("[[1, 2], [3]]", "row 2 has 1 cells but row 1 has 2; all rows must have the same length"),
    ("[[1, 2], [3, 10]]", "row 2, column 2: 10 is out of range; use 0-9"),
    ("[[1, 2], [3, -1]]", "row 2, column 2: -1 is out of range"),
    ("[[1, 2], [3, 1.5]]", "row 2, column 2: 1.5 is not an integer"),
    (json.dumps([[0]] * 31), "ARC grid has 31 rows; at most 30 are allowed"),
    (json.dumps([[0] * 31]), "row 1 has 31 cells; rows need 1 to 30 cells"),
    ("[[1, 2]", "ARC input is not valid JSON"),
    ("[]", "ARC grid must be a non-empty list"),
    ("[[[1]], [[2], [3, 4]]]", "grid 2: row 2 has 2 cells but row 1 has 1"),
])
def test_arc_errors(text, message):
    assert message in error_of(codec_for("arc").parse_text, text)


def test_unknown_kind():
    assert "unknown puzzle kind 'chess'; use one of sudoku, maze, arc" in error_of(codec_for, "chess")


def test_puzzle_error_is_a_value_error():
    assert issubclass(PuzzleError, ValueError)


# ---------------------------------------------------------------------------------- smaller maze fields


def test_a_maze_model_on_a_smaller_field_gets_that_fields_codec():
    codec = codec_for("maze", 100)
    assert (codec.seq_len, codec.field) == (100, 10)
    field = codec.encode(MAZE).reshape(10, 10)
    assert field[1, :7].tolist() == [1, 3, 2, 2, 2, 2, 1]
    assert (field[5:, :] == 1).all() and (field[:, 7:] == 1).all()  # walls around it, as on the 30x30 field
    assert codec.decode(codec.encode(MAZE), like=MAZE) == MAZE
    assert codec_for("maze", 900) is codec_for("maze")  # the standard field


def test_a_smaller_field_refuses_a_larger_maze_and_says_why():
    rows = ["S" + " " * 10, " " * 10 + "G"]
    assert codec_for("maze").from_json(rows) == rows  # fine on the 30x30 field
    message = error_of(codec_for("maze", 100).from_json, rows)
    assert message == "row 1 has 11 cells; at most 10 are allowed by this model, whose field is 10x10"
    tall = ["S"] + [" "] * 10 + ["G"]
    assert "maze has 12 rows; at most 10 are allowed by this model" in error_of(codec_for("maze", 100).encode, tall)


@pytest.mark.parametrize("kind, seq_len, message", [
    ("maze", 99, "a maze model with 99 positions has no codec; maze models have a square field of 3x3 to 30x30"),
    ("maze", 31 * 31, "maze models have a square field"),
    ("maze", 4, "maze models have a square field"),
    ("sudoku", 100, "a sudoku model with 100 positions has no codec; sudoku models have 81"),
    ("arc", 99, "an arc model with 99 positions has no codec; arc models have a square canvas of 3x3 to 30x30"),
    ("arc", 31 * 31, "arc models have a square canvas"),
])
def test_a_sequence_length_no_field_has_is_refused(kind, seq_len, message):
    assert message in error_of(codec_for, kind, seq_len)
