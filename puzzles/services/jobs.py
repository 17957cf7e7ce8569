"""Writes on solve jobs from the web side: submitting and cancelling."""

from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from puzzles.messages import status_message
from puzzles.models import Checkpoint, Puzzle, SolveJob
from puzzles.publishing import publish_status
from puzzles.puzzle_input import check_fits_model, parse_puzzle
from puzzles.services.queueing import job_enqueue

ACTIVE = (SolveJob.Status.QUEUED, SolveJob.Status.RUNNING)


class NoCheckpoint(LookupError):
    """No checkpoint can serve the request."""


class TooManyActiveJobs(RuntimeError):
    """The client already has as many unfinished jobs as it may."""


class JobFinished(RuntimeError):
    """The job has already ended and cannot be cancelled."""


@dataclass(frozen=True)
class Client:
    """Who is asking: `owner_key` is `user:<id>` or `session:<key>`; anonymous limits go by `ip`."""

    owner_key: str
    user: object | None = None
    ip: str | None = None

    def active_jobs(self) -> int:
        jobs = SolveJob.objects.filter(status__in=ACTIVE)
        if self.user is not None or not self.ip:
            return jobs.filter(owner_key=self.owner_key).count()
        return jobs.filter(client_ip=self.ip, owner__isnull=True).count()


def _choose_checkpoint(kind: str, name: str | None) -> Checkpoint:
    if name:
        checkpoint = Checkpoint.objects.filter(name=name).first()
        if checkpoint is None:
            raise NoCheckpoint(f"no checkpoint named {name!r}")
        if checkpoint.kind != kind:
            raise NoCheckpoint(f"checkpoint {name!r} solves {checkpoint.kind} puzzles, not {kind}")
        return checkpoint
    checkpoint = Checkpoint.objects.filter(kind=kind, is_active=True).first()
    if checkpoint is None:
        raise NoCheckpoint(f"no checkpoint is active for {kind}; an operator must activate one in the admin")
    return checkpoint


def job_submit(
    *,
    client: Client,
    kind: str,
    puzzle: dict,
    checkpoint_name: str | None = None,
    steps: int | None = None,
    frames: bool = False,
    fit_steps: int | None = None,
    augmentations: int | None = None,
    idempotency_key: str = "",
) -> tuple[SolveJob, bool]:
    """Validate, save the puzzle and its job, and queue the job once the rows are committed.

    Returns (job, created); a repeated `idempotency_key` of the same client returns its first job.
    Raises PuzzleBodyError for a bad puzzle, NoCheckpoint when none can solve it, ValueError for bad
    steps, TooManyActiveJobs when the client is at its limit.
    """
    if idempotency_key:
        earlier = SolveJob.objects.filter(owner_key=client.owner_key, idempotency_key=idempotency_key).first()
        if earlier is not None:
            return earlier, False
    parsed = parse_puzzle(kind, puzzle)
    checkpoint = _choose_checkpoint(kind, checkpoint_name)
    check_fits_model(parsed, checkpoint.seq_len)
    if steps is None:
        steps = checkpoint.halt_max_steps
    elif not 1 <= steps <= checkpoint.halt_max_steps:
        raise ValueError(f"steps must be between 1 and {checkpoint.halt_max_steps} for checkpoint {checkpoint.name!r}")
    if client.active_jobs() >= settings.TRM_MAX_ACTIVE_JOBS:
        raise TooManyActiveJobs(
            f"you already have {settings.TRM_MAX_ACTIVE_JOBS} unfinished jobs; wait for one to end or cancel one"
        )
    try:
        with transaction.atomic():
            saved_puzzle = Puzzle.objects.create(kind=kind, data=parsed.data)
            job = SolveJob.objects.create(
                puzzle=saved_puzzle,
                checkpoint=checkpoint,
                steps_requested=steps,
                frames=frames,
                fit_steps=fit_steps,
                augmentations=augmentations,
                owner=client.user,
                owner_key=client.owner_key,
                client_ip=client.ip,
                idempotency_key=idempotency_key,
            )
            transaction.on_commit(lambda: job_enqueue(job_id=job.id))
    except IntegrityError:
        if not idempotency_key:
            raise
        # The same key arrived twice at once; the other request saved the job first.
        return SolveJob.objects.get(owner_key=client.owner_key, idempotency_key=idempotency_key), False
    return job, True


def job_cancel(*, job: SolveJob) -> SolveJob:
    """Stop a queued or running job; a running one stops before its next step."""
    updated = SolveJob.objects.filter(id=job.id, status__in=ACTIVE).update(
        status=SolveJob.Status.CANCELLED, error="cancelled by the user", finished_at=timezone.now()
    )
    job.refresh_from_db()
    if not updated:
        raise JobFinished(f"job {job.id} has already ended ({job.status})")
    publish_status(job.id, status_message(job))
    return job
