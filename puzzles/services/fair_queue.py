"""A fair share of the workers between clients.

The solve queue is first in, first out: a client who submits four long ARC jobs would hold every worker
while somebody's two-step Sudoku waits behind them. So a worker about to start a job first asks whether
another client waits who has had less of the workers lately; if one does, the job goes back to the tail of
the queue (a new message, its old one acknowledged) and the worker takes the next message instead.

Work is counted in model-step units: rows a forward pass carries times the steps it runs, plus the
embedding-fitting updates of an ARC job (each a forward and backward pass over its augmentations). A
client's recent work is the units of its jobs running now or ended within TRM_FAIR_WINDOW_SECONDS; a
job's own units count once it runs. Clients are who the limits count (puzzles/services/jobs.py: the user,
else the address), so a script cannot get a new share with a new browser session.

Why this terminates: the client with the least recent work among those waiting never yields, so some job
always starts, and each yield is one message sent. A client that had more than another waits, at most,
for the jobs in progress when the lighter client's job was queued, plus a yield per heavier job ahead of it
(tests/test_fair_queue.py). With the queue holding one client's jobs only, nothing yields: the queue is as
before.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import Case, F, IntegerField, Q, Sum, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from puzzles.models import SolveJob
from puzzles.services.queueing import job_enqueue
from solver.limits import fit_budget

logger = logging.getLogger(__name__)


def client_key(*, owner_id, client_ip) -> str:
    """Whose job it is for fairness: the same identity as the per-client limits."""
    return f"user:{owner_id}" if owner_id is not None else f"address:{client_ip}"


def _units(device: str) -> Sum:
    """The model-step units of jobs, summed, as a database expression. An ARC job that left its fitting
    options empty counts `device`'s defaults (solver/limits.py), as the worker will run them."""
    default = fit_budget(device)
    arc = Q(puzzle__kind="arc")
    augmentations = Case(When(arc, then=Coalesce(F("augmentations"), Value(default.augmentations))), default=Value(1))
    fit_updates = Case(When(arc, then=Coalesce(F("fit_steps"), Value(default.fit_steps))), default=Value(0))
    return Sum((F("steps_requested") * F("samples") * F("views") + fit_updates) * augmentations, output_field=IntegerField())


def recent_work(*, device: str, exclude_job_id=None) -> dict[str, int]:
    """Model-step units per client of the jobs running now or ended within the window."""
    since = timezone.now() - timedelta(seconds=settings.TRM_FAIR_WINDOW_SECONDS)
    rows = (SolveJob.objects.filter(Q(status=SolveJob.Status.RUNNING) | Q(finished_at__gte=since, started_at__isnull=False))
            .exclude(id=exclude_job_id).values("owner_id", "client_ip").annotate(units=_units(device)).order_by())
    work: dict[str, int] = {}
    for row in rows:
        key = client_key(owner_id=row["owner_id"], client_ip=row["client_ip"])
        work[key] = work.get(key, 0) + (row["units"] or 0)
    return work


def lighter_client_waits(job: SolveJob, *, device: str) -> str | None:
    """A client other than `job`'s, with a job queued and less recent work than `job`'s client; else None."""
    mine = client_key(owner_id=job.owner_id, client_ip=job.client_ip)
    work = recent_work(device=device, exclude_job_id=job.id)
    waiting = (SolveJob.objects.filter(status=SolveJob.Status.QUEUED).exclude(id=job.id)
               .values_list("owner_id", "client_ip").order_by().distinct())
    lighter = [key for key in (client_key(owner_id=owner, client_ip=ip) for owner, ip in waiting)
               if key != mine and work.get(key, 0) < work.get(mine, 0)]
    return min(lighter, key=lambda key: work.get(key, 0)) if lighter else None


def job_yield_if_unfair(*, job_id, device: str) -> bool:
    """Send a queued job to the back of the queue when a lighter client waits; True when it was sent there.

    A job already running (another worker's batch, a take-over) or ended is left to the caller. So is a job
    whose message cannot be sent again (Redis down): it runs now rather than wait for the sweep.
    """
    if not settings.TRM_FAIR_WINDOW_SECONDS:
        return False
    job = SolveJob.objects.filter(id=job_id, status=SolveJob.Status.QUEUED).first()
    if job is None:
        return False
    lighter = lighter_client_waits(job, device=device)
    if lighter is None:
        return False
    if not job_enqueue(job_id=job.id, previously_enqueued_at=job.enqueued_at):
        return False
    logger.info("job %s goes back in the queue: %s, with less recent work, waits", job.id, lighter)
    return True
