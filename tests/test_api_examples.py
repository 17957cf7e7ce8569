"""`/api/v1/examples/...` and `/api/v1/sudoku/check/`: random puzzles from the real generators, rated as
asked, and the uniqueness check the playground runs before it submits a Sudoku."""


import pytest

from puzzles.api import examples
from puzzles.services.puzzle_input import TOO_HARD_TO_COUNT
from solver.datasets import maze, sudoku

UNIQUE = "..3.2.6..9..3.5..1..18.64....81.29..7.......8..67.82....26.95..8..2.3..9..5.1.3.."
AMBIGUOUS = "........." + UNIQUE[9:]  # the first row's three clues gone: two solutions or more
CONFLICTING = "33" + UNIQUE[2:]  # two 3s in the first row


def digits(grid: str) -> list[int]:
    return [int(ch) if ch.isdigit() else 0 for ch in grid]


@pytest.mark.parametrize("difficulty", list(examples.DIFFICULTIES))
def test_a_random_sudoku_has_one_solution_and_its_rating_is_in_the_band(client, difficulty):
    response = client.get("/api/v1/examples/sudoku/", {"difficulty": difficulty})

    assert response.status_code == 200
    answer = response.json()
    assert len(answer["grid"]) == 81 and set(answer["grid"]) <= set(".123456789")
    result = sudoku.solve(digits(answer["grid"]), limit=2)
    assert len(result.solutions) == 1
    assert result.guesses == answer["guesses"]  # the rating is the solver's, recomputed here
    low, high = examples.DIFFICULTIES[difficulty]
    assert low <= answer["guesses"] <= (high if high is not None else float("inf"))
    assert answer["difficulty"] == difficulty


def test_two_random_sudokus_differ(client):
    first, second = (client.get("/api/v1/examples/sudoku/", {"difficulty": "easy"}).json()["grid"] for _ in range(2))

    assert first != second


@pytest.mark.parametrize("query", [{"difficulty": "impossible"}, {"difficulty": ""}])
def test_an_unknown_difficulty_is_refused_with_the_choices(client, query):
    response = client.get("/api/v1/examples/sudoku/", query)

    assert response.status_code == 400
    assert "difficulty" in response.json()["detail"]


def test_making_a_puzzle_past_the_deadline_answers_503(client, monkeypatch):
    monkeypatch.setattr(examples, "GENERATION_SECONDS", -1.0)

    response = client.get("/api/v1/examples/sudoku/", {"difficulty": "extreme"})

    assert response.status_code == 503
    assert "try again" in response.json()["error"]


def test_random_puzzles_count_against_the_submit_rate(client, settings):
    settings.TRM_SUBMIT_RATE_ANON = "2/min"

    codes = [client.get("/api/v1/examples/maze/", {"size": 8}).status_code for _ in range(3)]
    check = client.post("/api/v1/sudoku/check/", {"grid": UNIQUE}, content_type="application/json")

    assert codes == [200, 200, 429]
    assert check.status_code == 429  # the check runs the solver too: one count for both


@pytest.mark.parametrize(
    ("grid", "solutions"),
    [(UNIQUE, 1), (AMBIGUOUS, 2), (CONFLICTING, 0), ("." * 81, 2),
     ([[int(ch) if ch != "." else 0 for ch in UNIQUE[r * 9:r * 9 + 9]] for r in range(9)], 1)],
    ids=["unique", "ambiguous", "conflicting", "blank", "unique-as-rows"],
)
def test_check_counts_solutions_up_to_two(client, grid, solutions):
    response = client.post("/api/v1/sudoku/check/", {"grid": grid}, content_type="application/json")

    assert response.status_code == 200
    assert response.json()["solutions"] == solutions
    if solutions == 1:
        assert response.json()["guesses"] == sudoku.rate(digits(UNIQUE))


def test_check_gives_up_on_a_sudoku_past_the_guess_limit_with_a_400(client):
    impossible = ".....5.8....6.1.43..........1.5........1.6...3.......553.....61........4........."  # 2.6 M guesses

    response = client.post("/api/v1/sudoku/check/", {"grid": impossible}, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["detail"] == {"grid": [TOO_HARD_TO_COUNT]}
    assert "over 20,000 guesses" in response.json()["error"] and "most likely it has no solution" in response.json()["error"]


@pytest.mark.parametrize(
    ("body", "words"),
    [({"grid": UNIQUE[:80]}, "81"), ({"grid": UNIQUE[:40] + "x" + UNIQUE[41:]}, "column 5"),
     ({"grid": [[0] * 9] * 8}, "9 rows"), ({}, "required"), ({"grid": 5}, "81-character")],
)
def test_check_refuses_what_is_not_a_sudoku(client, body, words):
    response = client.post("/api/v1/sudoku/check/", body, content_type="application/json")

    assert response.status_code == 400
    assert "grid" in response.json()["detail"]
    assert words in response.json()["error"]


@pytest.mark.parametrize("size", [30, 12, 5])
def test_a_random_maze_is_valid_and_its_path_is_long_for_its_size(client, size):
    response = client.get("/api/v1/examples/maze/", {"size": size})

    assert response.status_code == 200
    answer = response.json()
    rows = answer["grid"]
    assert len(rows) == size and all(len(row) == size for row in rows)
    assert "".join(rows).count("S") == 1 and "".join(rows).count("G") == 1
    assert set("".join(rows)) <= set("# SG")
    start = next((r, row.index("S")) for r, row in enumerate(rows) if "S" in row)
    goal = next((r, row.index("G")) for r, row in enumerate(rows) if "G" in row)
    length = maze.distances(rows, start)[goal]
    assert answer["shortest_path"] == length
    assert length > maze.default_min_path_length(size) == answer["min_path"]
    if size == 30:
        assert length > 110  # Maze-Hard's bar


@pytest.mark.parametrize("size", ["1", "31", "big"])
def test_a_maze_size_out_of_range_is_refused(client, size):
    response = client.get("/api/v1/examples/maze/", {"size": size})

    assert response.status_code == 400
    assert "size" in response.json()["detail"]
