"""Running a solve job inside a worker: claim it, run TRM step by step, save and publish each step.

Each step is saved before it is published, so the database always holds at least what viewers saw. A job
handed out again after its worker died keeps the steps already saved and does not publish them twice
(inference is deterministic, so the re-run computes the same steps).
"""

import logging
import math
import time

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from puzzles.messages import status_message, step_message
from puzzles.model_cache import cached_model
from puzzles.models import SolveJob, Step
from puzzles.puzzle_input import parse_puzzle
from puzzles.publishing import publish_status, publish_step
from solver.codecs import codec_for
from solver.inference import solve_steps

logger = logging.getLogger(__name__)


def _claim(job_id) -> SolveJob | None:
    """Mark the job running and count the attempt; None when there is nothing (more) to do."""
    with transaction.atomic():
        job = SolveJob.objects.select_for_update().select_related("puzzle", "checkpoint").filter(id=job_id).first()
        if job is None or job.is_finished:
            return None
        job.attempts += 1
        if job.attempts > settings.TRM_MAX_ATTEMPTS:
            _finish(job, SolveJob.Status.FAILED, error=f"the job stopped its worker {job.attempts - 1} times; giving up")
            return None
        job.status = SolveJob.Status.RUNNING
        job.started_at = job.started_at or timezone.now()
        job.save(update_fields=["attempts", "status", "started_at"])
        return job


def _finish(job: SolveJob, status: str, *, error: str = "", result: dict | None = None) -> None:
    """End the job unless it has already ended (a cancel may land at any moment), then tell viewers."""
    SolveJob.objects.filter(id=job.id, status__in=(SolveJob.Status.QUEUED, SolveJob.Status.RUNNING)).update(
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
    job = _claim(job_id)
    if job is None:
        return
    try:
        _run(job)
    except Exception as error:
        logger.exception("job %s failed", job.id)
        _finish(job, SolveJob.Status.FAILED, error=f"{type(error).__name__}: {error}")


def _run(job: SolveJob) -> None:
    codec = codec_for(job.puzzle.kind)
    grids = parse_puzzle(job.puzzle.kind, job.puzzle.data).grids
    model, _config = cached_model(job.checkpoint.path, job.checkpoint.content_hash)
    inputs = np.stack([codec.encode(grid) for grid in grids])
    already_saved = set(job.steps.values_list("number", flat=True))
    deadline = time.monotonic() + settings.TRM_JOB_TIME_LIMIT
    stop_reason = {}

    def should_stop() -> bool:
        if time.monotonic() > deadline:
            stop_reason["timeout"] = True
            return True
        return SolveJob.objects.filter(id=job.id, status=SolveJob.Status.CANCELLED).exists()

    answers: list = []
    halted_at = None
    steps_run = 0
    for output in solve_steps(model, inputs, steps=job.steps_requested, frames=job.frames, cancel=should_stop):
        steps_run = output.step
        answers = [codec.decode(output.tokens[i], like=grids[i]) for i in range(len(grids))]
        halt_prob = float(output.halt_prob[0])
        if halted_at is None and halt_prob > 0.5:
            halted_at = output.step
        if output.step in already_saved:
            continue
        step = Step.objects.create(
            job=job,
            number=output.step,
            grid=answers[0],
            answers=answers,
            confidence=_cells(output.confidence[0], answers[0]),
            halt_prob=halt_prob,
            q_halt_logit=float(output.q_halt_logit[0]),
            seconds=float(output.seconds),
            frames=[codec.decode(frame[0], like=grids[0]) for frame in output.frames],
        )
        publish_step(job.id, step_message(step))

    job.refresh_from_db(fields=["status"])
    if job.status == SolveJob.Status.CANCELLED:
        publish_status(job.id, status_message(job))
    elif stop_reason.get("timeout"):
        _finish(job, SolveJob.Status.FAILED, error=f"the job ran past its time limit of {settings.TRM_JOB_TIME_LIMIT} s")
    elif steps_run < job.steps_requested:
        _finish(job, SolveJob.Status.FAILED, error=f"the solver stopped after {steps_run} of {job.steps_requested} steps")
    else:
        result = {"grid": answers[0], "grids": answers, "steps": steps_run, "halted_at": halted_at}
        _finish(job, SolveJob.Status.DONE, result=result)
