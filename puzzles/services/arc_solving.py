"""Running an ARC job in three phases: fit the task's puzzle embedding, solve under augmentations, vote.

A task drawn by hand has no learned puzzle embedding, so the worker fits one (solver/test_time.py) before
solving; a task the checkpoint was trained on (its `task` name is among the checkpoint's recorded puzzle
identifiers) keeps its learned rows and skips the fit. Such a job runs alone, never in a batch: its forward
passes hold its own augmentations and embedding rows.

What viewers get (puzzles/messages.py): `fit` progress, then for each supervision step the usual `step`
message (the identity view, saved as a Step row) and `aug_step` messages for the first few augmentations,
then the `vote`, then the status. Every event is saved as a JobEvent before it is published; a job run
again saves and publishes only the events and steps it has not saved yet.
"""

import logging
import time

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from puzzles.messages import (
    arc_aug_step_message,
    arc_fit_message,
    arc_fit_phase_message,
    arc_solve_phase_message,
    arc_vote_message,
    event_message,
)
from puzzles.services.model_cache import cached_identifiers, cached_model
from puzzles.models import JobEvent, SolveJob
from puzzles.services.publishing import publish_event
from puzzles.services.puzzle_input import parse_puzzle
# The batch path's own helpers, so a step is saved, published and ended here exactly as there.
from puzzles.services.job_steps import JobMember, heartbeat_while, job_finish, steps_record
from solver.codecs import codec_for
from solver.limits import fit_budget
from solver.test_time import FitProgress, TaskStep, TaskVotes, event_record, run_task, started_from_record

logger = logging.getLogger(__name__)

# Augmentations whose every step is streamed (aug_step); all of them vote.
SHOWN_AUGMENTATIONS = 8
# At most about this many fit messages per job, evenly spaced (the first and last updates always).
FIT_POINTS = 200


def job_uses_fitting(job: SolveJob) -> bool:
    """Whether the job runs the three phases: an ARC job on a checkpoint with a puzzle embedding."""
    config = (job.checkpoint.info or {}).get("config", {})
    return job.puzzle.kind == "arc" and int(config.get("puzzle_emb_ndim", 0)) > 0


class _Events:
    """A job's events: numbered, saved (once per key), then published."""

    def __init__(self, job: SolveJob):
        self.job = job
        self.saved = set(job.events.values_list("key", flat=True))
        self.seq = job.events.aggregate(last=Max("seq"))["last"] or 0

    def add(self, key: str, payload: dict, *, after_step: int) -> None:
        if key in self.saved:
            return
        self.seq += 1
        with transaction.atomic():
            event = JobEvent.objects.create(job=self.job, seq=self.seq, key=key, after_step=after_step, payload=payload)
            SolveJob.objects.filter(id=self.job.id).update(heartbeat_at=timezone.now())
        self.saved.add(key)
        publish_event(self.job.id, event_message(event))


def arc_job_execute(job: SolveJob, *, device: str) -> None:
    """Run a claimed ARC job through fit, solve and vote, saving and publishing every event."""
    task = parse_puzzle("arc", job.puzzle.data).data
    grids = [test["input"] for test in task["test"]]
    budget = fit_budget(device, augmentations=job.augmentations, fit_steps=job.fit_steps)
    model, config = cached_model(job.checkpoint.path, job.checkpoint.content_hash, device=device)
    identifiers = cached_identifiers(job.checkpoint.path, job.checkpoint.content_hash)
    events = _Events(job)
    member = JobMember(job=job, grids=grids, rows=slice(0, len(grids)),
                     saved_steps=set(job.steps.values_list("number", flat=True)))
    codec = codec_for("arc", config.seq_len)
    deadline = time.monotonic() + settings.TRM_JOB_TIME_LIMIT
    every = max(1, budget.fit_steps // FIT_POINTS)
    cancelled = timed_out = False
    started = time.perf_counter()

    def should_stop() -> bool:
        # Called before every fit update and solve step: a sign of life even where no event is saved.
        nonlocal cancelled, timed_out
        if not SolveJob.objects.filter(id=job.id, attempts=job.attempts).update(heartbeat_at=timezone.now()):
            member.lost = True  # another worker took the job over (services/job_steps.py): stop, write nothing
            logger.warning("ARC job %s was taken over by another worker; this one stops", job.id)
            return True
        cancelled = SolveJob.objects.filter(id=job.id, status=SolveJob.Status.CANCELLED).exists()
        timed_out = time.monotonic() > deadline
        return cancelled or timed_out

    votes = None
    phase = None
    views = 0  # augmentations solved
    with heartbeat_while([member]):  # a long solve step of many views renews it too
        for event in run_task(model, task, budget=budget, identifiers=identifiers, steps=job.steps_requested,
                              cancel=should_stop):
            if isinstance(event, FitProgress):
                if phase is None:
                    phase = "fit"
                    started_from = started_from_record(event.started_from) if event.started_from is not None else None
                    events.add("phase:fit", arc_fit_phase_message(augmentations=budget.augmentations, fit_steps=budget.fit_steps,
                                                                  started_from=started_from), after_step=0)
                if event.step == 1 or event.step % every == 0 or event.step == event.steps:
                    events.add(f"fit:{event.step}", arc_fit_message(event_record(event)), after_step=0)
            elif isinstance(event, TaskStep):
                if phase != "solve":
                    phase = "solve"
                    events.add("phase:solve", arc_solve_phase_message(augmentations=len(event.augmentations),
                                                                      seconds=time.perf_counter() - started), after_step=0)
                views = len(event.augmentations)
                steps_record(codec, event.result, [member])
                for i in range(min(views, SHOWN_AUGMENTATIONS)):
                    events.add(f"aug:{i}:{event.step}", arc_aug_step_message(event, i, grids), after_step=event.step)
            elif isinstance(event, TaskVotes):
                votes = event
                events.add("vote", arc_vote_message(event_record(event), augmentations=views), after_step=member.steps_run)
    if not member.lost:
        _end(job, member, votes, views, cancelled=cancelled, timed_out=timed_out)


def _end(job: SolveJob, member: JobMember, votes: TaskVotes | None, views: int, *, cancelled: bool, timed_out: bool) -> None:
    if cancelled:
        return  # job_cancel has already ended the job and told the viewers
    if timed_out:
        job_finish(job, SolveJob.Status.FAILED, error=f"the job ran past its time limit of {settings.TRM_JOB_TIME_LIMIT} s")
    elif votes is None:
        job_finish(job, SolveJob.Status.FAILED, error=f"the solver stopped after {member.steps_run} of {job.steps_requested} steps")
    else:
        attempts = [[grid.tolist() for grid in vote.attempts] for vote in votes.votes]
        result = {"grid": attempts[0][0], "grids": [a[0] for a in attempts], "attempts": attempts,
                  "steps": member.steps_run, "halted_at": member.halted_at, "batch_size": views * len(member.grids),
                  "augmentations": views, "fitted": votes.fitted, "timings": votes.timings}
        job_finish(job, SolveJob.Status.DONE, result=result)
