"""The embedded default (no broker): a CSV upload returns as soon as the file is saved; the import
runs in a background thread of the process and the status the progress bar polls moves to done."""

from __future__ import annotations

import threading

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from journeys import imports, tasks
from journeys.models import Customer, ImportJob

DEADLINE = 120
pytestmark = pytest.mark.django_db(transaction=True)

ROWS = "external_id,name\n" + "".join(f"C{i},Customer {i}\n" for i in range(1, 7))


def test_upload_returns_before_the_import_and_the_progress_moves(
    background_tasks, owner_client, organization, settings, tmp_path, monkeypatch
):
    settings.VAR_DIR = tmp_path
    monkeypatch.setattr(imports, "BATCH_SIZE", 2)
    second_batch, release = threading.Event(), threading.Event()
    batches: list[int] = []
    write = imports.write_clean_rows

    def held_write(**kwargs):
        batches.append(len(kwargs["rows"]))
        if len(batches) == 2:
            second_batch.set()
            assert release.wait(DEADLINE)
        return write(**kwargs)

    monkeypatch.setattr(imports, "write_clean_rows", held_write)
    go = threading.Event()
    run = tasks.import_job_run

    def held_run(**kwargs):
        assert go.wait(DEADLINE)
        return run(**kwargs)

    monkeypatch.setattr(tasks, "import_job_run", held_run)
    # The test database is SQLite in memory with a shared cache, whose table locks do not wait like
    # a file database's busy timeout: the session is stored first, and the import starts once the
    # upload's request has returned.
    assert owner_client.get("/imports/").status_code == 200
    upload = SimpleUploadedFile("people.csv", ROWS.encode(), content_type="text/csv")
    r = owner_client.post("/imports/", {"kind": "customers", "file": upload})
    job = ImportJob.objects.unscoped().get(organization=organization)
    assert r.status_code == 302 and r["Location"] == f"/imports/{job.pk}/"
    status = owner_client.get(f"/imports/{job.pk}/status/").json()
    assert (status["status"], status["finished"]) == ("queued", False)  # returned before the import ran
    page = owner_client.get(r["Location"]).content.decode()
    assert 'data-status-url="/imports/' in page and "import.js" in page
    go.set()

    assert second_batch.wait(DEADLINE)  # the import runs in the background, the request has returned
    status = owner_client.get(f"/imports/{job.pk}/status/").json()
    assert (status["status"], status["processed"], status["total"], status["finished"]) == (
        "importing",
        2,
        6,
        False,
    )
    assert status["percent"] == 33
    release.set()
    assert background_tasks.wait_idle(DEADLINE)
    status = owner_client.get(f"/imports/{job.pk}/status/").json()
    assert (status["status"], status["processed"], status["percent"], status["finished"]) == (
        "done",
        6,
        100,
        True,
    )
    assert Customer.objects.unscoped().filter(organization=organization).count() == 6
