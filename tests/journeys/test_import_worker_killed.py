"""A real Celery worker is killed (SIGKILL) in the middle of a CSV import; the sweep hands the stalled
job to another worker, which resumes after the last committed batch: the stored rows are exactly the
file's, each once, and the counts are those of one uninterrupted run."""

from __future__ import annotations

import signal
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from journeys.imports import import_job_create, import_jobs_sweep
from journeys.models import Customer, ImportJob, ImportStatus
from metrics.models import RecomputeState
from tests.workers import celery_worker_process

from .test_import_worker import _database_url, _wait_until_finished

ROWS = 30_000
BATCH = 300


def _wait_for_batches(job: ImportJob, rows: int, timeout: float = 120) -> ImportJob:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.status == ImportStatus.IMPORTING and job.processed >= rows:
            return job
        if job.is_finished:
            pytest.fail(f"import job {job.pk} finished before the worker could be killed")
        time.sleep(0.02)
    pytest.fail(f"import job {job.pk} never got past {rows} rows: {job.status} {job.processed}")


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_an_import_resumes_on_another_worker_after_its_worker_was_killed(
    postgres, redis_url, organization, settings, tmp_path
):
    settings.VAR_DIR = tmp_path
    RecomputeState.objects.create(organization=organization, requested_at=timezone.now())
    text = "external_id,name,email\n" + "".join(f"K{k},Customer {k},k{k}@example.com\n" for k in range(ROWS))
    job = import_job_create(
        organization=organization,
        kind="customers",
        chunks=[text.encode()],
        original_name="big.csv",
        enqueue=False,
    )
    env = {"DATABASE_URL": _database_url(), "CXM_IMPORT_BATCH_SIZE": str(BATCH)}

    with celery_worker_process(redis_url=redis_url, **env) as (app, queue, worker):
        app.send_task("journeys.tasks.import_csv_file", args=[job.pk], queue=queue)
        _wait_for_batches(job, 3 * BATCH)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)

    job.refresh_from_db()
    stored = Customer.objects.unscoped().filter(organization=organization).count()
    assert job.status == ImportStatus.IMPORTING and job.processed < ROWS
    assert stored == job.checkpoint["processed"] == job.checkpoint["created"] == job.processed
    assert stored % BATCH == 0  # only whole batches: each committed with its checkpoint

    # Ten minutes later nothing has moved: the sweep detects it and sends it to a live worker.
    long_ago = timezone.now() - timedelta(minutes=11)
    ImportJob.objects.unscoped().filter(pk=job.pk).update(heartbeat_at=long_ago, dispatched_at=long_ago)
    with celery_worker_process(redis_url=redis_url, **env) as (app, queue, _worker):

        def to_the_live_worker(job_id: int) -> bool:
            app.send_task("journeys.tasks.import_csv_file", args=[job_id], queue=queue)
            return True

        assert import_jobs_sweep(dispatch=to_the_live_worker) == {"sent": 0, "resumed": 1, "failed": 0}
        job = _wait_until_finished(job, timeout=300)

    assert job.status == ImportStatus.DONE, job.message
    assert (job.total, job.processed, job.created_count, job.attempts) == (ROWS, ROWS, ROWS, 1)
    assert job.message == f"{ROWS} row(s) imported, {ROWS} new, 0 updated."
    customers = Customer.objects.unscoped().filter(organization=organization)
    assert customers.count() == ROWS
    assert customers.values("external_id").distinct().count() == ROWS
    assert customers.get(external_id=f"K{ROWS - 1}").email == f"k{ROWS - 1}@example.com"
