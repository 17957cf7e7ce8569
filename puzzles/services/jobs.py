"""Writes on solve jobs from the web side: submitting and cancelling."""

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from puzzles.models import Checkpoint, Puzzle, SolveJob
from puzzles.puzzle_input import parse_puzzle

logger = logging.getLogger(__name__)


class NoCheckpoint(LookupError):
    """No checkpoint can serve the request."""


def _choose_checkpoint(kind: str, name: str | None) -> Checkpoint:
    if name:
        try:
            checkpoint = Checkpoint.objects.get(name=name)
        except Checkpoint.DoesNotExist:
            raise NoCheckpoint(f"no checkpoint named {name!r}") from None
        if checkpoint.kind != kind:
            raise NoCheckpoint(f"checkpoint {name!r} solves {checkpoint.kind} puzzles, not {kind}")
        return checkpoint
    checkpoint = Checkpoint.objects.filter(kind=kind, is_active=True).first()
    if checkpoint is None:
        raise NoCheckpoint(f"no checkpoint is active for {kind}; an operator must activate one in the admin")
    return checkpoint


def _enqueue(job_id) -> None:
    from puzzles.tasks import run_solve_job

    try:
        run_solve_job.apply_async(args=[str(job_id)], queue=settings.TRM_SOLVE_QUEUE)
    except Exception as error:  # the broker is down: the accepted job must not vanish silently
        logger.error("could not enqueue job %s: %s", job_id, error)
        SolveJob.objects.filter(id=job_id, status=SolveJob.Status.QUEUED).update(
            status=SolveJob.Status.FAILED,
            error="the job queue is unreachable; please submit again shortly",
            finished_at=timezone.now(),
        )


def job_submit(*, kind: str, puzzle: dict, checkpoint_name: str | None = None, steps: int | None = None) -> SolveJob:
    """Validate, save the puzzle and its job, and queue the job once the rows are committed.

    Raises PuzzleBodyError for a bad puzzle, NoCheckpoint when none can solve it, ValueError for bad steps.
    """
    parsed = parse_puzzle(kind, puzzle)
    checkpoint = _choose_checkpoint(kind, checkpoint_name)
    if steps is None:
        steps = checkpoint.halt_max_steps
    elif not 1 <= steps <= checkpoint.halt_max_steps:
        raise ValueError(f"steps must be between 1 and {checkpoint.halt_max_steps} for checkpoint {checkpoint.name!r}")
    with transaction.atomic():
        saved_puzzle = Puzzle.objects.create(kind=kind, data=parsed.data)
        job = SolveJob.objects.create(puzzle=saved_puzzle, checkpoint=checkpoint, steps_requested=steps)
        transaction.on_commit(lambda: _enqueue(job.id))
    return job
