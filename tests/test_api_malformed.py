"""Whatever arrives under /api/, the answer is JSON: a malformed body is a 400 saying what is wrong with it,
a URL with no route a 404, and a crash a 500 that shows nothing of the server."""

import pytest
from django.test import Client
from django.urls import path

import trmweb.urls
from puzzles.api.parsers import MAX_DEPTH
from trmweb.errors import SERVER_ERROR

SUDOKU = "..3.2.6..9..3.5..1..18.64....81.29..7.......8..67.82....26.95..8..2.3..9..5.1.3.."
BODY_URLS = ["/api/v1/jobs/", "/api/v1/sudoku/check/"]  # every API view that reads a body


def nested(depth: int) -> bytes:
    """An object holding `depth - 1` lists inside one another: `depth` levels in all."""
    return b'{"grid": ' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}"


@pytest.fixture
def api_client(settings, db):
    settings.DEBUG = False
    return Client(raise_request_exception=False)


def assert_json(response, status: int) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/json", response.content[:300]
    return response.json()


@pytest.mark.parametrize("url", BODY_URLS)
@pytest.mark.parametrize(
    ("body", "words"),
    [
        (nested(100_000), f"nests lists and objects deeper than {MAX_DEPTH} levels"),
        (b'{"a": ' * 100_000 + b"1" + b"}" * 100_000, f"deeper than {MAX_DEPTH} levels"),
        (nested(MAX_DEPTH + 1), f"deeper than {MAX_DEPTH} levels"),  # well within the decoder's own limit
        (b'{"grid": 1e999999}', "the number 1e999999, which is too large"),
        (b'{"grid": -1e400}', "too large"),
        (b'{"grid": ' + b"9" * 10_000 + b"}", "an integer of 10,000 digits; at most 20 are allowed"),
        (b'{"grid": "\xff\xfe"}', "is not valid utf-8: byte 11 is 0xff"),
        (b'{"grid": NaN}', "holds NaN, which is not JSON"),
        (b'{"grid": Infinity}', "holds Infinity"),
        (b'{"grid": -Infinity}', "holds -Infinity"),
        (b'{"grid": "\\ud800"}', "unpaired surrogate"),
        (b'{"\\udfff": 1}', "unpaired surrogate"),
        (b"[1, 2]", "must be a JSON object, not list"),
        (b'"a string"', "must be a JSON object, not str"),
        (b"5", "must be a JSON object, not int"),
        (b"null", "must be a JSON object, not null"),
        (b"{not json", "is not valid JSON: Expecting property name enclosed in double quotes (line 1, column 2)"),
        (b"\xef\xbb\xbf{}", "is not valid JSON"),
    ],
    ids=["deep-lists", "deep-objects", "one-level-too-deep", "huge-exponent", "huge-negative", "10000-digits",
         "invalid-utf8", "nan", "infinity", "minus-infinity", "lone-surrogate", "lone-surrogate-key", "list",
         "string", "number", "null", "syntax", "byte-order-mark"],
)
def test_a_malformed_body_is_refused_with_a_json_400_saying_why(api_client, url, body, words):
    answer = assert_json(api_client.post(url, body, content_type="application/json"), 400)

    assert set(answer) == {"error", "detail"}
    assert answer["detail"] == {"body": [answer["error"].removeprefix("body: ")]}
    assert answer["error"].startswith("body: ") and words in answer["error"]


def test_nesting_up_to_the_limit_reaches_the_puzzle_check(api_client):
    answer = assert_json(api_client.post("/api/v1/sudoku/check/", nested(MAX_DEPTH), content_type="application/json"), 400)

    assert list(answer["detail"]) == ["grid"]  # refused as a grid, not as a body


