"""Turning a submitted puzzle body into the grids the solver runs, with errors that say where.

Bodies follow the REST contract (docs/api.md): Sudoku `{"grid": "<81 chars>" | [[9 ints] x 9]}`, maze
`{"grid": ["<row>", ...]}`, ARC `{"train": [{"input": g, "output": g}, ...], "test": [{"input": g}],
"task": optional}`. The solver's codecs check every grid, so the web side and the command line accept
and refuse exactly the same puzzles. A submit asks more of a Sudoku than its shape (check_one_solution):
what the playground states, that it keeps the rules and has exactly one solution.
"""

from collections import defaultdict
from dataclasses import dataclass

from solver.codecs import PuzzleError, codec_for
from solver.datasets import sudoku

MAX_ARC_PAIRS = 10
MAX_ARC_TESTS = 4

# Counting a Sudoku's solutions gives up past this many guesses. A puzzle with one solution needs far fewer
# (the hardest well-known ones 71 to 339, a random conflict-free grid of 8 to 30 clues at most 39); a
# conflict-free puzzle with no solution can need millions (Norvig's "impossible" one: 2.6 million, 110 s).
# 20,000 guesses take 0.7 s on this project's 2-core machine under load, the most a request may cost.
SUDOKU_GUESS_LIMIT = 20_000
TOO_HARD_TO_COUNT = (f"counting this Sudoku's solutions took over {SUDOKU_GUESS_LIMIT:,} guesses (the hardest known "
                     "Sudokus need a few hundred), so it was not accepted: most likely it has no solution")
MAX_RULE_BREAKS_SHOWN = 3

# The names of sudoku.UNITS, in its order: the nine rows, the nine columns, then the boxes row by row.
_UNIT_NAMES = ([f"row {r + 1}" for r in range(9)] + [f"column {c + 1}" for c in range(9)]
               + [f"the box of rows {br * 3 + 1}-{br * 3 + 3}, columns {bc * 3 + 1}-{bc * 3 + 3}"
                  for br in range(3) for bc in range(3)])


class PuzzleBodyError(ValueError):
    """A submitted body is not a valid puzzle; `location` is the JSON path of the fault."""

    def __init__(self, location: str, message: str):
        super().__init__(f"{location}: {message}")
        self.location = location
        self.message = message


@dataclass(frozen=True)
class ParsedPuzzle:
    kind: str
    data: dict  # normalised body, saved with the puzzle
    grids: list  # the inputs to solve, one per test input (a batch)


def _grid(kind: str, value, location: str):
    if value is None:
        raise PuzzleBodyError(location, "is required")
    try:
        return codec_for(kind).from_json(value)
    except PuzzleError as error:
        raise PuzzleBodyError(location, str(error)) from None


def _object(value, location: str) -> dict:
    if not isinstance(value, dict):
        raise PuzzleBodyError(location, f"must be a JSON object, not {type(value).__name__}")
    return value


def _list(value, location: str, *, minimum: int, maximum: int) -> list:
    if not isinstance(value, list):
        raise PuzzleBodyError(location, f"must be a JSON list, not {type(value).__name__}")
    if not minimum <= len(value) <= maximum:
        raise PuzzleBodyError(location, f"must hold {minimum} to {maximum} items, not {len(value)}")
    return value


def _parse_arc(body: dict) -> ParsedPuzzle:
    train = []
    for index, pair in enumerate(_list(body.get("train"), "puzzle.train", minimum=1, maximum=MAX_ARC_PAIRS)):
        where = f"puzzle.train[{index}]"
        pair = _object(pair, where)
        train.append({
            "input": _grid("arc", pair.get("input"), f"{where}.input"),
            "output": _grid("arc", pair.get("output"), f"{where}.output"),
        })
    test = []
    for index, pair in enumerate(_list(body.get("test"), "puzzle.test", minimum=1, maximum=MAX_ARC_TESTS)):
        where = f"puzzle.test[{index}]"
        pair = _object(pair, where)
        item = {"input": _grid("arc", pair.get("input"), f"{where}.input")}
        if pair.get("output") is not None:
            item["output"] = _grid("arc", pair["output"], f"{where}.output")
        test.append(item)
    data = {"train": train, "test": test}
    task = body.get("task")
    if task is not None:
        if not isinstance(task, str) or not 0 < len(task) <= 100:
            raise PuzzleBodyError("puzzle.task", "must be an ARC task name of 1 to 100 characters")
        data["task"] = task
    return ParsedPuzzle("arc", data, [item["input"] for item in test])


