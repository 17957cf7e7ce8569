"""A brief database fault mid-batch is waited out, not a failed job (puzzles/services/solving.py runs the
batch again after DATABASE_RETRY_DELAYS): on SQLite another process holds the write lock for 35 s, past the
30 s busy timeout; on PostgreSQL the worker's connections are terminated (pg_terminate_backend)."""

import os
import sqlite3
import threading
import time

import pytest
from django.conf import settings
from django.db import connection

from puzzles.models import SolveJob
from tests.conftest import PROJECT_DIR
from tests.stack import Stack, database_url_for_subprocess, flush_redis, private_redis_url

pytestmark = pytest.mark.stack

SUDOKU = "..3.2.6..9..3.5..1..18.64....81.29..7.......8..67.82....26.95..8..2.3..9..5.1.3.."
APPLICATION = "trm-database-fault-test"
STEPS = 4


def hold_the_sqlite_write_lock(seconds: float) -> None:
    blocker = sqlite3.connect(connection.settings_dict["NAME"], timeout=60)
    blocker.execute("BEGIN EXCLUSIVE")
    time.sleep(seconds)
    blocker.rollback()
    blocker.close()


def terminate_the_stacks_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = %s",
                       [APPLICATION])
        return cursor.fetchone()[0]


def test_a_database_fault_mid_batch_is_waited_out(active_checkpoints, redis_url, tmp_path):
    own_redis = private_redis_url(redis_url, 2)
    flush_redis(own_redis)
    database_url = database_url_for_subprocess()
    if connection.vendor == "postgresql":
        database_url += f"?application_name={APPLICATION}"
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="trmweb.settings", DJANGO_SECRET_KEY=settings.SECRET_KEY,
               DATABASE_URL=database_url, REDIS_URL=own_redis, TRM_DEVICE="cpu", TRM_TEST_STEP_SLEEP="1",
               TRM_HEARTBEAT_STALE="5",  # as the session stack's sweep counts it (tests/conftest.py)
               TRM_PRELOAD_CHECKPOINTS="0")
    with Stack(env=env, cwd=PROJECT_DIR, log_dir=tmp_path) as stack:
        status, job = stack.request("POST", "/api/v1/jobs/", {"kind": "sudoku", "puzzle": {"grid": SUDOKU}, "steps": STEPS})
        assert status == 202, job
        stack.wait_until(lambda: SolveJob.objects.get(id=job["id"]).steps.exists(), 60, "the first step")

        if connection.vendor == "sqlite":
            blocker = threading.Thread(target=hold_the_sqlite_write_lock, args=(35,))
            blocker.start()
            blocker.join()
        else:
            assert terminate_the_stacks_connections() >= 1

        stack.wait_until(lambda: SolveJob.objects.get(id=job["id"]).is_finished, 180, "the job to end")
        log = stack.log("worker")

    saved = SolveJob.objects.get(id=job["id"])
    assert (saved.status, saved.attempts) == ("done", 1), (saved.status, saved.error)
    assert list(saved.steps.order_by("number").values_list("number", flat=True)) == list(range(1, STEPS + 1))
    assert "met a database fault" in log
