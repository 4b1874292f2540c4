from __future__ import annotations

from celery import shared_task

from .imports import import_job_run, import_jobs_sweep


@shared_task(
    name="journeys.tasks.import_csv_file",
    acks_late=True,
    time_limit=2 * 60 * 60,
    soft_time_limit=2 * 60 * 60 - 60,
)
def import_csv_file(job_id: int) -> str:
    """Imports one uploaded CSV file (queue `imports`). Idempotent: a finished job is left alone and
    rows are keyed by their client ids."""
    return import_job_run(job_id=job_id).status


@shared_task(name="journeys.tasks.sweep_import_jobs", time_limit=5 * 60)
def sweep_import_jobs() -> dict[str, int]:
    """Beat: sends again the imports nothing is working on, resumes stalled ones (see imports.py)."""
    return import_jobs_sweep()