def check_fits_model(parsed: ParsedPuzzle, seq_len: int | None) -> None:
    """Raise PuzzleBodyError when a checkpoint of `seq_len` positions cannot take the puzzle.

    Mazes and ARC vary: a model may be trained on a field or canvas smaller than 30x30 (solver/codecs.py),
    and then takes only grids that fit in it. Every grid of an ARC task must: the fitting places the
    demonstration pairs on the canvas too.
    """
    if parsed.kind == "sudoku" or seq_len is None:
        return
    codec = codec_for(parsed.kind, seq_len)
    if parsed.kind == "maze":
        located = [("puzzle.grid", grid) for grid in parsed.grids]
    else:
        located = [(f"puzzle.{part}[{index}].{key}", pair[key]) for part in ("train", "test")
                   for index, pair in enumerate(parsed.data[part]) for key in ("input", "output") if key in pair]
    for location, grid in located:
        try:
            codec.encode(grid)
        except PuzzleError as error:
            raise PuzzleBodyError(location, str(error)) from None


SudokuTooHardToCount = sudoku.TooManyGuesses


def count_sudoku_solutions(grid: list[list[int]]) -> sudoku.SolveResult:
    """sudoku.solve(limit=2) of a 9x9 grid (0 = blank), raising SudokuTooHardToCount past the guess limit."""
    return sudoku.solve([v for row in grid for v in row], limit=2, max_guesses=SUDOKU_GUESS_LIMIT)


def _cells(indices: list[int]) -> str:
    names = [f"r{i // 9 + 1}c{i % 9 + 1}" for i in indices]
    return " and ".join(names) if len(names) == 2 else ", ".join(names[:-1]) + " and " + names[-1]


def sudoku_rule_breaks(grid: list[list[int]]) -> list[str]:
    """Each digit a row, column or box holds more than once, as "r1c3 and r1c7 both hold 3 (row 1)"."""
    cells = [v for row in grid for v in row]
    breaks = []
    for name, unit in zip(_UNIT_NAMES, sudoku.UNITS):
        places = defaultdict(list)
        for index in unit:
            if cells[index]:
                places[cells[index]].append(index)
        for digit, indices in sorted(places.items()):
            if len(indices) > 1:
                breaks.append(f"{_cells(indices)} {'both' if len(indices) == 2 else 'all'} hold {digit} ({name})")
    return breaks


def check_one_solution(parsed: ParsedPuzzle) -> None:
    """Raise PuzzleBodyError unless a Sudoku keeps the rules and has exactly one solution; other kinds pass.

    The playground refuses such a Sudoku before it submits; this holds the API to the same rules. Only at
    submit: the worker re-reads saved puzzles with parse_puzzle alone and need not count them again.
    """
    if parsed.kind != "sudoku":
        return
    grid = parsed.grids[0]
    breaks = sudoku_rule_breaks(grid)
    if breaks:
        shown = "; ".join(breaks[:MAX_RULE_BREAKS_SHOWN])
        more = len(breaks) - MAX_RULE_BREAKS_SHOWN
        raise PuzzleBodyError("puzzle.grid", shown + (f"; and {more} more rule breaks" if more > 0 else ""))
    try:
        solutions = len(count_sudoku_solutions(grid).solutions)
    except SudokuTooHardToCount:
        raise PuzzleBodyError("puzzle.grid", TOO_HARD_TO_COUNT) from None
    if solutions == 0:
        raise PuzzleBodyError("puzzle.grid", "this Sudoku has no solution: some clue contradicts the others")
    if solutions > 1:
        raise PuzzleBodyError("puzzle.grid", "this Sudoku has more than one solution: add clues until only one is left")


def parse_puzzle(kind: str, body) -> ParsedPuzzle:
    """Check a submitted body of the given kind; raise PuzzleBodyError naming the faulty place."""
    body = _object(body, "puzzle")
    if kind == "arc":
        return _parse_arc(body)
    grid = _grid(kind, body.get("grid"), "puzzle.grid")
    return ParsedPuzzle(kind, {"grid": grid}, [grid])
