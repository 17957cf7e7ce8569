"""`/healthz` reports whether the database, Redis and the workers are up; only staff see the detail, and the
worker ping is answered from the cache while it is fresh."""

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from rest_framework.authtoken.models import Token

from trmweb.health import PING_CACHE_KEY
from tests.stack import free_port


def test_health_with_the_stack_up_reports_every_part_and_no_detail(stack):
    status, health = stack.request("GET", "/healthz")

    assert status == 200
    assert health == {"status": "ok", "database": {"ok": True}, "redis": {"ok": True}, "workers": {"ok": True}}


def test_staff_see_the_detail(stack, transactional_db):
    staff = get_user_model().objects.create_user("operator", password="x", is_staff=True)
    plain = get_user_model().objects.create_user("visitor", password="x")

    status, health = stack.request("GET", "/healthz", headers={"Authorization": f"Token {Token.objects.create(user=staff).key}"})
    assert status == 200
    assert health["database"]["detail"] in ("sqlite", "postgresql")
    assert health["workers"]["count"] >= 1 and all("@" in name for name in health["workers"]["names"])

    status, health = stack.request("GET", "/healthz", headers={"Authorization": f"Token {Token.objects.create(user=plain).key}"})
    assert status == 200 and "names" not in health["workers"] and "detail" not in health["database"]


def test_the_worker_ping_is_answered_from_the_cache_while_fresh(client, db, settings):
    settings.TRM_HEALTH_PING_SECONDS = 60
    staff = get_user_model().objects.create_user("operator", password="x", is_staff=True)
    client.force_login(staff)

    cache.set(PING_CACHE_KEY, ["cached@worker"], 60)
    assert client.get("/healthz").json()["workers"]["names"] == ["cached@worker"]  # no new ping

    cache.delete(PING_CACHE_KEY)
    pinged = client.get("/healthz").json()["workers"]["names"]
    assert "cached@worker" not in pinged
    assert cache.get(PING_CACHE_KEY) == pinged  # kept for the next requests


@pytest.mark.timeout(30)  # a dead Redis must not make the health check hang
def test_health_answers_503_when_redis_is_unreachable(client, db, settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {"status": "degraded", "database": {"ok": True}, "redis": {"ok": False}, "workers": {"ok": False}}
