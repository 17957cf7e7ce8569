"""Redis down at submit time and restarted (empty, as a Redis without persistence comes back): the web app
answers clearly while it is down, and the accepted job runs once Redis is back, without anyone's help."""

import os
import time

import pytest
from django.conf import settings

from tests.conftest import PROJECT_DIR
from tests.stack import Stack, database_url_for_subprocess
from trmweb.redis_server import EmbeddedRedis

pytestmark = pytest.mark.stack

SUDOKU = "..3.2.6..9..3.5..1..18.64....81.29..7.......8..67.82....26.95..8..2.3..9..5.1.3.."


@pytest.fixture
def own_redis():
    server = EmbeddedRedis().start()
    yield server
    server.stop()


@pytest.fixture
def own_stack(django_db_setup, django_db_blocker, own_redis, tmp_path):
    with django_db_blocker.unblock():
        database_url = database_url_for_subprocess()
    env = dict(
        os.environ, DJANGO_SETTINGS_MODULE="trmweb.settings", DJANGO_SECRET_KEY=settings.SECRET_KEY,
        DATABASE_URL=database_url, REDIS_URL=own_redis.url, TRM_DEVICE="cpu",
        TRM_SWEEP_SECONDS="1", TRM_REQUEUE_AFTER="5",
    )
    with Stack(env=env, cwd=PROJECT_DIR, log_dir=tmp_path) as running:
        yield running


def test_a_job_accepted_while_redis_is_down_runs_when_it_is_back(own_stack, own_redis, active_checkpoints):
    own_redis.stop()

    status, health = own_stack.request("GET", "/healthz")
    assert status == 503 and health["redis"]["ok"] is False

    status, job = own_stack.request("POST", "/api/v1/jobs/", {"kind": "sudoku", "puzzle": {"grid": SUDOKU}, "steps": 2})
    assert status == 202, job
    assert job["status"] == "queued"

    own_redis.start()
    deadline = time.monotonic() + 120
    while True:
        status, current = own_stack.request("GET", job["url"])
        if current["status"] == "done":
            break
        assert current["status"] in ("queued", "running"), current
        assert time.monotonic() < deadline, f"the job did not run after Redis came back:\n{own_stack.log('worker')[-3000:]}"
        time.sleep(0.5)
    assert current["steps_done"] == 2
