"""A long step is not a dead worker, and a worker that lost its job writes nothing more of it
(puzzles/services/job_steps.py: heartbeat_while, fencing by the job's attempt).

Every step of these workers takes longer than the stale time (the test hook TRM_TEST_STEP_SLEEP sleeps in
each step before it is saved, as a slow forward pass would), and the sweep for lost jobs runs every second.
"""

import os
import threading
import time
from contextlib import contextmanager

import pytest
from django.conf import settings
from django.db import connection
from django.db.models import F
from django.utils import timezone

from puzzles.models import SolveJob
from tests.conftest import PROJECT_DIR
from tests.stack import Stack, database_url_for_subprocess, flush_redis, private_redis_url

pytestmark = pytest.mark.stack

SUDOKU = "..3.2.6..9..3.5..1..18.64....81.29..7.......8..67.82....26.95..8..2.3..9..5.1.3.."
STALE = 5


def slow_stack(redis_url, tmp_path, slot: int, step_seconds: int) -> Stack:
    own_redis = private_redis_url(redis_url, slot)
    flush_redis(own_redis)
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="trmweb.settings", DJANGO_SECRET_KEY=settings.SECRET_KEY,
               DATABASE_URL=database_url_for_subprocess(), REDIS_URL=own_redis, TRM_DEVICE="cpu",
               TRM_HEARTBEAT_STALE=str(STALE), TRM_SWEEP_SECONDS="1", TRM_TEST_STEP_SLEEP=str(step_seconds),
               TRM_BATCH_WINDOW_MS="2500", TRM_MAX_ACTIVE_JOBS="100", TRM_SUBMIT_RATE_ANON="1000/min",
               TRM_PRELOAD_CHECKPOINTS="0")
    return Stack(env=env, cwd=PROJECT_DIR, log_dir=tmp_path)


def submit(stack: Stack, count: int, steps: int) -> list[str]:
    ids = []
    for _ in range(count):
        status, job = stack.request("POST", "/api/v1/jobs/", {"kind": "sudoku", "puzzle": {"grid": SUDOKU}, "steps": steps})
        assert status == 202, job
        ids.append(job["id"])
    return ids


def steps_of(job_id) -> list[int]:
    return list(SolveJob.objects.get(id=job_id).steps.order_by("number").values_list("number", flat=True))


def test_a_batch_whose_steps_outlast_the_stale_time_is_not_taken_over(active_checkpoints, redis_url, tmp_path):
    with slow_stack(redis_url, tmp_path, slot=1, step_seconds=2 * STALE) as stack:
        stack.start_worker("worker2")  # waits on the batch's jobs, ready to take over any that look dead
        ids = submit(stack, 3, steps=2)
        stack.wait_until(lambda: all(SolveJob.objects.get(id=i).is_finished for i in ids), 120, "the jobs to end")

    for job_id in ids:
        job = SolveJob.objects.get(id=job_id)
        assert (job.status, job.attempts) == ("done", 1), (job_id, job.status, job.attempts, job.error)
        assert steps_of(job_id) == [1, 2]
    assert "was taken over" not in stack.log("worker") + stack.log("worker2")


@contextmanager
def other_worker_beating(job_id):
    """The heartbeat of the worker that took `job_id` over (so that nobody takes it for dead in turn)."""
    stop = threading.Event()

    def beat():
        while not stop.wait(1):
            SolveJob.objects.filter(id=job_id).update(heartbeat_at=timezone.now())
        connection.close()

    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)


def test_a_job_taken_over_mid_batch_is_dropped_and_its_companions_finish(active_checkpoints, redis_url, tmp_path):
    with slow_stack(redis_url, tmp_path, slot=2, step_seconds=3) as stack:
        first, taken, last = submit(stack, 3, steps=3)
        stack.wait_until(lambda: steps_of(taken) == [1], 60, "the batch's first step")
        # Another worker takes the job over, as one would that had thought this one dead, and keeps it alive.
        SolveJob.objects.filter(id=taken).update(attempts=F("attempts") + 1, worker="elsewhere:1",
                                                 heartbeat_at=timezone.now())
        with other_worker_beating(taken):
            stack.wait_until(lambda: all(SolveJob.objects.get(id=i).is_finished for i in (first, last)), 90,
                             "the companions to end")
            time.sleep(1)
            log = stack.log("worker")
            lost = SolveJob.objects.get(id=taken)

    for job_id in (first, last):
        job = SolveJob.objects.get(id=job_id)
        assert job.status == "done" and job.result["batch_size"] == 3, (job.status, job.error, job.result)
        assert steps_of(job_id) == [1, 2, 3]
    assert (lost.status, lost.worker, lost.attempts) == ("running", "elsewhere:1", 2)
    assert steps_of(taken) == [1]  # nothing written after the takeover: no step, no end
    assert f"job {taken} was taken over by another worker" in log
    SolveJob.objects.filter(id=taken).update(status="cancelled", finished_at=timezone.now())  # leave no live job behind
