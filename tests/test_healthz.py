"""`/healthz` reports the database, Redis and the workers that answer."""

import pytest

from tests.stack import free_port


def test_health_with_the_stack_up_reports_every_part(stack):
    status, health = stack.request("GET", "/healthz")

    assert status == 200
    assert health["status"] == "ok"
    assert health["database"]["ok"] is True
    assert health["redis"]["ok"] is True
    assert health["workers"]["count"] >= 1


@pytest.mark.timeout(30)  # a dead Redis must not make the health check hang
def test_health_answers_503_when_redis_is_unreachable(client, db, settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"

    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["redis"]["ok"] is False and body["database"]["ok"] is True
    assert body["workers"]["count"] == 0
