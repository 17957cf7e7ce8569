"""What a burst of clients arriving at once runs into, each found by `bench/load.py` and fixed: database
connections (bounded by a pool per process), Redis connections (pools that wait instead of failing), a
busy or unreachable database (503 with Retry-After, not 500), and daphne's listen backlog."""

import asyncio
import json
import os
import socket
import subprocess
import sys

import pytest
import redis.exceptions
from channels_redis.core import RedisChannelLayer

from tests.conftest import PROJECT_DIR
from tests.test_end_to_end import SUDOKU
from trmweb.channel_layer import WaitingRedisChannelLayer
from trmweb.launcher import daphne_endpoint

POSTGRES_URL = os.environ.get("CI_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")


def postgres_answers() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=2).close()
        return True
    except OSError:
        return False


def run_django(code: str, **env) -> subprocess.CompletedProcess:
    """`code` in a fresh process whose settings come from `env` (as a deployment's would)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL"))}
    full_env = {**clean, "DJANGO_SETTINGS_MODULE": "trmweb.settings", "DJANGO_SECRET_KEY": "k", **env}
    return subprocess.run([sys.executable, "-c", "import django; django.setup()\n" + code], env=full_env,
                          cwd=PROJECT_DIR, capture_output=True, text=True, timeout=120)


# 12 threads each hold a connection for 0.3 s; the backend process ids tell how many connections there were.
CONCURRENT_QUERIES = """
import json, threading
from django.db import connection, close_old_connections
pids, errors = set(), []
def query():
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid(), pg_sleep(0.3)")
            pids.add(cursor.fetchone()[0])
    except Exception as error:
        errors.append(repr(error))
    finally:
        close_old_connections()
threads = [threading.Thread(target=query) for _ in range(12)]
[t.start() for t in threads]; [t.join() for t in threads]
print(json.dumps({"connections": len(pids), "errors": errors}))
"""


@pytest.mark.skipif(not postgres_answers(), reason="needs a PostgreSQL server on 127.0.0.1:5432")
def test_postgres_connections_are_bounded_by_the_pool():
    pooled = run_django(CONCURRENT_QUERIES, DATABASE_URL=POSTGRES_URL, DJANGO_DB_POOL_MAX_SIZE="3")
    assert pooled.returncode == 0, pooled.stderr
    assert json.loads(pooled.stdout) == {"connections": 3, "errors": []}  # 12 queries, 3 connections, all served

    unpooled = run_django(CONCURRENT_QUERIES, DATABASE_URL=POSTGRES_URL, DJANGO_DB_POOL_MAX_SIZE="0")
    assert json.loads(unpooled.stdout) == {"connections": 12, "errors": []}  # one connection per thread


def test_pool_settings_and_persistent_connections_exclude_each_other():
    shown = run_django("from django.conf import settings; print(settings.DATABASES['default']['OPTIONS']['pool'])",
                       DATABASE_URL="postgres://u@localhost/db", DJANGO_DB_POOL_TIMEOUT="7")
    assert shown.stdout.strip() == "{'min_size': 0, 'max_size': 16, 'timeout': 7}", shown.stderr
    both = run_django("", DATABASE_URL="postgres://u@localhost/db", DJANGO_DB_CONN_MAX_AGE="60")
    assert both.returncode != 0 and "DJANGO_DB_CONN_MAX_AGE needs DJANGO_DB_POOL_MAX_SIZE=0" in both.stderr


SUBMIT_WITHOUT_DATABASE = """
import json
from django.test import Client
response = Client().post("/api/v1/jobs/", {"kind": "sudoku", "puzzle": {"grid": "%s"}},
                         content_type="application/json")
print(json.dumps({"status": response.status_code, "retry": response.get("Retry-After"), "body": response.json()}))
""" % SUDOKU  # one solution: the API refuses any other Sudoku before it reaches the database


def test_a_submit_while_the_database_is_unreachable_is_answered_503_with_a_reason(redis_url):
    closed_port = socket.socket()
    closed_port.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused at once
    try:
        answer = run_django(SUBMIT_WITHOUT_DATABASE, REDIS_URL=redis_url, DJANGO_ALLOWED_HOSTS="testserver",
                            DATABASE_URL=f"postgres://u@127.0.0.1:{closed_port.getsockname()[1]}/db",
                            DJANGO_DB_POOL_TIMEOUT="2")
    finally:
        closed_port.close()
    assert answer.returncode == 0, answer.stderr
    reply = json.loads(answer.stdout)
    assert reply["status"] == 503 and reply["retry"] == "5"
    assert "database is busy or unreachable" in reply["body"]["error"] and "nothing was saved" in reply["body"]["error"]


def burst(layer, count: int) -> list:
    """`count` viewers joining a group and one message to it, all at once, on a fresh event loop."""
    async def main():
        names = [f"specific.burst!{i}" for i in range(count)]
        joined = await asyncio.gather(*(layer.group_add("burst", name) for name in names), return_exceptions=True)
        await layer.flush()
        return joined

    return asyncio.run(main())


def test_the_channel_layer_waits_for_a_free_redis_connection_instead_of_failing(redis_url):
    host = {"address": redis_url, "max_connections": 2}
    waiting = WaitingRedisChannelLayer(hosts=[{**host, "timeout": 10}])
    assert not [r for r in burst(waiting, 40) if isinstance(r, Exception)]
    # channels_redis's own pool of the same size refuses most of the burst: what 200 viewers met.
    refused = [r for r in burst(RedisChannelLayer(hosts=[host]), 40) if isinstance(r, Exception)]
    assert refused and all(isinstance(r, redis.exceptions.MaxConnectionsError) for r in refused)


def test_socket_slots_wait_for_a_free_redis_connection(redis_url, settings):
    from puzzles.services import socket_slots

    settings.REDIS_URL, settings.REDIS_POOL_SIZE = redis_url, 2

    async def main():
        taken = await asyncio.gather(*(socket_slots.socket_slot_take(address=f"burst-{i}", socket_id="s")
                                       for i in range(40)), return_exceptions=True)
        await asyncio.gather(*(socket_slots.socket_slot_release(address=f"burst-{i}", socket_id="s") for i in range(40)))
        pool = socket_slots._redis().connection_pool
        return taken, len(pool._available_connections) + len(pool._in_use_connections)

    taken, connections = asyncio.run(main())
    assert taken == [True] * 40 and connections <= 2


def test_daphne_listens_with_a_deep_backlog_and_escapes_ipv6_hosts():
    assert daphne_endpoint("127.0.0.1", "8000", "1024") == "tcp:port=8000:interface=127.0.0.1:backlog=1024"
    assert daphne_endpoint("::1", "8000", "64") == r"tcp:port=8000:interface=\:\:1:backlog=64"
