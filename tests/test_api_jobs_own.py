"""Listing, cancelling and re-submitting jobs: each client sees and controls only its own."""

import pytest
from django.test import Client

from puzzles.models import SolveJob

SUDOKU = "..3.2.6..9..3.5..1..18.64....81.29..7.......8..67.82....26.95..8..2.3..9..5.1.3.."
BODY = {"kind": "sudoku", "puzzle": {"grid": SUDOKU}, "steps": 2}


@pytest.fixture
def other_client(client):
    return Client()


def submit(client, body=BODY, **headers):
    return client.post("/api/v1/jobs/", body, content_type="application/json", headers=headers)


def test_a_client_lists_only_its_own_jobs(client, other_client, active_checkpoints):
    mine = submit(client).json()["id"]
    submit(other_client)

    listed = client.get("/api/v1/jobs/").json()

    assert [job["id"] for job in listed["results"]] == [mine]
    assert listed["count"] == 1


@pytest.mark.parametrize("page", ["/", "job"])
def test_a_page_gives_a_new_visitor_the_session_its_api_calls_share(client, active_checkpoints, jobs_stay_queued, page):
    # A page's scripts call the API several at once; were the session made by the first of those calls,
    # each would make its own and the jobs submitted under the losers would leave the history.
    if page == "job":
        page = f"/jobs/{submit(Client()).json()['id']}/"
    session_cookie = client.get(page).cookies.get("sessionid")

    assert session_cookie and session_cookie.value
    fresh = Client()
    fresh.cookies["sessionid"] = session_cookie.value
    fresh.cookies["csrftoken"] = client.cookies["csrftoken"].value
    submit(fresh)
    assert SolveJob.objects.filter(owner_key=f"session:{session_cookie.value}").count() == 1


def test_the_same_idempotency_key_returns_the_same_job(client, active_checkpoints):
    first = submit(client, **{"Idempotency-Key": "retry-1"})
    again = submit(client, **{"Idempotency-Key": "retry-1"})
    other = submit(client, **{"Idempotency-Key": "retry-2"})

    assert first.status_code == 202
    assert again.status_code == 200 and again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert other.json()["id"] != first.json()["id"]
    assert SolveJob.objects.count() == 2


def test_cancel_own_queued_job_then_again_is_a_conflict(client, active_checkpoints, jobs_stay_queued):
    job = submit(client).json()

    cancelled = client.post(f"/api/v1/jobs/{job['id']}/cancel/")
    again = client.post(f"/api/v1/jobs/{job['id']}/cancel/")

    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert again.status_code == 409 and "already ended (cancelled)" in again.json()["error"]


def test_nobody_else_can_cancel_a_job(client, other_client, active_checkpoints, jobs_stay_queued):
    job = submit(client).json()

    refused = other_client.post(f"/api/v1/jobs/{job['id']}/cancel/")

    assert refused.status_code == 403
    assert "only the client that submitted" in refused.json()["error"]
    assert SolveJob.objects.get(id=job["id"]).status == "queued"


def test_anonymous_submits_are_rate_limited(client, active_checkpoints, settings):
    settings.TRM_SUBMIT_RATE_ANON = "2/min"
    settings.TRM_MAX_ACTIVE_JOBS = 100

    codes = [submit(client).status_code for _ in range(3)]

    assert codes == [202, 202, 429]
    assert SolveJob.objects.count() == 2


def test_active_jobs_per_client_are_limited(client, active_checkpoints, jobs_stay_queued, settings):
    settings.TRM_MAX_ACTIVE_JOBS = 1

    first, second = submit(client), submit(client)

    assert first.status_code == 202
    assert second.status_code == 429 and "1 unfinished jobs" in second.json()["error"]


def test_checkpoints_are_listed_with_the_active_one_marked(client, active_checkpoints):
    listed = client.get("/api/v1/checkpoints/").json()

    by_name = {item["name"]: item for item in listed}
    assert by_name["tiny-sudoku"]["active"] is True
    assert by_name["tiny-sudoku"]["kind"] == "sudoku"
    assert by_name["tiny-sudoku"]["trained"] is False


def test_a_malformed_page_request_is_refused(client, db):
    response = client.get("/api/v1/jobs/?offset=soon")

    assert response.status_code == 400
    assert response.json()["error"].startswith("offset: must be one whole number")


def test_a_signed_in_browser_session_must_send_its_csrf_token(active_checkpoints, django_user_model):
    from django.test import Client

    django_user_model.objects.create_user("ada", password="pw-for-tests-only")
    browser = Client(enforce_csrf_checks=True)
    browser.login(username="ada", password="pw-for-tests-only")

    refused = submit(browser)
    browser.get("/")  # the playground page sets the CSRF cookie
    accepted = submit(browser, **{"X-CSRFToken": browser.cookies["csrftoken"].value})

    assert refused.status_code == 403 and "CSRF" in refused.json()["error"]
    assert accepted.status_code == 202
    assert SolveJob.objects.get().owner.username == "ada"


def test_a_script_with_a_token_lists_its_own_jobs(client, active_checkpoints, django_user_model):
    from django.test import Client
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=django_user_model.objects.create_user("script"))
    script = Client(headers={"Authorization": f"Token {token.key}"})
    mine = submit(script).json()["id"]
    submit(client)

    assert [job["id"] for job in script.get("/api/v1/jobs/").json()["results"]] == [mine]
