"""The puzzles the playground offers to start from (the Example of each kind and the gallery cards), kept in
gallery.json so that the page, the tests and bench/default_actions.py read the same list."""

import json
from functools import cache
from pathlib import Path

GALLERY_FILE = Path(__file__).with_name("gallery.json")


@cache
def starting_puzzles() -> dict:
    """{"examples": {kind: entry}, "gallery": [entry, ...]}; a Sudoku or maze entry holds its `puzzle`, an ARC
    one either its task (`puzzle`: {"train": [...], "test": [...]}, one drawn for the playground) or the
    `dataset` and `name` of a task in the library."""
    data = json.loads(GALLERY_FILE.read_text())
    return {"examples": data["examples"], "gallery": data["gallery"]}


def refusal(entry: dict, kind_defaults: dict[str, dict]) -> str | None:
    """Why the active checkpoint of the entry's kind would refuse it, or None: the card is then shown disabled
    with this reason instead of letting a solve fail."""
    defaults = kind_defaults.get(entry["kind"])
    if defaults is None:
        return f"no {entry['kind']} checkpoint is active"
    if entry["kind"] == "maze":
        side = max(len(entry["puzzle"]), len(entry["puzzle"][0]))
        largest = defaults["largest_grid"]
        if side > largest:
            return f"the active maze model takes mazes up to {largest}×{largest}"
    if entry["kind"] == "arc" and "puzzle" in entry:
        grids = [pair[key] for part in ("train", "test") for pair in entry["puzzle"][part] for key in pair]
        side = max(max(len(grid), len(grid[0])) for grid in grids)
        largest = defaults["largest_grid"]
        if side > largest:
            return f"the active ARC model takes grids up to {largest}×{largest}"
    return None


def offered(kind_defaults: dict[str, dict]) -> dict:
    """The starting puzzles as the page shows them, each gallery card with `refused` (a reason or None)."""
    puzzles = starting_puzzles()
    return {"examples": puzzles["examples"],
            "gallery": [{**entry, "refused": refusal(entry, kind_defaults)} for entry in puzzles["gallery"]]}
