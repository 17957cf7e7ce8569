"""Putting jobs on the Celery queue, and putting them back when their message was lost.

The database is the outbox: a job is saved first and queued after commit. If Redis is down then, or
restarts without persistence and loses its queue, the job stays `queued` (or `running` with a silent
worker) and the sweep of any worker queues it again. Running a job twice is harmless: a task whose job
has ended, or is alive in another worker's batch, does nothing more.
"""

import logging
from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from puzzles.models import SolveJob

logger = logging.getLogger(__name__)

# Sent by name: importing puzzles.tasks would import the solver and torch into the web process, which only
# queues jobs (tests/test_web_without_torch.py).
RUN_SOLVE_JOB = "puzzles.run_solve_job"


def job_enqueue(*, job_id, previously_enqueued_at=None) -> bool:
    """Send the job's message; record when. False (and the job left for the sweep) when Redis is down.

    With `previously_enqueued_at`, only the caller that still sees that value sends it, so concurrent
    sweeps queue a job once.
    """
    claimed = SolveJob.objects.filter(id=job_id, enqueued_at=previously_enqueued_at).update(enqueued_at=timezone.now())
    if not claimed:
        return False
    try:
        current_app.send_task(RUN_SOLVE_JOB, args=[str(job_id)], queue=settings.TRM_SOLVE_QUEUE)
    except Exception as error:
        logger.warning("could not queue job %s (the sweep will retry): %s", job_id, error)
        SolveJob.objects.filter(id=job_id).update(enqueued_at=None)
        return False
    return True


def jobs_requeue_lost() -> int:
    """Queue again the jobs whose message is presumably lost; the number queued."""
    now = timezone.now()
    waited_long = now - timedelta(seconds=settings.TRM_REQUEUE_AFTER)
    silent = now - timedelta(seconds=settings.TRM_HEARTBEAT_STALE)
    lost = SolveJob.objects.filter(
        Q(status=SolveJob.Status.QUEUED, enqueued_at__isnull=True)
        | Q(status=SolveJob.Status.QUEUED, enqueued_at__lt=waited_long)
        | Q(status=SolveJob.Status.RUNNING, heartbeat_at__lt=silent, enqueued_at__lt=silent)
    ).values_list("id", "enqueued_at")[:500]
    requeued = sum(job_enqueue(job_id=job_id, previously_enqueued_at=enqueued_at) for job_id, enqueued_at in lost)
    if requeued:
        logger.info("queued %d jobs again whose message was lost", requeued)
    return requeued
