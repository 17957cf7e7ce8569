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
again keeps the steps already saved and does not publish them twice (inference is deterministic); a
viewer gets those, and any whose publish was lost, from the database (puzzles/consumers.py).
"""

import logging
import os
import socket
import time
from datetime import timedelta

import numpy as np
import torch
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from puzzles.job_errors import job_error_message
from puzzles.services.model_cache import CACHE_SIZE, cached_model
from puzzles.models import Checkpoint, SolveJob
from puzzles.services.puzzle_input import parse_puzzle
from puzzles.services.arc_solving import arc_job_execute, job_uses_fitting
from puzzles.services.fair_queue import job_yield_if_unfair
from puzzles.services.heartbeat import silent_long_enough
from puzzles.services.job_steps import JobMember, heartbeat_while, job_finish, steps_record
from solver.codecs import codec_for
from solver.thinking import think_steps

logger = logging.getLogger(__name__)

WAIT_POLL_SECONDS = 1.0
# Waits before running a batch again after a database fault: about two minutes in all, past SQLite's
# 30 s busy timeout twice over and a PostgreSQL restart.
DATABASE_RETRY_DELAYS = (1, 2, 4, 8, 15, 30, 60)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _take(job: SolveJob, now) -> bool:
    """Count an attempt and mark the job running here (inside the caller's transaction, which holds the row)."""
    if job.attempts >= settings.TRM_MAX_ATTEMPTS:
        job_finish(job, SolveJob.Status.FAILED, error=f"the job stopped its worker {job.attempts} times; giving up")
        return False
    job.attempts += 1
    job.status, job.started_at, job.worker, job.heartbeat_at = SolveJob.Status.RUNNING, job.started_at or now, worker_name(), now
    job.save(update_fields=["attempts", "status", "started_at", "worker", "heartbeat_at"])
    return True


def _claim(job_id) -> SolveJob | None:
    """The job, marked running here; None when it has ended (maybe in another worker's batch).

    A running job is taken over only when its heartbeat is stale and then stays where it was for two beats
    more (services/heartbeat.py `silent_long_enough`).
    """
    stale = timedelta(seconds=settings.TRM_HEARTBEAT_STALE)
    seen_silent: dict = {}
    while True:
        with transaction.atomic():
            job = SolveJob.objects.select_for_update(of=("self",)).select_related("puzzle", "checkpoint").filter(id=job_id).first()
            if job is None or job.is_finished:
                return None
            now = timezone.now()
            if job.status != SolveJob.Status.RUNNING or not job.heartbeat_at:
                return job if _take(job, now) else None
            if now - job.heartbeat_at >= stale and silent_long_enough(seen_silent, job.id, job.heartbeat_at, now):
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
                    steps_requested=first.steps_requested, frames=first.frames, samples=first.samples,
                    views=first.views, halt_threshold=first.halt_threshold)
            .order_by("created_at")[: rows_left]
        )
        now = timezone.now()
        for job in candidates:
            if _take(job, now):
                taken.append(job)
    return taken


def job_fail_past_hard_limit(*, job_id) -> None:
    """Fail a job whose task Celery killed at its hard time limit (TRM_TASK_TIME_LIMIT)."""
    job = SolveJob.objects.filter(id=job_id).first()
    if job is not None:
        logger.error("job %s ran past the hard time limit of %d s; its worker process was killed", job_id, settings.TRM_TASK_TIME_LIMIT)
        job_finish(job, SolveJob.Status.FAILED, error=f"the job ran past the hard time limit of {settings.TRM_TASK_TIME_LIMIT} s "
                                                   "(a step did not finish) and was stopped")


def job_execute(*, job_id) -> None:
    """Run one job, with whatever queued jobs can share its forward passes, unless it must give way to a
    client with less recent work (services/fair_queue.py)."""
    if job_yield_if_unfair(job_id=job_id, device=worker_device()):
        return
    first = _claim(job_id)
    if first is None:
        return
    if job_uses_fitting(first):  # alone: its forward passes hold its own augmentations and embedding rows
        try:
            arc_job_execute(first, device=worker_device())
        except Exception as error:
            logger.exception("ARC job %s failed", first.id)
            job_finish(first, SolveJob.Status.FAILED,
                    error=job_error_message(error, job_id=first.id, checkpoint_name=first.checkpoint.name))
        return
    if settings.TRM_BATCH_WINDOW_MS:
        time.sleep(settings.TRM_BATCH_WINDOW_MS / 1000)
    first_rows = len(parse_puzzle(first.puzzle.kind, first.puzzle.data).grids)
    jobs = [first, *_claim_companions(first, settings.TRM_MAX_BATCH - first_rows)]
    try:
        _run_batch_through_database_faults(jobs)
    except Exception as error:
        logger.exception("batch of %d jobs failed: %s", len(jobs), ", ".join(str(job.id) for job in jobs))
        for job in jobs:
            job_finish(job, SolveJob.Status.FAILED,
                    error=job_error_message(error, job_id=job.id, checkpoint_name=job.checkpoint.name))


