"""Running solve jobs inside a worker: claim, batch, run TRM step by step, save and publish each step.

ARC jobs on a checkpoint with a puzzle embedding run alone in three phases (services/arc_solving.py:
fit the task's embedding, solve under augmentations, vote); a batch never holds one, since companions
share the first job's checkpoint.

Batching: a worker that takes a job waits a short window, then also claims every queued job of the same
checkpoint and options (up to TRM_MAX_BATCH puzzles) and runs them all in one forward pass per step, so
twenty people solving at once do not wait twenty times. The Celery message of a job run in another
job's batch is acknowledged only once that job has ended: its task waits for the batch, and takes the
job over if the batch's worker stops showing signs of life. So a job always has a message in the queue
until it has ended, and a dead worker's jobs are run again (up to TRM_MAX_ATTEMPTS) or failed.

Each step is saved before it is published, so the database holds at least what viewers saw. A job run
again keeps the steps already saved and does not publish them twice (inference is deterministic).
"""

import logging
import math
import os
import socket
import time
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
import torch
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from puzzles.messages import live_step_message, status_message
from puzzles.model_cache import cached_model
from puzzles.models import SolveJob, Step
from puzzles.publishing import publish_status, publish_step
from puzzles.puzzle_input import parse_puzzle
from solver.codecs import codec_for
from solver.inference import solve_steps

logger = logging.getLogger(__name__)

WAIT_POLL_SECONDS = 1.0
ACTIVE = (SolveJob.Status.QUEUED, SolveJob.Status.RUNNING)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class _Member:
    """One job of a batch and the rows of the batch that hold its puzzles."""

    job: SolveJob
    grids: list
    rows: slice
    saved_steps: set = field(default_factory=set)
    answers: list = field(default_factory=list)
    halted_at: int | None = None
    steps_run: int = 0


def _take(job: SolveJob, now) -> bool:
    """Count an attempt and mark the job running here (inside the caller's transaction)."""
    job.attempts += 1
    if job.attempts > settings.TRM_MAX_ATTEMPTS:
        _finish(job, SolveJob.Status.FAILED, error=f"the job stopped its worker {job.attempts - 1} times; giving up")
        return False
    job.status, job.started_at, job.worker, job.heartbeat_at = SolveJob.Status.RUNNING, job.started_at or now, worker_name(), now
    job.save(update_fields=["attempts", "status", "started_at", "worker", "heartbeat_at"])
    return True


def _claim(job_id) -> SolveJob | None:
    """The job, marked running here; None when it has ended (maybe in another worker's batch)."""
    stale = timedelta(seconds=settings.TRM_HEARTBEAT_STALE)
    while True:
        with transaction.atomic():
            job = SolveJob.objects.select_for_update(of=("self",)).select_related("puzzle", "checkpoint").filter(id=job_id).first()
            if job is None or job.is_finished:
                return None
            now = timezone.now()
            alive_elsewhere = job.status == SolveJob.Status.RUNNING and job.heartbeat_at and now - job.heartbeat_at < stale
            if not alive_elsewhere:
                return job if _take(job, now) else None
        time.sleep(WAIT_POLL_SECONDS)  # another worker's batch runs it: keep our message until it ends


def _claim_companions(first: SolveJob, rows_left: int) -> list[SolveJob]:
    """Queued jobs that can share `first`'s forward pass, marked running here."""
    if rows_left <= 0:
        return []
    taken = []
    with transaction.atomic():
        candidates = (
            SolveJob.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("puzzle", "checkpoint")
            .filter(status=SolveJob.Status.QUEUED, checkpoint_id=first.checkpoint_id,
                    steps_requested=first.steps_requested, frames=first.frames)
            .order_by("created_at")[: rows_left]
        )
        now = timezone.now()
        for job in candidates:
            if _take(job, now):
                taken.append(job)
    return taken


def _finish(job: SolveJob, status: str, *, error: str = "", result: dict | None = None) -> None:
    """End the job unless it has already ended (a cancel may land at any moment), then tell viewers."""
    SolveJob.objects.filter(id=job.id, status__in=ACTIVE).update(
        status=status, error=error[:2000], result=result, finished_at=timezone.now()
    )
    job.refresh_from_db()
    publish_status(job.id, status_message(job))


def _cells(values: np.ndarray, grid: list) -> list:
    """Per-cell values of the model's canvas cropped to the answer grid's shape (top-left aligned)."""
    side = math.isqrt(values.shape[-1])
    canvas = values.reshape(side, side)
    rows = len(grid)
    columns = len(grid[0]) if rows else 0
    return [[round(float(v), 4) for v in canvas[r, :columns]] for r in range(rows)]


