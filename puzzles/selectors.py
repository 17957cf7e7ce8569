"""Reads of the solve jobs that more than one caller needs (the writes are in puzzles/services/)."""

from django.db.models import Q

from puzzles.models import SolveJob


def job_queue_position(*, job: SolveJob) -> int | None:
    """A queued job's 1-based place in line, or None once it has left the queue.

    Every job of this deployment goes to its one solve queue (settings.TRM_SOLVE_QUEUE), which workers
    drain oldest first: the jobs ahead of this one are the queued jobs created before it (ties, to the
    microsecond, broken by id so that two jobs never share a place).
    """
    if job.status != SolveJob.Status.QUEUED:
        return None
    ahead = SolveJob.objects.filter(status=SolveJob.Status.QUEUED).filter(
        Q(created_at__lt=job.created_at) | Q(created_at=job.created_at, id__lt=job.id)
    )
    return ahead.count() + 1
