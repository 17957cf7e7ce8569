"""`POST /api/v1/jobs/`: bad input answers 400 saying what and where, and nothing is saved or queued."""


import pytest

from puzzles.models import Puzzle, SolveJob

SUDOKU = "..3.2.6..9..3.5..1..18.64....81.29..7.......8..67.82....26.95..8..2.3..9..5.1.3.."


@pytest.fixture
def api(client):
    def post(body):
        return client.post("/api/v1/jobs/", body, content_type="application/json")

    return post


@pytest.mark.parametrize(
    ("body", "where", "words"),
    [
        ({"kind": "chess", "puzzle": {}}, "kind", "not a valid choice"),
        ({"kind": "sudoku"}, "puzzle", "required"),
        ({"kind": "sudoku", "puzzle": {"grid": SUDOKU[:80]}}, "puzzle.grid", "81"),
        ({"kind": "sudoku", "puzzle": {"grid": SUDOKU[:40] + "x" + SUDOKU[41:]}}, "puzzle.grid", "column 5"),
        ({"kind": "maze", "puzzle": {"grid": ["#S#", "# #"]}}, "puzzle.grid", "'G'"),
        ({"kind": "maze", "puzzle": {"grid": ["#SG#", "#"]}}, "puzzle.grid", "row 2"),
        ({"kind": "arc", "puzzle": {"train": [], "test": [{"input": [[1]]}]}}, "puzzle.train", "1 to"),
        ({"kind": "arc", "puzzle": {"train": [{"input": [[1]], "output": [[10]]}], "test": [{"input": [[1]]}]}},
         "puzzle.train[0].output", "row 1, column 1"),
        ({"kind": "arc", "puzzle": {"train": [{"input": [[1]], "output": [[1]]}], "test": [{"input": [[1] * 31]}]}},
         "puzzle.test[0].input", "30"),
        ({"kind": "sudoku", "puzzle": {"grid": SUDOKU}, "steps": 99}, "steps", "between 1 and"),
        ({"kind": "sudoku", "puzzle": {"grid": SUDOKU}, "steps": 65}, "steps", "between 1 and 64"),
        ({"kind": "sudoku", "puzzle": {"grid": SUDOKU}, "samples": 0}, "samples", "greater than or equal to 1"),
        ({"kind": "sudoku", "puzzle": {"grid": SUDOKU}, "samples": 17}, "samples", "less than or equal to 16"),
        ({"kind": "sudoku", "puzzle": {"grid": SUDOKU}, "views": 17}, "views", "less than or equal to 16"),
        ({"kind": "maze", "puzzle": {"grid": ["#S G#"]}, "views": 9}, "views", "views 1 to 8"),
        ({"kind": "arc", "puzzle": {"train": [{"input": [[1]], "output": [[1]]}], "test": [{"input": [[1]]}]},
          "views": 2}, "views", "no views"),
        ({"kind": "arc", "puzzle": {"train": [{"input": [[1]], "output": [[1]]}], "test": [{"input": [[1]]}]},
          "samples": 2}, "samples", "ARC jobs vote"),
        ({"kind": "sudoku", "puzzle": {"grid": SUDOKU}, "halt": 1.5}, "halt", "strictly between 0 and 1"),
        ({"kind": "sudoku", "puzzle": {"grid": SUDOKU}, "halt": "yes"}, "halt", "strictly between 0 and 1"),
        ({"kind": "sudoku", "puzzle": {"grid": SUDOKU}, "seed": -1}, "seed", "greater than or equal to 0"),
        ({"kind": "sudoku", "puzzle": {"grid": SUDOKU}, "checkpoint": "nope"}, "checkpoint", "no checkpoint named"),
    ],
)
def test_bad_input_is_refused_with_where_and_what(api, active_checkpoints, body, where, words):
    response = api(body)

    assert response.status_code == 400
    answer = response.json()
    assert where in answer["detail"], answer
    assert words in " ".join(answer["detail"][where]), answer
    assert answer["error"].startswith(where)
    assert Puzzle.objects.count() == 0 and SolveJob.objects.count() == 0


def test_a_kind_without_an_active_checkpoint_is_refused(api, db):
    response = api({"kind": "sudoku", "puzzle": {"grid": SUDOKU}})

    assert response.status_code == 400
    assert "no checkpoint is active for sudoku" in response.json()["error"]
    assert SolveJob.objects.count() == 0


