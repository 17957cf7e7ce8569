"""Property-based tests: whatever a client sends, the puzzle parser and the submit endpoint answer with
a clear refusal or a job, never a crash; valid grids survive encode/decode unchanged."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from puzzles.services.puzzle_input import PuzzleBodyError, parse_puzzle
from solver.codecs import PuzzleError, codec_for

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-20, 20) | st.floats(allow_nan=False) | st.text(max_size=90),
    lambda children: st.lists(children, max_size=12) | st.dictionaries(st.text(max_size=8), children, max_size=6),
    max_leaves=60,
)
arc_grids = st.integers(1, 30).flatmap(
    lambda rows: st.integers(1, 30).flatmap(
        lambda cols: st.lists(st.lists(st.integers(0, 9), min_size=cols, max_size=cols), min_size=rows, max_size=rows)
    )
)
mazes = st.tuples(st.integers(2, 30), st.integers(2, 30)).flatmap(
    lambda size: st.lists(st.sampled_from("# "), min_size=size[0] * size[1], max_size=size[0] * size[1]).flatmap(
        lambda cells: st.permutations(range(size[0] * size[1])).map(
            lambda order: _place_start_goal(cells, order[:2], size[1])
        )
    )
)


def _place_start_goal(cells: list, positions, width: int) -> list[str]:
    cells = list(cells)
    cells[positions[0]], cells[positions[1]] = "S", "G"
    return ["".join(cells[i : i + width]) for i in range(0, len(cells), width)]


@given(kind=st.sampled_from(["sudoku", "maze", "arc"]), body=json_values)
@settings(max_examples=300, deadline=None)
def test_any_body_is_parsed_or_refused_with_a_location(kind, body):
    try:
        parse_puzzle(kind, body)
    except PuzzleBodyError as error:
        assert error.location.startswith("puzzle")
        assert error.message


@given(grid=arc_grids)
@settings(max_examples=100, deadline=None)
def test_arc_grids_round_trip_through_the_canvas(grid):
    codec = codec_for("arc")
    assert codec.decode(codec.encode(grid)) == grid


@given(maze=mazes)
@settings(max_examples=100, deadline=None)
def test_mazes_round_trip_through_the_field_of_walls(maze):
    codec = codec_for("maze")
    assert codec.decode(codec.encode(maze), like=maze) == maze


@given(text=st.text(alphabet=".0123456789x \n", max_size=100))
@settings(max_examples=200, deadline=None)
def test_sudoku_text_is_parsed_or_refused_with_a_message(text):
    try:
        grids = codec_for("sudoku").parse_text(text)
    except PuzzleError as error:
        assert str(error)
    else:
        assert all(len(grid) == 9 and all(len(row) == 9 for row in grid) for grid in grids)


@pytest.mark.django_db
@given(body=json_values)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_submit_endpoint_never_answers_500(client, body):
    from django.core.cache import cache

    cache.clear()  # stay under the rate limit across examples
    payload = body if isinstance(body, dict) and "kind" in body else {"kind": "sudoku", "puzzle": body}
    response = client.post("/api/v1/jobs/", json.dumps(payload), content_type="application/json")

    assert response.status_code in (202, 400), response.content
    assert "error" in response.json() if response.status_code == 400 else "id" in response.json()