def _run_batch_through_database_faults(jobs: list[SolveJob]) -> None:
    """Run the batch; when the database fails it for a moment (SQLite locked past its busy timeout, a
    PostgreSQL connection reset), wait and run it again, up to DATABASE_RETRY_DELAYS. A run again is
    harmless: inference is deterministic, steps already saved are neither saved nor published twice, and
    the worker still holds its jobs (fencing, services/job_steps.py)."""
    for attempt, delay in enumerate((*DATABASE_RETRY_DELAYS, None), start=1):
        try:
            _run_batch(jobs)
            return
        except (OperationalError, InterfaceError) as error:
            if delay is None:
                raise
            logger.warning("batch of %d jobs met a database fault (%s); running it again in %d s (retry %d of %d)",
                           len(jobs), error, delay, attempt, len(DATABASE_RETRY_DELAYS))
            connection.close()  # a broken connection is replaced by a new one on the next query
            time.sleep(delay)


def worker_device() -> str:
    return "cuda" if settings.TRM_DEVICE != "cpu" and torch.cuda.is_available() else "cpu"


def checkpoints_to_preload() -> list[tuple[str, str, str]]:
    """(name, path, content hash) of the active checkpoints, as many as the model cache holds."""
    active = Checkpoint.objects.filter(is_active=True).order_by("kind")[:CACHE_SIZE]
    return [(checkpoint.name, checkpoint.path, checkpoint.content_hash) for checkpoint in active]


def checkpoints_preload(checkpoints: list[tuple[str, str, str]]) -> None:
    """Load `checkpoints` into this process's model cache, so that the first job after a start waits no
    longer than the tenth; no database work (see puzzles/tasks.py). One that cannot be loaded is left for
    its jobs to report."""
    started = time.monotonic()
    loaded = []
    for name, path, content_hash in checkpoints:
        try:
            cached_model(path, content_hash, device=worker_device())
            loaded.append(name)
        except Exception:
            logger.warning("could not preload checkpoint %s", name, exc_info=True)
    logger.info("preloaded %d active checkpoints (%s) in %.1f s", len(loaded), ", ".join(loaded),
                time.monotonic() - started)


def _members(jobs: list[SolveJob]) -> list[JobMember]:
    members, row = [], 0
    for job in jobs:
        grids = parse_puzzle(job.puzzle.kind, job.puzzle.data).grids
        saved = set(job.steps.values_list("number", flat=True))
        members.append(JobMember(job=job, grids=grids, rows=slice(row, row + len(grids)), saved_steps=saved))
        row += len(grids)
    return members


def _run_batch(jobs: list[SolveJob]) -> None:
    first = jobs[0]
    model, config = cached_model(first.checkpoint.path, first.checkpoint.content_hash, device=worker_device())
    codec = codec_for(first.puzzle.kind, config.seq_len)
    members = _members(jobs)
    inputs = np.stack([codec.encode(grid) for member in members for grid in member.grids])
    active = {member.job.id: member for member in members}
    deadline = time.monotonic() + settings.TRM_JOB_TIME_LIMIT
    timed_out = False

    def should_stop() -> bool:
        nonlocal timed_out
        cancelled = SolveJob.objects.filter(id__in=list(active), status=SolveJob.Status.CANCELLED).values_list("id", flat=True)
        for job_id in cancelled:  # job_cancel has ended the job and told its viewers
            member = active.pop(job_id)
            logger.info("job %s cancelled after %d steps", member.job.id, member.steps_run)
        for member in [m for m in active.values() if m.lost]:  # taken over by another worker
            active.pop(member.job.id)
        timed_out = time.monotonic() > deadline
        return timed_out or not active

    grids = [grid for member in members for grid in member.grids]
    # Each puzzle's trajectories come from its job's seed and its place in its job (solver/thinking.py), so
    # a job gets the same answer alone or in any batch.
    seeds = [member.job.seed for member in members for _ in member.grids]
    indexes = [i for member in members for i in range(len(member.grids))]
    with heartbeat_while(members):
        for output in think_steps(model, first.puzzle.kind, grids, inputs, steps=first.steps_requested,
                                  samples=first.samples, views=first.views, seed=seeds, indexes=indexes,
                                  halt=first.halt_threshold, frames=first.frames, cancel=should_stop):
            steps_record(codec, output, [m for m in active.values() if output.active[m.rows].any()])

    for member in [m for m in active.values() if not m.lost]:
        job = member.job
        if timed_out:
            job_finish(job, SolveJob.Status.FAILED, error=f"the job ran past its time limit of {settings.TRM_JOB_TIME_LIMIT} s")
        elif member.steps_run < job.steps_requested and not member.stopped:
            job_finish(job, SolveJob.Status.FAILED, error=f"the solver stopped after {member.steps_run} of {job.steps_requested} steps")
        else:
            result = {"grid": member.answers[0], "grids": member.answers, "steps": member.steps_run,
                      "halted_at": member.halted_at, "batch_size": len(inputs),
                      "stopped_by_halting": member.stopped}
            job_finish(job, SolveJob.Status.DONE, result=result)