def job_execute(*, job_id) -> None:
    """Run one job, with whatever queued jobs can share its forward passes."""
    first = _claim(job_id)
    if first is None:
        return
    from puzzles.services.arc_solving import arc_job_execute, job_uses_fitting  # it builds on this module

    if job_uses_fitting(first):  # alone: its forward passes hold its own augmentations and embedding rows
        try:
            arc_job_execute(first, device=_device())
        except Exception as error:
            logger.exception("ARC job %s failed", first.id)
            _finish(first, SolveJob.Status.FAILED, error=f"{type(error).__name__}: {error}")
        return
    if settings.TRM_BATCH_WINDOW_MS:
        time.sleep(settings.TRM_BATCH_WINDOW_MS / 1000)
    first_rows = len(parse_puzzle(first.puzzle.kind, first.puzzle.data).grids)
    jobs = [first, *_claim_companions(first, settings.TRM_MAX_BATCH - first_rows)]
    try:
        _run_batch(jobs)
    except Exception as error:
        logger.exception("batch of %d jobs failed", len(jobs))
        for job in jobs:
            _finish(job, SolveJob.Status.FAILED, error=f"{type(error).__name__}: {error}")


def _device() -> str:
    return "cuda" if torch.cuda.is_available() and os.environ.get("TRM_DEVICE", "").lower() != "cpu" else "cpu"


def _members(jobs: list[SolveJob]) -> list[_Member]:
    members, row = [], 0
    for job in jobs:
        grids = parse_puzzle(job.puzzle.kind, job.puzzle.data).grids
        saved = set(job.steps.values_list("number", flat=True))
        members.append(_Member(job=job, grids=grids, rows=slice(row, row + len(grids)), saved_steps=saved))
        row += len(grids)
    return members


def _run_batch(jobs: list[SolveJob]) -> None:
    first = jobs[0]
    model, config = cached_model(first.checkpoint.path, first.checkpoint.content_hash, device=_device())
    codec = codec_for(first.puzzle.kind, config.seq_len)
    members = _members(jobs)
    inputs = np.stack([codec.encode(grid) for member in members for grid in member.grids])
    active = {member.job.id: member for member in members}
    deadline = time.monotonic() + settings.TRM_JOB_TIME_LIMIT
    timed_out = False

    def should_stop() -> bool:
        nonlocal timed_out
        cancelled = SolveJob.objects.filter(id__in=list(active), status=SolveJob.Status.CANCELLED).values_list("id", flat=True)
        for job_id in cancelled:
            member = active.pop(job_id)
            publish_status(job_id, status_message(SolveJob.objects.get(id=job_id)))
            logger.info("job %s cancelled after %d steps", member.job.id, member.steps_run)
        timed_out = time.monotonic() > deadline
        return timed_out or not active

    for output in solve_steps(model, inputs, steps=first.steps_requested, frames=first.frames, cancel=should_stop):
        _record_step(codec, output, list(active.values()))

    for member in list(active.values()):
        job = member.job
        if timed_out:
            _finish(job, SolveJob.Status.FAILED, error=f"the job ran past its time limit of {settings.TRM_JOB_TIME_LIMIT} s")
        elif member.steps_run < job.steps_requested:
            _finish(job, SolveJob.Status.FAILED, error=f"the solver stopped after {member.steps_run} of {job.steps_requested} steps")
        else:
            result = {"grid": member.answers[0], "grids": member.answers, "steps": member.steps_run,
                      "halted_at": member.halted_at, "batch_size": len(inputs)}
            _finish(job, SolveJob.Status.DONE, result=result)


def _record_step(codec, output, members: list[_Member]) -> None:
    """Save this step of every member job in one transaction, then publish each."""
    computed_at = time.time()  # from here on it is streaming overhead (puzzles/messages.py, bench/streaming.py)
    new_steps = []
    for member in members:
        first_row = member.rows.start
        member.steps_run = output.step
        rows = range(member.rows.start, member.rows.stop)
        member.answers = [codec.decode(output.tokens[row], like=grid) for row, grid in zip(rows, member.grids, strict=True)]
        halt_prob = float(output.halt_prob[first_row])
        if member.halted_at is None and halt_prob > 0.5:
            member.halted_at = output.step
        if output.step in member.saved_steps:
            continue
        new_steps.append(Step(
            job=member.job,
            number=output.step,
            grid=member.answers[0],
            answers=member.answers,
            confidence=_cells(output.confidence[first_row], member.answers[0]),
            halt_prob=halt_prob,
            q_halt_logit=float(output.q_halt_logit[first_row]),
            seconds=float(output.seconds),
            frames=[codec.decode(frame[first_row], like=member.grids[0]) for frame in output.frames],
        ))
    with transaction.atomic():
        Step.objects.bulk_create(new_steps)
        SolveJob.objects.filter(id__in=[m.job.id for m in members]).update(heartbeat_at=timezone.now())
    committed_at = time.time()
    for step in new_steps:
        publish_step(step.job_id, live_step_message(step, computed_at=computed_at, committed_at=committed_at))
