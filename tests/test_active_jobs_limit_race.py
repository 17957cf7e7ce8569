"""40 submits at once from one client, over the real web server: at most TRM_MAX_ACTIVE_JOBS of them are
accepted, the rest answered 429, because the count and the insert happen under one lock
(puzzles/services/client_locks.py). Runs on whichever database the suite runs on (SQLite, or PostgreSQL
with DATABASE_URL)."""

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from django.conf import settings

from puzzles.models import SolveJob
from tests.conftest import PROJECT_DIR, UNCONSUMED_QUEUE
from tests.stack import Stack, database_url_for_subprocess
from trmweb.redis_databases import redis_databases

pytestmark = pytest.mark.stack

SUDOKU = "..3.2.6..9..3.5..1..18.64....81.29..7.......8..67.82....26.95..8..2.3..9..5.1.3.."
LIMIT = 4
SUBMITS = 40
# The web sends jobs to a queue its worker does not consume, so none ends and frees a place meanwhile.

@pytest.fixture
def limited_stack(django_db_setup, django_db_blocker, redis_url, tmp_path):
    with django_db_blocker.unblock():
        database_url = database_url_for_subprocess()
    env = dict(
        os.environ, DJANGO_SETTINGS_MODULE="trmweb.settings", DJANGO_SECRET_KEY=settings.SECRET_KEY,
        DATABASE_URL=database_url, REDIS_URL=redis_url, TRM_DEVICE="cpu", TRM_SOLVE_QUEUE=UNCONSUMED_QUEUE,
        TRM_SUBMIT_RATE_ANON="100000/min", TRM_MAX_ACTIVE_JOBS=str(LIMIT),
    )
    broker = redis.Redis.from_url(redis_databases(redis_url).broker)
    with Stack(env=env, cwd=PROJECT_DIR, log_dir=tmp_path) as running:
        yield running
    broker.delete(UNCONSUMED_QUEUE)
    broker.close()

def test_concurrent_submits_of_one_client_stay_within_its_unfinished_job_limit(limited_stack, active_checkpoints):
    start = threading.Barrier(SUBMITS)

    def submit(_):
        start.wait()  # all at once
        return limited_stack.request("POST", "/api/v1/jobs/", {"kind": "sudoku", "puzzle": {"grid": SUDOKU}, "steps": 2})

    with ThreadPoolExecutor(SUBMITS) as pool:
        answers = list(pool.map(submit, range(SUBMITS)))

    statuses = sorted(status for status, _ in answers)
    assert statuses == [202] * LIMIT + [429] * (SUBMITS - LIMIT), statuses
    refused = next(body for status, body in answers if status == 429)
    assert f"you already have {LIMIT} unfinished jobs" in refused["error"]
    assert SolveJob.objects.filter(status__in=("queued", "running"), client_ip="127.0.0.1").count() == LIMIT
