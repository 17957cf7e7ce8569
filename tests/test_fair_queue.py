"""A fair queue (puzzles/services/fair_queue.py): a job gives way to a waiting client with less recent work.

First the accounting on the real database, then one client flooding a real worker with long jobs while
another submits a short Sudoku: the Sudoku starts before any flood job that was queued when it arrived.
"""

import os
from datetime import timedelta

import pytest
import redis
from django.conf import settings
from django.utils import timezone

from puzzles.models import SolveJob
from puzzles.services.fair_queue import job_yield_if_unfair, lighter_client_waits, recent_work
from puzzles.services.jobs import Client, job_submit
from tests.conftest import PROJECT_DIR
from tests.stack import Stack, database_url_for_subprocess, flush_redis, private_redis_url
from trmweb.redis_databases import redis_databases

SUDOKU = "..3.2.6..9..3.5..1..18.64....81.29..7.......8..67.82....26.95..8..2.3..9..5.1.3.."
ARC_TASK = {"train": [{"input": [[1, 0], [0, 0]], "output": [[0, 1], [0, 0]]}], "test": [{"input": [[2, 0], [0, 0]]}]}
HEAVY, LIGHT = Client(owner_key="session:heavy", ip="203.0.113.1"), Client(owner_key="session:light", ip="203.0.113.2")


def sudoku_job(client: Client, **options) -> SolveJob:
    job, _created = job_submit(client=client, kind="sudoku", puzzle={"grid": SUDOKU}, **options)
    return job


def ran(job: SolveJob, *, minutes_ago: float = 0) -> None:
    """Mark `job` as run to its end `minutes_ago`."""
    ended = timezone.now() - timedelta(minutes=minutes_ago)
    SolveJob.objects.filter(id=job.id).update(status="done", started_at=ended, finished_at=ended)


@pytest.fixture
def queue(settings, active_checkpoints, jobs_stay_queued):
    settings.TRM_MAX_ACTIVE_JOBS = 100
    settings.TRM_FAIR_WINDOW_SECONDS = 600


def test_work_is_counted_in_model_step_units_per_client(queue):
    ran(sudoku_job(HEAVY, steps=4, samples=3, views=2))  # 4 steps x 6 rows
    ran(sudoku_job(HEAVY, steps=2))
    SolveJob.objects.filter(id=sudoku_job(LIGHT, steps=5).id).update(status="running", started_at=timezone.now())
    sudoku_job(LIGHT, steps=8)  # queued: not work yet
    ran(sudoku_job(Client(owner_key="session:old", ip="203.0.113.3"), steps=8), minutes_ago=11)  # out of the window

    assert recent_work(device="cpu") == {"address:203.0.113.1": 26, "address:203.0.113.2": 5}


def test_an_arc_job_counts_its_fitting_updates_over_its_augmentations(queue):
    job, _created = job_submit(client=HEAVY, kind="arc", puzzle=ARC_TASK, steps=3, fit_steps=10, augmentations=4)
    ran(job)

    assert recent_work(device="cpu") == {"address:203.0.113.1": (3 + 10) * 4}


def test_a_users_jobs_from_two_addresses_are_one_client(queue, django_user_model):
    user = django_user_model.objects.create_user("solver", password="pw-for-tests")
    for address in ("198.51.100.1", "198.51.100.2"):
        ran(sudoku_job(Client(owner_key=f"user:{user.pk}", user=user, ip=address), steps=3))

    assert recent_work(device="cpu") == {f"user:{user.pk}": 6}


def test_the_heavier_client_gives_way_and_the_lighter_does_not(queue):
    ran(sudoku_job(HEAVY, steps=8))
    heavy_next, light_next = sudoku_job(HEAVY, steps=8), sudoku_job(LIGHT, steps=8)

    assert lighter_client_waits(heavy_next, device="cpu") == "address:203.0.113.2"
    assert lighter_client_waits(light_next, device="cpu") is None