def test_a_body_that_is_not_json_is_refused(client, db):
    response = client.post("/api/v1/jobs/", "{not json", content_type="application/json")

    assert response.status_code == 400
    assert "JSON" in response.json()["error"]


def test_unknown_job_is_404_as_json(client, db):
    response = client.get("/api/v1/jobs/00000000-0000-4000-8000-000000000000/")

    assert response.status_code == 404
    assert "no job" in response.json()["error"]


def test_the_openapi_schema_builds(client, db):
    response = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json")

    assert response.status_code == 200
    assert "/api/v1/jobs/" in response.content.decode()


def test_the_interactive_api_docs_are_served_without_a_cdn(client, db):
    response = client.get("/api/v1/docs/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "swagger-ui" in page
    assert "cdn." not in page and "unpkg" not in page


def test_an_oversized_body_is_refused_before_parsing(client, db):
    body = '{"kind": "arc", "puzzle": {"pad": "' + "x" * 1_200_000 + '"}}'

    response = client.post("/api/v1/jobs/", body, content_type="application/json")

    assert response.status_code == 413
    assert "larger than 1,000,000 bytes" in response.json()["error"]
    assert SolveJob.objects.count() == 0


def test_an_api_url_that_matches_nothing_answers_json_404(client, db):
    response = client.get("/api/v1/jobs/not-a-uuid/")

    assert response.status_code == 404
    assert response.json() == {"error": "no API resource at /api/v1/jobs/not-a-uuid/"}


def small_field_checkpoint(tmp_path, kind: str, side: int, name: str):
    """A checkpoint of `kind` made (here: initialised) on a side x side field or canvas, registered as `name`."""
    import subprocess
    import sys

    from puzzles.services.checkpoints import checkpoint_register

    path = tmp_path / f"{name}.safetensors"
    subprocess.run([sys.executable, "-m", "solver", "init", "--kind", kind, "--field", str(side), "--output", str(path),
                    "--hidden-size", "16", "--num-heads", "2"], check=True, capture_output=True)
    return checkpoint_register(path=path, name=name)


@pytest.fixture
def maze_field_10(db, tmp_path):
    """A maze checkpoint on a 10x10 field, beside the 30x30 one."""
    return small_field_checkpoint(tmp_path, "maze", 10, "maze-10")


def test_a_maze_larger_than_the_checkpoints_field_is_refused_and_the_field_is_listed(api, client, active_checkpoints,
                                                                                  maze_field_10):
    wide = ["S" + " " * 10, " " * 10 + "G"]
    assert api({"kind": "maze", "puzzle": {"grid": wide}}).status_code == 202  # the active one has 30x30

    response = api({"kind": "maze", "puzzle": {"grid": wide}, "checkpoint": "maze-10"})

    assert response.status_code == 400
    assert response.json()["detail"]["puzzle.grid"] == [
        "row 1 has 11 cells; at most 10 are allowed by this model, whose field is 10x10"]
    assert SolveJob.objects.count() == 1 and Puzzle.objects.count() == 1  # only the first job
    assert api({"kind": "maze", "puzzle": {"grid": ["S" + " " * 9, " " * 9 + "G"]},
                "checkpoint": "maze-10"}).status_code == 202
    fields = {c["name"]: c["maze_field"] for c in client.get("/api/v1/checkpoints/").json()}
    assert fields == {"maze-10": 10, "tiny-maze": 30, "tiny-sudoku": None, "tiny-arc": None}


@pytest.fixture
def arc_canvas_13(db, tmp_path):
    """An ARC checkpoint on a 13x13 canvas (a CPU-sized model), beside the 30x30 one."""
    return small_field_checkpoint(tmp_path, "arc", 13, "arc-13")


def test_an_arc_grid_larger_than_the_checkpoints_canvas_is_refused_naming_the_grid(api, client, active_checkpoints,
                                                                                  arc_canvas_13):
    small = [[1, 0], [0, 2]]
    wide = [[3] * 14]
    task = {"train": [{"input": small, "output": small}, {"input": small, "output": wide}], "test": [{"input": small}]}
    assert api({"kind": "arc", "puzzle": task}).status_code == 202  # the active one has 30x30

    response = api({"kind": "arc", "puzzle": task, "checkpoint": "arc-13"})

    assert response.status_code == 400
    assert response.json()["detail"]["puzzle.train[1].output"] == [
        "row 1 has 14 cells; rows need 1 to 13 cells by this model, whose canvas is 13x13"]
    task["train"][1]["output"] = [[3] * 13]
    assert api({"kind": "arc", "puzzle": task, "checkpoint": "arc-13"}).status_code == 202
    canvases = {c["name"]: c["arc_canvas"] for c in client.get("/api/v1/checkpoints/").json()}
    assert canvases == {"arc-13": 13, "tiny-arc": 30, "tiny-sudoku": None, "tiny-maze": None}


@pytest.mark.parametrize(
    ("grid", "message"),
    [
        ("..3.2.63." + SUDOKU[9:], "r1c3 and r1c8 both hold 3 (row 1)"),
        (SUDOKU[:72] + "9.5.1.3..", "r2c1 and r9c1 both hold 9 (column 1)"),
        (".93.2.6.." + SUDOKU[9:], "r1c2 and r2c1 both hold 9 (the box of rows 1-3, columns 1-3)"),
        ("3.3.2.63." + SUDOKU[9:], "r1c1, r1c3 and r1c8 all hold 3 (row 1); "
                                   "r1c1 and r1c3 both hold 3 (the box of rows 1-3, columns 1-3)"),
        ("1" * 81, "r1c1, r1c2, r1c3, r1c4, r1c5, r1c6, r1c7, r1c8 and r1c9 all hold 1 (row 1); "
                   "r2c1, r2c2, r2c3, r2c4, r2c5, r2c6, r2c7, r2c8 and r2c9 all hold 1 (row 2); "
                   "r3c1, r3c2, r3c3, r3c4, r3c5, r3c6, r3c7, r3c8 and r3c9 all hold 1 (row 3); and 24 more rule breaks"),
    ],
    ids=["row", "column", "box", "three-in-a-row", "all-ones"],
)
def test_a_sudoku_that_breaks_a_rule_is_refused_naming_the_cells(api, active_checkpoints, grid, message):
    response = api({"kind": "sudoku", "puzzle": {"grid": grid}})

    assert response.status_code == 400
    assert response.json() == {"error": f"puzzle.grid: {message}", "detail": {"puzzle.grid": [message]}}
    assert Puzzle.objects.count() == 0 and SolveJob.objects.count() == 0


NO_SOLUTION = "5" + SUDOKU[1:]  # breaks no rule, but the one solution of SUDOKU has 4 at r1c1
AMBIGUOUS = "." * 9 + SUDOKU[9:]  # the first row's clues gone
# Norvig's "impossible" puzzle: no rule broken, no solution, and 2.6 million guesses to prove it.
IMPOSSIBLE = ".....5.8....6.1.43..........1.5........1.6...3.......553.....61........4........."


@pytest.mark.parametrize(
    ("grid", "words"),
    [(NO_SOLUTION, "this Sudoku has no solution: some clue contradicts the others"),
     (AMBIGUOUS, "this Sudoku has more than one solution: add clues until only one is left"),
     ("." * 81, "more than one solution"),
     (IMPOSSIBLE, "took over 20,000 guesses")],
    ids=["no-solution", "ambiguous", "blank", "too-long-to-count"],
)
def test_a_sudoku_without_exactly_one_solution_is_refused_as_the_page_refuses_it(api, active_checkpoints, grid, words):
    response = api({"kind": "sudoku", "puzzle": {"grid": grid}})

    assert response.status_code == 400
    assert words in response.json()["detail"]["puzzle.grid"][0]
    assert Puzzle.objects.count() == 0 and SolveJob.objects.count() == 0


def test_a_sudoku_with_one_solution_is_accepted_as_a_string_or_as_rows(api, active_checkpoints):
    rows = [[int(ch) if ch.isdigit() else 0 for ch in SUDOKU[r * 9:r * 9 + 9]] for r in range(9)]

    assert api({"kind": "sudoku", "puzzle": {"grid": SUDOKU}}).status_code == 202
    assert api({"kind": "sudoku", "puzzle": {"grid": rows}}).status_code == 202
    assert SolveJob.objects.count() == 2
