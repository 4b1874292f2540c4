"""A CSV import run end to end by a real Celery worker process on Redis, against the test database."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import quote

import pytest
from django.db import connection
from django.utils import timezone

from journeys.imports import import_job_create
from journeys.models import Customer, ImportJob, ImportStatus, Transaction
from metrics.models import RecomputeState
from tests.waiting import GENEROUS, wait_until
from tests.workers import celery_worker

from .factories import CustomerFactory

ORDERS = """order_id,customer_external_id,occurred_at,amount,currency
O1,C1,2026-02-01T10:00:00Z,19.99,eur
O2,C2,2026-02-02T10:00:00Z,abc,USD
O3,C2,2026-02-03,5,
O4,C3,2026-02-04T08:30:00Z,1200.50,CNY
"""


def _database_url() -> str:
    """The pytest test database (test_…, per xdist worker), for the Celery worker process."""
    db = connection.settings_dict
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    user = quote(db["USER"], safe="")
    return f"postgres://{user}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _wait_until_finished(job: ImportJob, *, timeout: float = GENEROUS) -> ImportJob:
    def finished() -> bool:
        job.refresh_from_db()
        return job.is_finished

    wait_until(
        finished, timeout=timeout, message=lambda: f"import job {job.pk} still {job.status!r}: {job.message}"
    )
    return job


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_csv_import_runs_on_a_real_worker_and_skips_the_bad_row(
    postgres, redis_url, organization, settings, tmp_path
):
    settings.VAR_DIR = tmp_path  # the stored upload has an absolute path the worker process reads
    CustomerFactory(organization=organization, external_id="C1", name="Ann")
    # A recompute was just requested: the import's "customer data changed" signal on the worker then
    # only marks the dashboards stale (visible below) and queues no metrics task nobody would consume.
    # The worker's debounce window is a day, however long the worker takes to start.
    RecomputeState.objects.create(organization=organization, requested_at=timezone.now())
    job = import_job_create(
        organization=organization,
        kind="transactions",
        chunks=[ORDERS.encode()],
        original_name="orders.csv",
        skip_bad_rows=True,
        enqueue=False,  # the test process runs tasks eagerly; this one must go to the real worker
    )
    assert job.status == ImportStatus.QUEUED and job.file_path.startswith(str(tmp_path))

    with celery_worker(
        redis_url=redis_url, DATABASE_URL=_database_url(), METRICS_RECOMPUTE_DEBOUNCE="86400"
    ) as (app, queue):
        result = app.send_task("journeys.tasks.import_csv_file", args=[job.pk], queue=queue)
        job = _wait_until_finished(job)
        assert result.get(timeout=GENEROUS) == "done"  # the task's return value, from the worker via Redis

    assert job.status == ImportStatus.DONE, job.message
    assert (job.total, job.processed, job.error_count, job.created_count) == (4, 4, 1, 3)
    assert job.errors == [{"line": 3, "field": "amount", "reason": "amount is not a number"}]
    assert job.message == (
        "3 row(s) imported, 3 new, 0 already stored, 2 new customer(s), 1 bad row(s) skipped."
    )
    assert job.started_at is not None and job.finished_at is not None
    assert job.started_at <= job.finished_at

    orders = Transaction.objects.unscoped().filter(organization=organization).select_related("customer")
    stored = {t.order_id: (t.customer.external_id, t.amount, t.currency, t.occurred_at) for t in orders}
    assert stored == {
        "O1": ("C1", Decimal("19.99"), "EUR", datetime(2026, 2, 1, 10, 0, tzinfo=UTC)),
        "O3": ("C2", Decimal("5.00"), "USD", datetime(2026, 2, 3, tzinfo=UTC)),
        "O4": ("C3", Decimal("1200.50"), "CNY", datetime(2026, 2, 4, 8, 30, tzinfo=UTC)),
    }
    customers = Customer.objects.unscoped().filter(organization=organization)
    assert sorted(customers.values_list("external_id", flat=True)) == ["C1", "C2", "C3"]
    assert customers.get(external_id="C1").name == "Ann"  # the existing customer got the order

    state = RecomputeState.objects.unscoped().get(organization=organization)
    assert state.stale_since is not None
    assert job.finished_at <= state.stale_since <= timezone.now()  # marked when the import finished
