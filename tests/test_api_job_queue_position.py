"""A job's `queue_position` (GET /api/v1/jobs/<id>/): its place among the queued jobs, oldest first."""

from datetime import timedelta

import pytest
from django.utils import timezone

from puzzles.models import Checkpoint, Puzzle, SolveJob

SUDOKU = [[0] * 9 for _ in range(9)]


@pytest.fixture
def new_job(db):
    """Make a job row of a given status, created `minutes` after a fixed moment (never sent to a worker)."""
    checkpoint = Checkpoint.objects.create(name="rows-only", kind="sudoku", path="none.safetensors", content_hash="-")
    puzzle = Puzzle.objects.create(kind="sudoku", data={"grid": SUDOKU})
    start = timezone.now()

    def make(status: str, minutes: int) -> SolveJob:
        job = SolveJob.objects.create(puzzle=puzzle, checkpoint=checkpoint, steps_requested=2, owner_key="session:test", status=status)
        # created_at is set on insert (auto_now_add): the order under test is written afterwards.
        SolveJob.objects.filter(id=job.id).update(created_at=start + timedelta(minutes=minutes))
        return job

    return make


def positions(client, jobs: list[SolveJob]) -> list[int | None]:
    return [client.get(f"/api/v1/jobs/{job.id}/").json()["queue_position"] for job in jobs]


def test_queued_jobs_count_only_the_queued_jobs_before_them(client, new_job):
    jobs = [new_job("queued", 3), new_job("running", 1), new_job("queued", 5), new_job("done", 0), new_job("queued", 2),
            new_job("cancelled", 4)]

    assert positions(client, jobs) == [2, None, 3, None, 1, None]

    SolveJob.objects.filter(id=jobs[4].id).update(status="running")  # the first in line is taken by a worker
    assert positions(client, jobs) == [1, None, 2, None, None, None]


def test_jobs_created_at_the_same_moment_still_have_places_of_their_own(client, new_job):
    jobs = [new_job("queued", 1) for _ in range(3)]

    assert sorted(positions(client, jobs)) == [1, 2, 3]

