"""Turning a submitted puzzle body into the grids the solver runs, with errors that say where.

Bodies follow the REST contract (DESIGN.md): Sudoku `{"grid": "<81 chars>" | [[9 ints] x 9]}`, maze
`{"grid": ["<row>", ...]}`, ARC `{"train": [{"input": g, "output": g}, ...], "test": [{"input": g}],
"task": optional}`. The solver's codecs check every grid, so the web side and the command line accept
and refuse exactly the same puzzles.
"""

from dataclasses import dataclass

from solver.codecs import PuzzleError, codec_for

MAX_ARC_PAIRS = 10
MAX_ARC_TESTS = 4


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

    Only mazes vary: a maze model may be trained on a field smaller than 30x30 (solver/codecs.py), and
    then takes only mazes that fit in it.
    """
    if parsed.kind != "maze" or seq_len is None:
        return
    try:
        codec = codec_for("maze", seq_len)
        for grid in parsed.grids:
            codec.encode(grid)
    except PuzzleError as error:
        raise PuzzleBodyError("puzzle.grid", str(error)) from None


def parse_puzzle(kind: str, body) -> ParsedPuzzle:
    """Check a submitted body of the given kind; raise PuzzleBodyError naming the faulty place."""
    body = _object(body, "puzzle")
    if kind == "arc":
        return _parse_arc(body)
    grid = _grid(kind, body.get("grid"), "puzzle.grid")
    return ParsedPuzzle(kind, {"grid": grid}, [grid])
