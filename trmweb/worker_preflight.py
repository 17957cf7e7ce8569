"""What a worker role (`TRM_ROLE=worker make run`) checks before its Celery worker starts.

A worker on another machine shares nothing with the web host but the database, Redis and the web's URL.
Started without one of them, Celery would retry its broker for ever or fail every job later; so the
launcher runs `python -m trmweb.worker_preflight` in the worker's environment first, which prints the first
problem on one line (what is missing or unreachable, and what to do) and exits 2, or exits 0.
"""

import os
import sys
import urllib.error
import urllib.parse
import urllib.request

from trmweb.redis_server import redis_answers

REQUIRED = ("DATABASE_URL", "REDIS_URL", "DJANGO_SECRET_KEY", "TRM_WEB_URL")
TIMEOUT_SECONDS = 5.0


def shown(url: str) -> str:
    """`url` without its password, fit for a log line."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def _database_problem() -> str | None:
    """Whether the database at DATABASE_URL answers and holds the playground's tables."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trmweb.settings")
    try:
        import django
        from django.db import connection

        django.setup()
        connection.ensure_connection()
        tables = connection.introspection.table_names()
    except Exception as error:  # ImproperlyConfigured, OperationalError, a driver's own: all mean "cannot use it"
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
        return f"DATABASE_URL={shown(os.environ['DATABASE_URL'])} cannot be used: {first_line}"
    if "puzzles_solvejob" not in tables:
        return (f"DATABASE_URL={shown(os.environ['DATABASE_URL'])} holds no playground tables; start the web role "
                "first (it migrates), and give the worker the web's DATABASE_URL")
    return None


def _web_problem(url: str) -> str | None:
    """Whether anything answers HTTP at the web's base URL (any status: the server is there)."""
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        return f"TRM_WEB_URL={url!r} is not an http:// or https:// URL (the web's base URL, e.g. http://web:8000)"
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/healthz", timeout=TIMEOUT_SECONDS):
            return None
    except urllib.error.HTTPError:
        return None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        return f"TRM_WEB_URL={url} does not answer ({reason}); start the web role first, or fix the URL"


def worker_problem() -> str | None:
    """The first reason a worker cannot start in this process's environment, or None."""
    env = os.environ
    missing = [name for name in REQUIRED if not env.get(name, "").strip()]
    if missing:
        return (f"the worker role needs {', '.join(missing)}: the web role's DATABASE_URL, REDIS_URL and "
                "DJANGO_SECRET_KEY, and TRM_WEB_URL, the web's base URL")
    if not redis_answers(env["REDIS_URL"], timeout=TIMEOUT_SECONDS):
        return f"REDIS_URL={shown(env['REDIS_URL'])} does not answer; the worker takes its jobs from the web's Redis"
    return _database_problem() or _web_problem(env["TRM_WEB_URL"])


if __name__ == "__main__":
    problem = worker_problem()
    if problem:
        print(problem, flush=True)
        sys.exit(2)
