"""The playground's starting puzzles (puzzles/gallery.py): an ARC entry may hold its own task, and a card the
active checkpoint would refuse is marked with the reason instead of being offered to fail."""

from puzzles.gallery import offered, refusal, starting_puzzles

DRAWN = {"kind": "arc", "title": "Mirror", "note": "drawn",
         "puzzle": {"train": [{"input": [[1, 0]], "output": [[0, 1]]}], "test": [{"input": [[0] * 14], "output": [[0] * 14]}]}}


def test_an_arc_card_with_a_grid_wider_than_the_active_canvas_is_refused_with_the_reason():
    assert refusal(DRAWN, {"arc": {"largest_grid": 13}}) == "the active ARC model takes grids up to 13×13"
    assert refusal(DRAWN, {"arc": {"largest_grid": 30}}) is None
    assert refusal(DRAWN, {}) == "no arc checkpoint is active"


def test_every_shipped_entry_is_offered_to_the_shipped_canvases():
    defaults = {"sudoku": {"largest_grid": 9}, "maze": {"largest_grid": 30}, "arc": {"largest_grid": 30}}
    shown = offered(defaults)
    assert shown["examples"] == starting_puzzles()["examples"]
    assert [card["refused"] for card in shown["gallery"]] == [None] * len(starting_puzzles()["gallery"])
    for entry in [*starting_puzzles()["gallery"], *({"kind": k, **e} for k, e in starting_puzzles()["examples"].items())]:
        if entry["kind"] == "arc":  # its own task, with the test outputs the page judges by, or a library name
            assert ("puzzle" in entry and all("output" in p for p in entry["puzzle"]["test"])) or "name" in entry
