"""A step that never finishes: the between-step job time limit cannot fire, Celery's hard time limit
(TRM_TASK_TIME_LIMIT) kills the task's process, and the job ends failed with a reason a person can read,
its viewer told; the worker then serves on.

The hung step is the worker's test hook TRM_TEST_STEP_SLEEP (puzzles/services/solving.py): every step
sleeps two minutes before it is saved.
"""

import json
import os
import time

import pytest
from django.conf import settings
from websockets.sync.client import connect

from tests.conftest import PROJECT_DIR
from tests.stack import Stack, database_url_for_subprocess, private_redis_url

pytestmark = pytest.mark.stack

SUDOKU = "..3.2.6..9..3.5..1..18.64....81.29..7.......8..67.82....26.95..8..2.3..9..5.1.3.."
JOB_LIMIT, HARD_LIMIT = 10, 15


@pytest.fixture
def hanging_stack(django_db_setup, django_db_blocker, redis_url, tmp_path):
    with django_db_blocker.unblock():
        database_url = database_url_for_subprocess()
    env = dict(
        os.environ, DJANGO_SETTINGS_MODULE="trmweb.settings", DJANGO_SECRET_KEY=settings.SECRET_KEY,
        DATABASE_URL=database_url, REDIS_URL=private_redis_url(redis_url, 2), TRM_DEVICE="cpu",
        TRM_JOB_TIME_LIMIT=str(JOB_LIMIT), TRM_TASK_TIME_LIMIT=str(HARD_LIMIT), TRM_TEST_STEP_SLEEP="120",
        # The session stack's sweep (tests/conftest.py) takes over a job silent for 5 s; this worker's
        # heartbeat must beat at that pace (a quarter of it) while its step hangs, or the job runs there.
        TRM_HEARTBEAT_STALE="5",
    )
    with Stack(env=env, cwd=PROJECT_DIR, log_dir=tmp_path) as running:
        yield running


def test_a_hung_step_is_stopped_at_the_hard_time_limit_and_its_job_failed(hanging_stack, active_checkpoints):
    # Timed from before the submit: the worker may start the task before the 202 reaches this client.
    started = time.monotonic()
    status, job = hanging_stack.request("POST", "/api/v1/jobs/", {"kind": "sudoku", "puzzle": {"grid": SUDOKU}, "steps": 2})
    assert status == 202, job

    with connect(hanging_stack.ws_url + job["stream"], open_timeout=10) as socket:
        final = json.loads(socket.recv(timeout=90))
    waited = time.monotonic() - started

    assert final["type"] == "status" and final["status"] == "failed", final
    assert final["error"] == (f"the job ran past the hard time limit of {HARD_LIMIT} s (a step did not finish) "
                              "and was stopped")
    assert HARD_LIMIT <= waited < 60  # the hard limit, not the two-minute step, ended it
    assert "Hard time limit (15" in hanging_stack.log("worker")
    status, ended = hanging_stack.request("GET", job["url"])
    assert ended["status"] == "failed" and ended["steps_done"] == 0, ended

    # The pool's new process takes the next job (which hangs too, and is stopped the same way).
    status, second = hanging_stack.request("POST", "/api/v1/jobs/", {"kind": "sudoku", "puzzle": {"grid": SUDOKU}, "steps": 2})
    assert status == 202, second
    hanging_stack.wait_until(lambda: hanging_stack.request("GET", second["url"])[1]["status"] == "failed", 90,
                             "the second job to be stopped at the hard limit")
