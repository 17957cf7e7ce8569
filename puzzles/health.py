"""`/healthz`: is the database reachable, does Redis answer, does any worker answer a ping?

Answers 200 when the database and Redis are up (the site can take jobs; a worker may still be starting)
and 503 otherwise, with each part's state in the JSON body.
"""

from django.conf import settings
from django.db import connection
from django.http import JsonResponse

from trmweb.celery import app as celery_app
from trmweb.redis_server import redis_answers


def _database_ok() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True, connection.vendor
    except Exception as error:
        return False, str(error)


def _workers() -> list[str]:
    try:
        replies = celery_app.control.ping(timeout=1.0) or []
    except Exception:
        return []
    return sorted(name for reply in replies for name in reply)


def healthz(request):
    database_ok, database_detail = _database_ok()
    redis_ok = redis_answers(settings.REDIS_URL)
    workers = _workers() if redis_ok else []
    body = {
        "status": "ok" if database_ok and redis_ok else "degraded",
        "database": {"ok": database_ok, "detail": database_detail},
        "redis": {"ok": redis_ok},
        "workers": {"ok": bool(workers), "count": len(workers), "names": workers},
    }
    return JsonResponse(body, status=200 if database_ok and redis_ok else 503)