def test_a_charset_that_decompresses_is_refused(api_client):
    response = api_client.generic("POST", "/api/v1/jobs/", b"{}", content_type="application/json; charset=bz2_codec")

    assert "Unsupported charset" in assert_json(response, 400)["error"]


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"kind": "sudoku", "puzzle": {"grid": {}}}, "puzzle.grid"),
        ({"kind": "sudoku", "puzzle": {"grid": [[{}]]}}, "puzzle.grid"),
        ({"kind": "sudoku", "puzzle": {"grid": [[{}] * 9] * 9}}, "puzzle.grid"),
        ({"kind": "sudoku", "puzzle": {"grid": [[[1]] * 9] * 9}}, "puzzle.grid"),
        ({"kind": "sudoku", "puzzle": []}, "puzzle"),
        ({"kind": [], "puzzle": {}}, "kind"),
        ({"kind": {"sudoku": 1}, "puzzle": {}}, "kind"),
        ({"kind": "sudoku", "puzzle": {"grid": SUDOKU}, "steps": {}}, "steps"),
        ({"kind": "sudoku", "puzzle": {"grid": SUDOKU}, "steps": 1.5}, "steps"),
        ({"kind": "sudoku", "puzzle": {"grid": SUDOKU}, "frames": []}, "frames"),
        ({"kind": "sudoku", "puzzle": {"grid": SUDOKU}, "checkpoint": {}}, "checkpoint"),
        ({"kind": "maze", "puzzle": {"grid": [["S", "G"]]}}, "puzzle.grid"),
        ({"kind": "arc", "puzzle": {"train": [[]], "test": [{"input": [[1]]}]}}, "puzzle.train[0]"),
        ({"kind": "arc", "puzzle": {"train": {}, "test": []}}, "puzzle.train"),
        ({"kind": "arc", "puzzle": {"train": [{"input": [[1]], "output": {}}], "test": [{"input": [[1]]}]}},
         "puzzle.train[0].output"),
        ({"kind": "arc", "puzzle": {"train": [{"input": [[1]], "output": [[1]]}], "test": [{"input": [[1]]}],
                                    "task": ["x"]}}, "puzzle.task"),
        ({"kind": "arc", "puzzle": {}, "fit_steps": 1e308}, "fit_steps"),
    ],
)
def test_a_wrong_type_at_any_depth_of_a_submit_is_refused_naming_its_place(api_client, body, where):
    answer = assert_json(api_client.post("/api/v1/jobs/", body, content_type="application/json"), 400)

    assert where in answer["detail"] and answer["error"].startswith(where), answer


@pytest.mark.parametrize("grid", [{}, [[{}]], [[{}] * 9] * 9, [["1"] * 9] * 9, True, None])
def test_a_wrong_type_of_grid_to_check_is_refused_naming_the_grid(api_client, grid):
    answer = assert_json(api_client.post("/api/v1/sudoku/check/", {"grid": grid}, content_type="application/json"), 400)

    assert list(answer["detail"]) == ["grid"], answer


def test_cancel_reads_no_body_so_a_malformed_one_changes_nothing(api_client, active_checkpoints):
    job = assert_json(api_client.post("/api/v1/jobs/", {"kind": "sudoku", "puzzle": {"grid": SUDOKU}},
                                      content_type="application/json"), 202)

    response = api_client.post(f"/api/v1/jobs/{job['id']}/cancel/", nested(100_000), content_type="application/json")

    assert assert_json(response, 200)["status"] == "cancelled"


@pytest.mark.parametrize(("method", "url"), [("get", "/api/v2/jobs/"), ("post", "/api/v1/nothing/"), ("get", "/api/")])
def test_a_url_under_api_that_matches_nothing_is_a_json_404(api_client, method, url):
    assert assert_json(getattr(api_client, method)(url), 404) == {"error": f"no API resource at {url}"}


def test_a_method_a_view_does_not_take_is_a_json_405(api_client):
    assert "not allowed" in assert_json(api_client.delete("/api/v1/jobs/"), 405)["error"]


def test_a_crash_in_an_api_view_is_a_json_500_that_shows_nothing_of_the_server(api_client, monkeypatch, caplog):
    def crash(*args, **kwargs):
        raise RuntimeError("/srv/trm/secret.py line 7: boom")

    monkeypatch.setattr("puzzles.api.views.CheckpointOutputSerializer", crash)

    response = api_client.get("/api/v1/checkpoints/")

    assert assert_json(response, 500) == {"error": SERVER_ERROR}
    assert b"secret" not in response.content and b"Traceback" not in response.content
    logged = [record for record in caplog.records if record.exc_info]
    assert "boom" in str(logged[0].exc_info[1])  # the operators still get the traceback


def _crash(request):
    raise RuntimeError("/srv/trm/secret.py line 7: boom")


# A URL configuration with plain Django views (not DRF's) that crash, under /api/ and on the site.
urlpatterns = [path("api/v1/crash/", _crash), path("crash/", _crash), *trmweb.urls.urlpatterns]
handler400, handler404, handler500 = trmweb.urls.handler400, trmweb.urls.handler404, trmweb.urls.handler500


def test_a_crash_outside_drf_is_a_json_500_under_api_and_the_html_page_elsewhere(api_client, settings):
    settings.ROOT_URLCONF = __name__

    api = api_client.get("/api/v1/crash/")
    site = api_client.get("/crash/")

    assert assert_json(api, 500) == {"error": SERVER_ERROR}
    assert b"secret" not in api.content
    assert site.status_code == 500 and site["Content-Type"].startswith("text/html")


def test_a_request_django_refuses_before_the_api_is_a_json_400(api_client):
    response = api_client.get("/api/v1/checkpoints/", HTTP_HOST="not-served.example")

    assert "Host header" in assert_json(response, 400)["error"]
