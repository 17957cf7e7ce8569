"""A worker takes a running job over only when the job's heartbeat stays silent (puzzles/services/solving.py:
`_claim`): after a database outage longer than TRM_HEARTBEAT_STALE every heartbeat is old at once, and the
worker still running the job renews its own within a beat of the database coming back."""

import threading
import time
from datetime import timedelta

from django.db import connection
from django.utils import timezone

from puzzles.models import Puzzle, SolveJob
from puzzles.services.solving import _claim, worker_name

SUDOKU = "..3.2.6..9..3.5..1..18.64....81.29..7.......8..67.82....26.95..8..2.3..9..5.1.3.."


def job_running_elsewhere(checkpoint, silent_for: float) -> SolveJob:
    # No enqueued_at: the session stack's sweep (if it runs) leaves a running job without one alone.
    beat = timezone.now() - timedelta(seconds=silent_for)
    return SolveJob.objects.create(
        puzzle=Puzzle.objects.create(kind="sudoku", data={"grid": SUDOKU}), checkpoint=checkpoint, steps_requested=1,
        owner_key="session:test", status=SolveJob.Status.RUNNING, attempts=1, worker="elsewhere:1",
        started_at=beat, heartbeat_at=beat)


def test_a_job_whose_heartbeat_beats_again_after_an_outage_is_left_to_its_worker(active_checkpoints, settings):
    settings.TRM_HEARTBEAT_STALE = 4  # a beat a second; two beats to be sure
    job = job_running_elsewhere(active_checkpoints["sudoku"], silent_for=60)

    def its_worker_comes_back() -> None:
        for _ in range(4):
            time.sleep(0.5)
            SolveJob.objects.filter(id=job.id).update(heartbeat_at=timezone.now())
        SolveJob.objects.filter(id=job.id).update(status=SolveJob.Status.DONE, finished_at=timezone.now())
        connection.close()

    thread = threading.Thread(target=its_worker_comes_back)
    thread.start()
    try:
        assert _claim(job.id) is None  # it ended in its own worker
    finally:
        thread.join(timeout=30)
    job.refresh_from_db()
    assert (job.status, job.attempts, job.worker) == ("done", 1, "elsewhere:1")


def test_a_job_whose_heartbeat_stays_silent_is_taken_over(active_checkpoints, settings):
    settings.TRM_HEARTBEAT_STALE = 4
    job = job_running_elsewhere(active_checkpoints["sudoku"], silent_for=60)
    claimed = _claim(job.id)
    assert claimed is not None
    job.refresh_from_db()
    assert (job.status, job.attempts, job.worker) == ("running", 2, worker_name())
    SolveJob.objects.filter(id=job.id).update(status=SolveJob.Status.CANCELLED, finished_at=timezone.now())
