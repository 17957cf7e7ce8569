"""Celery tasks: thin wrappers that call a service."""

from celery import shared_task

from puzzles.services.solving import job_execute


@shared_task(name="puzzles.run_solve_job")
def run_solve_job(job_id: str) -> None:
    job_execute(job_id=job_id)
