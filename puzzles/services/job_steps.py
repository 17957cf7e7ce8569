"""A job's steps and its end, shared by both ways a worker runs jobs: a batch of jobs stepping together
(services/solving.py) and an ARC job that fits its task first (services/arc_solving.py).

A step is saved for every member job in one transaction before it is published, so the database holds at
least what viewers saw (puzzles/consumers.py fills any gap from it); a job's end is written only while the
job is still active, since a cancel may land at any moment.

Fencing: a worker writes a job's steps and its end only while the job's `attempts` is still the one it took
the job with. A job another worker took over (it thought this one dead) is dropped from this worker's batch
without a write, and its batch companions go on. The heartbeat (`heartbeat_while`) keeps a running job's
`heartbeat_at` fresh during a long forward pass, so a slow, healthy worker is not taken for dead.
"""

import logging
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import reduce
from operator import or_

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from puzzles.messages import live_step_message, status_message
from puzzles.models import SolveJob, Step
from puzzles.services.heartbeat import renewing
from puzzles.services.publishing import publish_status, publish_step

logger = logging.getLogger(__name__)


@dataclass
class JobMember:
    """One job of a batch and the rows of the batch that hold its puzzles."""

    job: SolveJob
    grids: list
    rows: slice
    saved_steps: set = field(default_factory=set)
    answers: list = field(default_factory=list)
    halted_at: int | None = None
    steps_run: int = 0
    stopped: bool = False  # with a halting threshold: every trajectory of every puzzle has halted
    lost: bool = False  # another worker took the job over: this one writes nothing more of it


def _held(jobs: list[SolveJob]) -> Q:
    """The rows of `jobs` still held by the attempt this worker took each with."""
    return reduce(or_, (Q(id=job.id, attempts=job.attempts) for job in jobs))


@contextmanager
def heartbeat_while(members: list[JobMember]) -> Iterator[None]:
    """Renew the members' heartbeat while the block runs, for the jobs this worker still holds and that
    still run."""
    def renew() -> None:
        held = [m.job for m in members if not m.lost]
        if held:
            SolveJob.objects.filter(_held(held), status=SolveJob.Status.RUNNING).update(heartbeat_at=timezone.now())

    with renewing(renew, name="job-heartbeat"):
        yield


def job_finish(job: SolveJob, status: str, *, error: str = "", result: dict | None = None) -> None:
    """End the job unless it has already ended (a cancel may land at any moment) or another worker has
    taken it over (fencing, above), then tell viewers how it ended."""
    SolveJob.objects.filter(id=job.id, attempts=job.attempts, status__in=SolveJob.ACTIVE).update(
        status=status, error=error[:2000], result=result, finished_at=timezone.now()
    )
    job.refresh_from_db()
    if job.is_finished:
        # After the commit: a caller inside a transaction (a claim that gives up, services/solving.py) would
        # otherwise tell viewers of an end that the API does not show yet, or ever if it rolled back.
        message = status_message(job)
        transaction.on_commit(lambda: publish_status(job.id, message))
    else:
        logger.warning("job %s was taken over by %s (attempt %d); this worker leaves it", job.id, job.worker, job.attempts)


def _cells(values: np.ndarray, grid: list) -> list:
    """Per-cell values of the model's canvas cropped to the answer grid's shape (top-left aligned)."""
    side = math.isqrt(values.shape[-1])
    canvas = values.reshape(side, side)
    rows = len(grid)
    columns = len(grid[0]) if rows else 0
    return [[round(float(v), 4) for v in canvas[r, :columns]] for r in range(rows)]


def steps_record(codec, output, members: list[JobMember]) -> None:
    """Save this step of every member job in one transaction, then publish each."""
    if settings.TRM_TEST_STEP_SLEEP:  # test hook: a step that takes this long (a hung forward pass)
        time.sleep(settings.TRM_TEST_STEP_SLEEP)
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
        # An ARC job's steps (services/arc_solving.py) come straight from solve_steps: one trajectory each.
        per_row = getattr(output, "trajectories", None)
        threshold = member.job.halt_threshold
        if threshold is not None and per_row is not None:
            member.stopped = all(t.halt_prob > threshold for row in rows for t in per_row[row])
        if output.step in member.saved_steps:
            continue
        trajectories = per_row[first_row] if per_row is not None else []
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
            trajectories=[] if len(trajectories) <= 1 else [
                {"sample": t.sample, "view": t.view, "grid": codec.decode(t.tokens, like=member.grids[0]),
                 "halt_prob": round(t.halt_prob, 6), "q_halt_logit": round(t.q_halt_logit, 6), "active": t.active}
                for t in trajectories],
            chosen=None if len(trajectories) <= 1 else int(output.chosen[first_row]),
            agreeing=None if len(trajectories) <= 1 else int(output.agreeing[first_row]),
        ))
    with transaction.atomic():
        held = set(SolveJob.objects.select_for_update().filter(_held([m.job for m in members])).values_list("id", flat=True))
        for member in members:
            if member.job.id not in held:
                member.lost = True
                logger.warning("job %s was taken over by another worker; this batch drops it", member.job.id)
        new_steps = [step for step in new_steps if step.job_id in held]
        Step.objects.bulk_create(new_steps)
        SolveJob.objects.filter(id__in=held).update(heartbeat_at=timezone.now())
    committed_at = time.time()
    for step in new_steps:
        publish_step(step.job_id, live_step_message(step, computed_at=computed_at, committed_at=committed_at))
