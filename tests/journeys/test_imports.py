"""CSV import: all or nothing, skipping bad rows with line numbers, batches, progress, command, page."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from journeys import imports
from journeys.imports import import_job_create, import_job_run
from journeys.models import Customer, ImportJob, ImportStatus, Interaction, Transaction

from .factories import TouchpointFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    return tmp_path


def _job(organization, kind, text, **kwargs):
    job = import_job_create(
        organization=organization,
        kind=kind,
        chunks=[text.encode()],
        original_name="f.csv",
        enqueue=False,
        **kwargs,
    )
    return import_job_run(job_id=job.pk)


CUSTOMERS = """external_id,name,email,city,attributes,unsubscribed
C1,Wang Fang,wang@example.com,上海,"{""tier"": ""gold""}",no
C2,"Smith, John",john@example.com,London,,yes
"""


def test_customers_import_and_reimport(organization, var_dir):
    job = _job(organization, "customers", CUSTOMERS)
    assert job.status == ImportStatus.DONE, job.message
    assert (job.total, job.processed, job.error_count, job.created_count) == (2, 2, 0, 2)
    c1 = Customer.objects.unscoped().get(organization=organization, external_id="C1")
    assert (c1.city, c1.attributes, c1.unsubscribed) == ("上海", {"tier": "gold"}, False)
    assert Customer.objects.unscoped().get(external_id="C2").name == "Smith, John"
    assert (var_dir / "imports").is_dir() and len(list((var_dir / "imports").iterdir())) == 1
    again = _job(organization, "customers", "external_id,city\nC1,\nC2,Paris\n")
    assert again.status == ImportStatus.DONE
    assert Customer.objects.unscoped().filter(organization=organization).count() == 2
    assert (
        Customer.objects.unscoped().get(external_id="C1").city == "上海"
    )  # an empty cell keeps the stored value
    assert Customer.objects.unscoped().get(external_id="C2").city == "Paris"


INTERACTIONS = """id,customer_external_id,touchpoint,kind,occurred_at,properties
i1,C1,web,visit,2026-01-01T10:00:00Z,
i2,C1,nope,visit,2026-01-02T10:00:00Z,
i3,,web,visit,2026-01-03T10:00:00Z,
i4,C2,web,visit,not a date,
i5,C2,web,visit,2026-01-05,"{""a"": 1}"
i6,C3,web,visit,2026-01-06,{bad json
"""


def test_all_or_nothing_reports_lines_and_imports_nothing(organization):
    TouchpointFactory(stage__journey__organization=organization, key="web")
    job = _job(organization, "interactions", INTERACTIONS)
    assert job.status == ImportStatus.FAILED
    assert "4 bad row(s); nothing was imported." == job.message
    assert [(e["line"], e["field"]) for e in job.errors] == [
        (3, "touchpoint"),
        (4, "customer_external_id"),
        (5, "occurred_at"),
        (7, "properties"),
    ]
    assert not Interaction.objects.unscoped().exists() and not Customer.objects.unscoped().exists()


def test_skip_bad_rows_imports_the_good_ones(organization):
    TouchpointFactory(stage__journey__organization=organization, key="web")
    job = _job(organization, "interactions", INTERACTIONS, skip_bad_rows=True)
    assert job.status == ImportStatus.DONE
    assert job.error_count == 4 and job.processed == 6
    assert sorted(Interaction.objects.unscoped().values_list("external_id", flat=True)) == ["i1", "i5"]
    assert Interaction.objects.unscoped().get(external_id="i5").properties == {"a": 1}
    assert "2 row(s) imported" in job.message and "4 bad row(s) skipped" in job.message


def test_reasons_and_message_are_in_the_language_of_who_started_the_import(organization):
    from django.utils import translation

    TouchpointFactory(stage__journey__organization=organization, key="web")
    with translation.override("zh-hans"):
        job = _job(organization, "interactions", INTERACTIONS)
    assert job.language == "zh-hans"
    reasons = {e["line"]: e["reason"] for e in job.errors}
    assert reasons[3] == "未知的触点键 'nope'"
    assert reasons[4] == "customer_external_id 为必填项"
    assert reasons[5] == "occurred_at 不是 ISO 8601 日期时间"
    assert job.message == "4 行有错误；未导入任何数据。"
    # Started in English, the same file reads in English.
    with translation.override("en"):
        job = _job(organization, "interactions", INTERACTIONS)
    assert {e["line"]: e["reason"] for e in job.errors}[4] == "customer_external_id is required"


def test_bulk_api_reasons_follow_accept_language(api_client):
    from django.utils import translation

    body = [{"customer_external_id": "", "occurred_at": "2026-01-01"}, {"customer_external_id": "C1"}]
    try:
        r = api_client.post("/api/v1/interactions/bulk", body, format="json", HTTP_ACCEPT_LANGUAGE="zh-hans")
    finally:
        translation.deactivate()  # the request's language stays active on this thread otherwise
    assert r.status_code == 200, r.content
    assert [e["reason"] for e in r.json()["errors"]] == [
        "customer_external_id 为必填项",
        "occurred_at 为必填项",
    ]


def test_bad_header_fails_with_a_message(organization):
    job = _job(organization, "transactions", "order_id,customer,amount\n1,2,3\n")
    assert job.status == ImportStatus.FAILED
    assert "Unknown column(s): customer" in job.message
    job = _job(organization, "transactions", "order_id,amount\n1,3\n")
    assert "Missing required column(s): customer_external_id, occurred_at" in job.message
    assert _job(organization, "customers", "").message == "The file is empty."


def test_rows_with_extra_cells_are_bad(organization):
    job = _job(organization, "customers", "external_id,name\nC1,Ann,extra\nC2,Bob\n", skip_bad_rows=True)
    assert job.errors == [{"line": 2, "field": None, "reason": "more cells than columns"}]
    assert list(Customer.objects.unscoped().values_list("external_id", flat=True)) == ["C2"]


def test_batches_and_progress(organization, monkeypatch):
    monkeypatch.setattr(imports, "BATCH_SIZE", 4)
    rows = "\n".join(f"O{k},C{k % 3},2026-02-01T00:00:00Z,{k}.50" for k in range(10))
    text = "order_id,customer_external_id,occurred_at,amount\n" + rows + "\n"
    job = import_job_create(
        organization=organization, kind="transactions", chunks=[text.encode()], enqueue=False
    )
    seen = []
    job = import_job_run(job_id=job.pk, on_progress=lambda j: seen.append((j.status, j.processed)))
    assert job.status == ImportStatus.DONE and Transaction.objects.unscoped().count() == 10
    assert ("importing", 4) in seen and ("importing", 8) in seen and seen[-1] == ("done", 10)
    # Running the task again leaves a finished job alone.
    assert import_job_run(job_id=job.pk).finished_at == job.finished_at


def test_command_prints_progress_and_fails_on_bad_rows(organization, tmp_path):
    good = tmp_path / "orders.csv"
    good.write_text("order_id,customer_external_id,occurred_at,amount,currency\nO1,C1,2026-02-01,10,CNY\n")
    out = io.StringIO()
    call_command("import_csv", "--org", "acme", "--kind", "transactions", str(good), stdout=out)
    assert "100%" in out.getvalue() and "1 row(s) imported" in out.getvalue()
    assert Transaction.objects.unscoped().get().currency == "CNY"
    bad = tmp_path / "bad.csv"
    bad.write_text("order_id,customer_external_id,occurred_at,amount\nO2,C1,2026-02-01,abc\n")
    out = io.StringIO()
    with pytest.raises(CommandError, match="1 bad row"):
        call_command("import_csv", "--org", "acme", "--kind", "transactions", str(bad), stdout=out)
    assert "line 2: amount is not a number" in out.getvalue()
    call_command(
        "import_csv",
        "--org",
        "acme",
        "--kind",
        "transactions",
        str(bad),
        "--skip-bad-rows",
        stdout=io.StringIO(),
    )
    with pytest.raises(CommandError, match="No organization"):
        call_command("import_csv", "--org", "nope", "--kind", "customers", str(good))


def test_upload_page_status_endpoint(owner_client, organization, django_capture_on_commit_callbacks):
    upload = SimpleUploadedFile("people.csv", CUSTOMERS.encode(), content_type="text/csv")
    with django_capture_on_commit_callbacks(execute=True):
        r = owner_client.post("/imports/", {"kind": "customers", "file": upload})
    assert r.status_code == 302
    job = ImportJob.objects.unscoped().get()
    assert r["Location"] == f"/imports/{job.pk}/"
    status = owner_client.get(f"/imports/{job.pk}/status/").json()
    assert (status["status"], status["total"], status["percent"], status["finished"]) == (
        "done",
        2,
        100,
        True,
    )
    page = owner_client.get(f"/imports/{job.pk}/").content.decode()
    assert "people.csv" in page and "import.js" in page
    listing = owner_client.get("/imports/").content.decode()
    assert "people.csv" in listing
    assert owner_client.post("/imports/", {"kind": "customers"}).status_code == 200


def test_import_task_is_routed_to_the_imports_queue():
    from cxm.celery import app

    route = app.amqp.router.route({}, "journeys.tasks.import_csv_file")
    assert route["queue"].name == "imports"
