"""`/healthz`: is the database reachable, does Redis answer, does any worker answer a ping?

Answers 200 when the database and Redis are up (the site can take jobs; a worker may still be starting)
and 503 otherwise, with each part's `ok` in the JSON body. Only staff (a staff session or a staff user's
API token) also get the detail: the database vendor or its error, the workers' count and names; errors go
to the log either way.

A Celery ping waits up to a second for replies and is broadcast to every worker, so its answer is kept in
the cache for TRM_HEALTH_PING_SECONDS: a load balancer (or anyone) polling often costs no more pings.
"""

import logging

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from trmweb.celery import app as celery_app
from trmweb.redis_server import redis_answers

logger = logging.getLogger(__name__)

PING_CACHE_KEY = "trm:healthz:workers"


def _database_ok() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True, connection.vendor
    except Exception as error:
        logger.warning("health check: the database is unreachable", exc_info=True)
        return False, str(error)


def _ping_workers() -> list[str]:
    try:
        replies = celery_app.control.ping(timeout=1.0) or []
    except Exception:
        logger.warning("health check: the worker ping failed", exc_info=True)
        return []
    return sorted(name for reply in replies for name in reply)


def _workers() -> list[str]:
    """The names of the workers that answered the last ping, pinging again once the cached answer is old."""
    try:
        cached = cache.get(PING_CACHE_KEY)
    except Exception:  # the cache is Redis, which just answered: a blip, ping without it
        cached = None
    if cached is not None:
        return cached
    workers = _ping_workers()
    try:
        cache.set(PING_CACHE_KEY, workers, settings.TRM_HEALTH_PING_SECONDS)
    except Exception:
        logger.warning("health check: could not cache the worker ping", exc_info=True)
    return workers


def _is_staff(request) -> bool:
    if request.user.is_authenticated:
        return request.user.is_staff
    try:
        authenticated = TokenAuthentication().authenticate(request)
    except AuthenticationFailed:
        return False
    return bool(authenticated and authenticated[0].is_staff)


def healthz(request):
    database_ok, database_detail = _database_ok()
    redis_ok = redis_answers(settings.REDIS_URL)
    workers = _workers() if redis_ok else []
    healthy = database_ok and redis_ok
    body = {
        "status": "ok" if healthy else "degraded",
        "database": {"ok": database_ok},
        "redis": {"ok": redis_ok},
        "workers": {"ok": bool(workers)},
    }
    if _is_staff(request):
        body["database"]["detail"] = database_detail
        body["workers"].update(count=len(workers), names=workers)
    return JsonResponse(body, status=200 if healthy else 503)
