"""Writes on solve jobs from the web side: submitting and cancelling."""

import hashlib
import json
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from puzzles.messages import status_message
from puzzles.models import Checkpoint, Puzzle, SolveJob
from puzzles.services.publishing import publish_status
from puzzles.services.puzzle_input import check_fits_model, parse_puzzle
from puzzles.services.client_locks import client_lock_take
from puzzles.services.queueing import job_enqueue
from solver.limits import LimitError, check_test_time

class NoCheckpoint(LookupError):
    """No checkpoint can serve the request."""


class TooManyActiveJobs(RuntimeError):
    """The client already has as many unfinished jobs as it may."""


class IdempotencyKeyReused(ValueError):
    """The client sent this Idempotency-Key before with another request."""


class JobFinished(RuntimeError):
    """The job has already ended and cannot be cancelled."""


@dataclass(frozen=True)
class Client:
    """Who is asking: `owner_key` is `user:<id>` or `session:<key>`; anonymous limits go by `ip`."""

    owner_key: str
    user: object | None = None
    ip: str | None = None

    @property
    def identity(self) -> str:
        """Who the client is beyond one browser session: the user, else the address (a session only when
        the address is unknown)."""
        if self.user is not None or not self.ip:
            return self.owner_key
        return f"address:{self.ip}"

    def active_jobs(self) -> int:
        jobs = SolveJob.objects.filter(status__in=SolveJob.ACTIVE)
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
    samples: int = 1,
    views: int = 1,
    seed: int = 0,
    halt: float | None = None,
    idempotency_key: str = "",
) -> tuple[SolveJob, bool]:
    """Validate, save the puzzle and its job, and queue the job once the rows are committed.

    Returns (job, created); a repeated `idempotency_key` of the same client (its identity, not its session)
    with the same request returns its first job. Raises IdempotencyKeyReused when the key came with another
    request, PuzzleBodyError for a bad puzzle, NoCheckpoint when none can solve it, LimitError (naming the
    field) for test-time options out of range (solver/limits.py), TooManyActiveJobs when the client is at
    its limit. halt: the halting threshold, None to run every step.
    """
    digest = _request_digest(kind=kind, puzzle=puzzle, checkpoint=checkpoint_name, steps=steps, frames=frames,
                             fit_steps=fit_steps, augmentations=augmentations, samples=samples, views=views,
                             seed=seed, halt=halt)
    if idempotency_key:
        earlier = _keyed_job(client, idempotency_key, digest)
        if earlier is not None:
            return earlier, False
    parsed = parse_puzzle(kind, puzzle)
    checkpoint = _choose_checkpoint(kind, checkpoint_name)
    check_fits_model(parsed, checkpoint.seq_len)
    check_test_time(kind, checkpoint.halt_max_steps, steps=steps, samples=samples, views=views, halt=halt)
    if (samples > 1 or views > 1) and kind == "arc":
        raise LimitError("samples", "ARC jobs vote over their fitting augmentations; leave samples and views at 1")
    if steps is None:
        steps = checkpoint.halt_max_steps
    try:
        with transaction.atomic():
            # Counted under the client's lock, in the transaction that inserts: submits at once cannot all
            # see room for one more (services/client_locks.py).
            client_lock_take(identity=client.identity)
            if client.active_jobs() >= settings.TRM_MAX_ACTIVE_JOBS:
                raise TooManyActiveJobs(
                    f"you already have {settings.TRM_MAX_ACTIVE_JOBS} unfinished jobs; wait for one to end or cancel one"
                )
            saved_puzzle = Puzzle.objects.create(kind=kind, data=parsed.data)
            job = SolveJob.objects.create(
                puzzle=saved_puzzle,
                checkpoint=checkpoint,
                steps_requested=steps,
                frames=frames,
                fit_steps=fit_steps,
                augmentations=augmentations,
                samples=samples,
                views=views,
                seed=seed,
                halt_threshold=halt,
                owner=client.user,
                owner_key=client.owner_key,
                client_ip=client.ip,
                idempotency_key=idempotency_key,
                idempotency_scope=client.identity if idempotency_key else "",
                request_digest=digest if idempotency_key else "",
            )
            transaction.on_commit(lambda: job_enqueue(job_id=job.id))
    except IntegrityError:
        if not idempotency_key:
            raise
        # The same key arrived twice at once; the other request saved the job first.
        return _keyed_job(client, idempotency_key, digest), False
    return job, True


def _request_digest(**request) -> str:
    """The submit as the service reads it, hashed: key order and spacing of the body do not change it."""
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _keyed_job(client: Client, key: str, digest: str) -> SolveJob | None:
    job = SolveJob.objects.filter(idempotency_scope=client.identity, idempotency_key=key).first()
    # Jobs keyed before digests were kept have none; they replay as they always did.
    if job is not None and job.request_digest and job.request_digest != digest:
        raise IdempotencyKeyReused(
            f"Idempotency-Key {key!r} was already used for a different request (job {job.id}); "
            "use a new key for a new request")
    return job


def job_cancel(*, job: SolveJob) -> SolveJob:
    """Stop a queued or running job; a running one stops before its next step."""
    updated = SolveJob.objects.filter(id=job.id, status__in=SolveJob.ACTIVE).update(
        status=SolveJob.Status.CANCELLED, error="cancelled by the user", finished_at=timezone.now()
    )
    job.refresh_from_db()
    if not updated:
        raise JobFinished(f"job {job.id} has already ended ({job.status})")
    publish_status(job.id, status_message(job))
    return job
