"""Imports that nothing is working on are found and finished: a task message that never reached the
broker is sent again by the sweep, a run that died resumes after its last committed batch (exact
counts, no duplicates), a run that keeps stalling is failed with a reason."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone, translation

from journeys import imports
from journeys.imports import import_job_create, import_job_run, import_jobs_sweep
from journeys.models import Customer, ImportJob, ImportStatus
from tests.workers import send_to_a_dead_broker

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    return tmp_path


@pytest.fixture
def broker_down(monkeypatch):
    send_to_a_dead_broker(monkeypatch)


def _customers_csv(count: int) -> str:
    return "external_id,name\n" + "".join(f"C{k},Customer {k}\n" for k in range(count))


def test_an_upload_while_the_broker_is_down_stays_queued_and_the_sweep_sends_it_later(
    owner_client, organization, broker_down, django_capture_on_commit_callbacks, monkeypatch
):
    upload = SimpleUploadedFile("people.csv", _customers_csv(3).encode(), content_type="text/csv")
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post("/imports/", {"kind": "customers", "file": upload})
    job = ImportJob.objects.unscoped().get()
    assert response.status_code == 302 and response["Location"] == f"/imports/{job.pk}/"
    assert (job.status, job.dispatched_at) == (ImportStatus.QUEUED, None)
    status = owner_client.get(f"/imports/{job.pk}/status/").json()
    assert status["status_display"] == "Queued"
    assert status["message"].startswith("Queued. The task queue cannot be reached right now")
    assert "The task queue cannot be reached" in owner_client.get(f"/imports/{job.pk}/").content.decode()

    # Still down: the sweep tries, the job stays queued.
    later = timezone.now() + imports.UNSENT_AFTER + timedelta(seconds=1)
    assert import_jobs_sweep(now=later) == {"sent": 0, "resumed": 0, "failed": 0}
    assert ImportJob.objects.unscoped().get().status == ImportStatus.QUEUED

    # The broker is back (here: tasks run in-process): the sweep sends it and it runs.
    from cxm.celery import app

    monkeypatch.setitem(app.conf, "task_always_eager", True)
    assert import_jobs_sweep(now=later) == {"sent": 1, "resumed": 0, "failed": 0}
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE and job.dispatched_at is not None, job.message
    assert job.message == "3 row(s) imported, 3 new, 0 updated."
    assert Customer.objects.unscoped().filter(organization=organization).count() == 3


def test_the_sweep_leaves_a_just_created_job_to_its_own_send(organization):
    job = import_job_create(
        organization=organization, kind="customers", chunks=[b"external_id\nC1\n"], enqueue=False
    )
    assert import_jobs_sweep(dispatch=lambda job_id: pytest.fail("sent too early")) == {
        "sent": 0,
        "resumed": 0,
        "failed": 0,
    }
    assert ImportJob.objects.unscoped().get(pk=job.pk).status == ImportStatus.QUEUED


class WorkerKilled(BaseException):
    """Stands for SIGKILL: nothing in the task gets to handle it."""


def test_a_run_that_died_resumes_after_its_last_committed_batch(organization, monkeypatch):
    monkeypatch.setattr(imports, "BATCH_SIZE", 10)
    job = import_job_create(
        organization=organization, kind="customers", chunks=[_customers_csv(95).encode()], enqueue=False
    )
    real_write, batches = imports.write_clean_rows, []

    def dies_in_the_fourth_batch(**kwargs):
        batches.append(len(kwargs["rows"]))
        if len(batches) == 4:
            raise WorkerKilled
        real_write(**kwargs)

    monkeypatch.setattr(imports, "write_clean_rows", dies_in_the_fourth_batch)
    with pytest.raises(WorkerKilled):
        import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.processed, job.created_count) == (ImportStatus.IMPORTING, 30, 30)
    assert job.checkpoint == {
        "line": 31,
        "processed": 30,
        "created": 30,
        "updated": 0,
        "duplicates": 0,
        "customers_created": 0,
    }
    assert Customer.objects.unscoped().count() == 30  # the fourth batch rolled back with its checkpoint

    # A second message while the run still looks alive (a fresh heartbeat) changes nothing.
    assert import_job_run(job_id=job.pk).processed == 30 and len(batches) == 4

    # Ten minutes without a heartbeat: the sweep resumes it.
    ImportJob.objects.unscoped().filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=11))
    monkeypatch.setattr(imports, "write_clean_rows", real_write)
    sent = []
    counts = import_jobs_sweep(dispatch=lambda job_id: sent.append(job_id) or True)
    assert counts == {"sent": 0, "resumed": 1, "failed": 0} and sent == [job.pk]
    job = import_job_run(job_id=job.pk)
    assert job.status == ImportStatus.DONE, job.message
    assert (job.total, job.processed, job.created_count, job.attempts) == (95, 95, 95, 1)
    assert job.message == "95 row(s) imported, 95 new, 0 updated."  # counts carried over, not redone
    assert Customer.objects.unscoped().count() == 95
    assert sorted(Customer.objects.unscoped().values_list("external_id", flat=True)) == sorted(
        f"C{k}" for k in range(95)
    )


def _stalled_job(organization, *, attempts: int, minutes_ago: int, language: str = "en") -> ImportJob:
    with translation.override(language):
        job = import_job_create(
            organization=organization, kind="customers", chunks=[b"external_id\nC1\n"], enqueue=False
        )
    then = timezone.now() - timedelta(minutes=minutes_ago)
    ImportJob.objects.unscoped().filter(pk=job.pk).update(
        status=ImportStatus.IMPORTING,
        attempts=attempts,
        heartbeat_at=then,
        dispatched_at=then,
        checkpoint={"line": 40001, "processed": 40000},
    )
    return job


def test_stuck_imports_are_detected_resumed_and_given_up_with_a_reason(organization, caplog):
    alive = _stalled_job(organization, attempts=0, minutes_ago=2)
    stalled = _stalled_job(organization, attempts=1, minutes_ago=11)
    hopeless = _stalled_job(organization, attempts=imports.MAX_ATTEMPTS, minutes_ago=11)
    hopeless_zh = _stalled_job(
        organization, attempts=imports.MAX_ATTEMPTS, minutes_ago=11, language="zh-hans"
    )
    sent: list[int] = []
    with caplog.at_level("WARNING", logger="journeys.imports"):
        counts = import_jobs_sweep(dispatch=lambda job_id: sent.append(job_id) or True)
    assert counts == {"sent": 0, "resumed": 1, "failed": 2} and sent == [stalled.pk]
    assert sum("stalled: no progress since" in r.getMessage() for r in caplog.records) == 3

    jobs = {job.pk: job for job in ImportJob.objects.unscoped().all()}
    assert (jobs[alive.pk].status, jobs[alive.pk].attempts) == (ImportStatus.IMPORTING, 0)
    assert (jobs[stalled.pk].status, jobs[stalled.pk].attempts) == (ImportStatus.IMPORTING, 2)
    assert jobs[hopeless.pk].status == ImportStatus.FAILED and jobs[hopeless.pk].finished_at is not None
    assert jobs[hopeless.pk].message == (
        "The import stopped making progress 4 times (the worker running it was lost) and was given up "
        "after 40000 row(s). Those rows are stored; import the file again to add the rest (rows already "
        "stored are not duplicated)."
    )
    assert jobs[hopeless_zh.pk].message.startswith("导入已 4 次停止推进")

    # The resent job is left alone until it has had time to start again.
    assert import_jobs_sweep(dispatch=lambda job_id: pytest.fail("sent twice")) == {
        "sent": 0,
        "resumed": 0,
        "failed": 0,
    }


def test_a_queued_job_whose_message_was_lost_is_sent_again(organization):
    job = import_job_create(
        organization=organization, kind="customers", chunks=[b"external_id\nC1\n"], enqueue=False
    )
    ImportJob.objects.unscoped().filter(pk=job.pk).update(dispatched_at=timezone.now() - timedelta(minutes=5))
    assert import_jobs_sweep(dispatch=lambda job_id: pytest.fail("requeued too early"))["sent"] == 0
    ImportJob.objects.unscoped().filter(pk=job.pk).update(
        dispatched_at=timezone.now() - imports.REQUEUE_AFTER - timedelta(minutes=1)
    )
    sent: list[int] = []
    assert import_jobs_sweep(dispatch=lambda job_id: sent.append(job_id) or True)["sent"] == 1 and sent == [
        job.pk
    ]


def test_the_sweep_runs_on_beat():
    from cxm.celery import app

    entry = app.conf.beat_schedule["journeys-sweep-import-jobs"]
    assert entry["task"] == "journeys.tasks.sweep_import_jobs"
    assert entry["options"]["expires"] < entry["schedule"]
    from journeys.tasks import sweep_import_jobs

    assert app.tasks[entry["task"]].name == sweep_import_jobs.name == "journeys.tasks.sweep_import_jobs"
