"""Celery tasks and worker hooks: thin wrappers that call services."""

import contextlib
import logging
import threading

from billiard.exceptions import TimeLimitExceeded
from celery import shared_task
from celery.signals import task_failure, worker_init, worker_process_init, worker_ready, worker_shutdown
from django.conf import settings
from django.db import close_old_connections, connection

from puzzles.services.evaluation_execution import (evaluation_execute, evaluation_fail_past_hard_limit,
                                                   evaluations_fail_silent)
from puzzles.services.evaluation_runs import RUN_EVALUATION, evaluations_requeue_lost
from puzzles.services.queueing import RUN_SOLVE_JOB, jobs_requeue_lost
from puzzles.services.solving import checkpoints_preload, checkpoints_to_preload, job_execute, job_fail_past_hard_limit

logger = logging.getLogger(__name__)
_stop_sweeping = threading.Event()


@shared_task(name=RUN_SOLVE_JOB)
def run_solve_job(job_id: str) -> None:
    job_execute(job_id=job_id)


@task_failure.connect(sender=run_solve_job)
def fail_a_job_past_the_hard_limit(sender=None, task_id=None, exception=None, args=None, **kwargs) -> None:
    """Celery killed the task's process at TRM_TASK_TIME_LIMIT (this runs in the worker's main process):
    the job would otherwise stay `running` until the sweep ran it again, to hang again."""
    _fail_when_killed(exception, args, lambda job_id: job_fail_past_hard_limit(job_id=job_id))


def _fail_when_killed(exception, args, fail) -> None:
    """Call `fail` with the task's first argument when Celery killed the task at its hard time limit."""
    if not isinstance(exception, TimeLimitExceeded) or not args:
        return
    close_old_connections()
    try:
        fail(args[0])
    finally:
        connection.close()


def _sweep_forever() -> None:
    while not _stop_sweeping.wait(settings.TRM_SWEEP_SECONDS):
        try:
            close_old_connections()
            jobs_requeue_lost()
            evaluations_requeue_lost()
            evaluations_fail_silent()
        except Exception:  # the database or Redis is down: try again next time
            logger.warning("sweep for lost jobs failed", exc_info=True)
        finally:
            connection.close()


@worker_process_init.connect
def set_torch_threads(**kwargs) -> None:
    """TRM_TORCH_THREADS caps PyTorch's threads in each worker process (0: PyTorch's default, all cores).

    On a small machine shared with the web server, fewer threads than cores avoids oversubscription.
    """
    if settings.TRM_TORCH_THREADS:
        import torch

        torch.set_num_threads(settings.TRM_TORCH_THREADS)


# The active checkpoints, read by the worker's main process before its pool forks. A pool process must not
# touch the database while it starts: Celery's Django fixup is then replacing the connections (and the
# PostgreSQL pool) inherited from the main process, and a thread that queried in between waited on a dead
# pool until it timed out.
_checkpoints_to_preload: list[tuple[str, str, str]] = []


@worker_init.connect
def list_checkpoints_to_preload(**kwargs) -> None:
    if not settings.TRM_PRELOAD_CHECKPOINTS:
        return
    try:
        _checkpoints_to_preload[:] = checkpoints_to_preload()
    except Exception:  # the database is not there yet: the first job loads its own
        logger.warning("could not list the active checkpoints to preload", exc_info=True)
    finally:
        connection.close()
        if hasattr(connection, "close_pool"):
            with contextlib.suppress(Exception):  # no pool was made (SQLite, or pooling off)
                connection.close_pool()


@worker_process_init.connect
def preload_checkpoints(**kwargs) -> None:
    """Each pool process loads the active checkpoints as it starts (services/solving.py), in a thread:
    Celery kills a pool process whose start-up handlers take more than a few seconds. A job that arrives
    meanwhile waits for the cache's lock, then finds its model loaded."""
    if _checkpoints_to_preload:
        threading.Thread(target=checkpoints_preload, args=(list(_checkpoints_to_preload),),
                         name="checkpoint-preload", daemon=True).start()


@worker_ready.connect
def start_sweeping(**kwargs) -> None:
    """Every worker sweeps for jobs and evaluations whose queue message was lost (services/queueing.py,
    services/evaluation_runs.py) and for evaluations whose worker died (services/evaluation_execution.py)."""
    threading.Thread(target=_sweep_forever, name="lost-job-sweep", daemon=True).start()


@worker_shutdown.connect
def stop_sweeping(**kwargs) -> None:
    _stop_sweeping.set()


@shared_task(name=RUN_EVALUATION, time_limit=settings.TRM_EVALUATION_TIME_LIMIT)
def run_evaluation(evaluation_id: str) -> None:
    evaluation_execute(evaluation_id=evaluation_id)


@task_failure.connect(sender=run_evaluation)
def fail_an_evaluation_past_the_hard_limit(sender=None, task_id=None, exception=None, args=None, **kwargs) -> None:
    _fail_when_killed(exception, args, lambda evaluation_id: evaluation_fail_past_hard_limit(evaluation_id=evaluation_id))