def test_alone_in_the_queue_or_past_the_window_nobody_gives_way(queue, settings):
    ran(sudoku_job(HEAVY, steps=8), minutes_ago=11)
    heavy_next = sudoku_job(HEAVY, steps=8)
    assert lighter_client_waits(heavy_next, device="cpu") is None  # nobody else waits

    sudoku_job(LIGHT, steps=8)
    assert lighter_client_waits(heavy_next, device="cpu") is None  # the heavy work is older than the window


def test_a_job_that_gives_way_goes_to_the_back_of_the_queue(queue, redis_url, jobs_stay_queued, settings):
    broker = redis.Redis.from_url(redis_databases(redis_url).broker)
    ran(sudoku_job(HEAVY, steps=8))
    heavy_next = sudoku_job(HEAVY, steps=8)
    light_next = sudoku_job(LIGHT, steps=8)
    messages = broker.llen(jobs_stay_queued)
    first_sent = SolveJob.objects.get(id=heavy_next.id).enqueued_at

    assert job_yield_if_unfair(job_id=light_next.id, device="cpu") is False
    assert job_yield_if_unfair(job_id=heavy_next.id, device="cpu") is True

    assert broker.llen(jobs_stay_queued) == messages + 1
    assert str(heavy_next.id) in broker.lindex(jobs_stay_queued, 0).decode()  # Celery pushes on the left
    assert SolveJob.objects.get(id=heavy_next.id).enqueued_at > first_sent
    settings.TRM_FAIR_WINDOW_SECONDS = 0
    assert job_yield_if_unfair(job_id=heavy_next.id, device="cpu") is False  # switched off: first in, first out


@pytest.mark.stack
def test_a_short_job_of_another_client_starts_before_a_flood_queued_ahead_of_it(active_checkpoints, redis_url, tmp_path):
    own_redis = private_redis_url(redis_url, 2)
    flush_redis(own_redis)
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="trmweb.settings", DJANGO_SECRET_KEY=settings.SECRET_KEY,
               DATABASE_URL=database_url_for_subprocess(), REDIS_URL=own_redis, TRM_DEVICE="cpu",
               TRM_TRUSTED_PROXIES="1", TRM_TEST_STEP_SLEEP="1", TRM_HEARTBEAT_STALE="5", TRM_BATCH_WINDOW_MS="0",
               TRM_MAX_ACTIVE_JOBS="100", TRM_SUBMIT_RATE_ANON="1000/min", TRM_PRELOAD_CHECKPOINTS="0")

    def submit(stack: Stack, address: str, steps: int) -> str:
        status, job = stack.request("POST", "/api/v1/jobs/", {"kind": "sudoku", "puzzle": {"grid": SUDOKU}, "steps": steps},
                                    headers={"X-Forwarded-For": address})
        assert status == 202, job
        return job["id"]

    with Stack(env=env, cwd=PROJECT_DIR, log_dir=tmp_path) as stack:
        # Steps differ, so that the flood's jobs cannot share one batch: each holds the one worker process.
        flood = [submit(stack, "203.0.113.1", steps) for steps in (3, 4, 5, 6)]
        stack.wait_until(lambda: SolveJob.objects.get(id=flood[0]).status == "running", 60, "the flood to start")
        short = submit(stack, "203.0.113.2", 1)
        every = [*flood, short]
        stack.wait_until(lambda: all(SolveJob.objects.get(id=i).is_finished for i in every), 120, "every job to end")

    jobs = {str(job.id): job for job in SolveJob.objects.filter(id__in=every)}
    assert all(job.status == "done" for job in jobs.values()), {i: (j.status, j.error) for i, j in jobs.items()}
    short_started = jobs[short].started_at
    queued_ahead = [jobs[i] for i in flood[1:]]
    assert all(short_started < job.started_at for job in queued_ahead), (
        short_started, [job.started_at for job in queued_ahead])
    assert "goes back in the queue" in stack.log("worker")
