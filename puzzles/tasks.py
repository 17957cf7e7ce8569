"""Celery tasks and worker hooks: thin wrappers that call services."""

import logging
import threading

from celery import shared_task
from celery.signals import worker_process_init, worker_ready, worker_shutdown
from django.conf import settings
from django.db import close_old_connections, connection

from puzzles.services.queueing import jobs_requeue_lost
from puzzles.services.solving import job_execute

logger = logging.getLogger(__name__)
_stop_sweeping = threading.Event()


@shared_task(name="puzzles.run_solve_job")
def run_solve_job(job_id: str) -> None:
    job_execute(job_id=job_id)


def _sweep_forever() -> None:
    while not _stop_sweeping.wait(settings.TRM_SWEEP_SECONDS):
        try:
            close_old_connections()
            jobs_requeue_lost()
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


@worker_ready.connect
def start_sweeping(**kwargs) -> None:
    """Every worker sweeps for jobs whose queue message was lost (see services/queueing.py)."""
    threading.Thread(target=_sweep_forever, name="lost-job-sweep", daemon=True).start()


@worker_shutdown.connect
def stop_sweeping(**kwargs) -> None:
    _stop_sweeping.set()
