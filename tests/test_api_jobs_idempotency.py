"""Idempotency-Key on POST /api/v1/jobs/: a key belongs to the client (user, else address) and to one body."""

import json

from django.test import Client

from puzzles.models import SolveJob

SUDOKU = "..3.2.6..9..3.5..1..18.64....81.29..7.......8..67.82....26.95..8..2.3..9..5.1.3.."
BODY = {"kind": "sudoku", "puzzle": {"grid": SUDOKU}, "steps": 2}


def submit(body, key: str, forwarded_for: str | None = None):
    """A submit from a script without cookies: a fresh client, so a new session each time."""
    headers = {"Idempotency-Key": key}
    if forwarded_for:
        headers["X-Forwarded-For"] = forwarded_for
    data = body if isinstance(body, str) else json.dumps(body)
    return Client().post("/api/v1/jobs/", data, content_type="application/json", headers=headers)


def test_the_same_key_and_body_without_cookies_return_the_same_job(active_checkpoints):
    first = submit(BODY, "script-1")
    again = submit(BODY, "script-1")

    assert first.status_code == 202
    assert again.status_code == 200 and again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert SolveJob.objects.count() == 1


def test_the_body_is_compared_as_read_not_byte_for_byte(active_checkpoints):
    first = submit('{"kind": "sudoku", "puzzle": {"grid": "%s"}, "steps": 2}' % SUDOKU, "script-2")
    reordered = submit('{"steps":2,"puzzle":{"grid":"%s"},"kind":"sudoku"}' % SUDOKU, "script-2")

    assert reordered.status_code == 200 and reordered.json()["id"] == first.json()["id"]


def test_the_same_key_with_another_body_is_refused_with_422(active_checkpoints):
    first = submit(BODY, "script-3")
    other = submit({**BODY, "steps": 1}, "script-3")

    assert first.status_code == 202
    assert other.status_code == 422
    answer = other.json()
    assert answer["error"].startswith("Idempotency-Key: Idempotency-Key 'script-3' was already used for a different request")
    assert list(answer["detail"]) == ["Idempotency-Key"]
    assert SolveJob.objects.count() == 1


def test_a_key_belongs_to_its_client_behind_the_trusted_proxy(active_checkpoints, settings):
    settings.TRM_TRUSTED_PROXIES = 1

    mine = submit(BODY, "shared-key", forwarded_for="203.0.113.1")
    theirs = submit({**BODY, "steps": 1}, "shared-key", forwarded_for="203.0.113.2")
    mine_again = submit(BODY, "shared-key", forwarded_for="203.0.113.1")

    assert (mine.status_code, theirs.status_code, mine_again.status_code) == (202, 202, 200)
    assert mine_again.json()["id"] == mine.json()["id"] != theirs.json()["id"]


def test_a_signed_in_users_key_follows_the_user_not_the_address(active_checkpoints, django_user_model):
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=django_user_model.objects.create_user("ada", password="x"))
    auth = {"Authorization": f"Token {token.key}", "Idempotency-Key": "user-key"}

    first = Client().post("/api/v1/jobs/", BODY, content_type="application/json", headers=auth)
    again = Client(REMOTE_ADDR="192.0.2.7").post("/api/v1/jobs/", BODY, content_type="application/json", headers=auth)

    assert first.status_code == 202 and again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
