"""The embedded default (no broker): a CSV upload returns as soon as the file is saved; the import
runs in a background thread of the process and the status the progress bar polls moves to done."""

from __future__ import annotations

import threading

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from journeys import imports
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
    upload = SimpleUploadedFile("people.csv", ROWS.encode(), content_type="text/csv")
    r = owner_client.post("/imports/", {"kind": "customers", "file": upload})
    job = ImportJob.objects.get(organization=organization)
    assert r.status_code == 302 and r["Location"] == f"/imports/{job.pk}/"
    page = owner_client.get(r["Location"]).content.decode()
    assert 'data-status-url="/imports/' in page and "import.js" in page

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
    assert Customer.objects.filter(organization=organization).count() == 6
