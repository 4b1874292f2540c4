"""Sealed responses: an export carries a proof that no answer was altered or dropped since stored."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from openpyxl import load_workbook

from cxm.audit.models import AuditEvent, ResponseSeal
from cxm.audit.sealing import response_seals_verify
from journeys import services as journeys_services
from surveys.collection import write
from surveys.models import Answer, Response
from surveys.sealing import responses_seal_pending
from surveys.selectors import survey_snapshot
from surveys.tasks import seal_responses

pytestmark = pytest.mark.django_db
MOMENT = datetime(2026, 6, 30, 20, 0, tzinfo=UTC)


def _submit(survey, answers, key, **kwargs):
    snapshot = survey_snapshot(public_id=survey.public_id)
    return write.response_submit(
        snapshot=snapshot, answers=answers, idempotency_key=key, now=MOMENT, **kwargs
    )


@pytest.fixture(autouse=True)
def _settled_at_once(monkeypatch):
    monkeypatch.setattr("surveys.sealing.SEAL_SETTLE", timedelta(0))


@pytest.fixture
def three(nps_survey, questions):
    for n, score in enumerate((3, 8, 10)):
        _submit(nps_survey, {questions["score"]: score, questions["promoter"]: f"note {n}"}, f"k{n}")
    return list(Response.objects.unscoped().order_by("pk"))


def _export_headers(client):
    response = client.get("/surveys/responses/export.csv?proof=1")
    assert response.status_code == 200
    b"".join(response.streaming_content)
    return response


def _raw(sql, params):
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = DEFAULT")


def test_submitting_seals_nothing_the_batch_seals_in_storage_order(organization, three):
    assert ResponseSeal.objects.for_organization(organization).count() == 0  # not on the submit path
    assert seal_responses() == {organization.pk: 3}
    seals = list(ResponseSeal.objects.for_organization(organization).order_by("seq"))
    assert [s.response_id for s in seals] == [r.pk for r in three]
    assert [s.seq for s in seals] == [1, 2, 3] and seals[1].prev_hash == seals[0].hash
    assert seal_responses() == {}  # idempotent
    report = response_seals_verify(organization_id=organization.pk)
    assert report.ok and report.checked == 3 and report.head_hash == seals[-1].hash


def test_an_intact_export_carries_the_proof_and_is_audited(owner_client, organization, three):
    response = _export_headers(owner_client)
    assert response["X-Responses-Intact"] == "true"
    assert response["X-Responses-Sealed"] == "3" and response["X-Responses-Chain-Length"] == "3"
    head = ResponseSeal.objects.for_organization(organization).order_by("-seq").first()
    assert response["X-Responses-Chain-Head"] == head.hash
    event = AuditEvent.objects.for_organization(organization).filter(action="responses.export").get()
    assert event.actor == "owner@acme.test" and event.after["format"] == "csv"
    assert event.after["proof"]["intact"] is True


def test_the_xlsx_export_has_a_proof_sheet(owner_client, organization, three):
    response = owner_client.get("/surveys/responses/export.xlsx?proof=1")
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    proof = {row[0]: row[1] for row in workbook["proof"].iter_rows(values_only=True)}
    assert proof["intact"] is True and proof["sealed_responses"] == 3
    assert proof["altered_response_ids"] == "[]"


def test_an_altered_answer_and_a_dropped_response_show_in_the_proof(owner_client, organization, three):
    seal_responses()
    Answer.objects.for_organization(organization).filter(response=three[0], number__isnull=False).update(
        number=10
    )
    Response.objects.for_organization(organization).filter(pk=three[2].pk).delete()
    response = _export_headers(owner_client)
    assert response["X-Responses-Intact"] == "false"
    report = response_seals_verify(organization_id=organization.pk)
    assert report.altered == [three[0].pk] and report.dropped == [three[2].pk]
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("audit_verify", "--org", organization.slug, stdout=out)
    assert f"{three[0].pk} altered" in out.getvalue() and f"{three[2].pk} dropped" in out.getvalue()


def test_a_removed_seal_breaks_the_chain(organization, three):
    seal_responses()
    middle = ResponseSeal.objects.for_organization(organization).get(seq=2)
    _raw("DELETE FROM audit_responseseal WHERE id = %s", [middle.pk])
    report = response_seals_verify(organization_id=organization.pk)
    assert "seals #2..#2 are missing" in report.problems


def test_an_erasure_reseals_what_it_scrubbed(
    organization, nps_survey, questions, customer, django_capture_on_commit_callbacks
):
    _submit(nps_survey, {questions["score"]: 2, questions["detractor"]: "slow"}, "e1", customer=customer)
    responses_seal_pending(organization_id=organization.pk, full=True)
    with django_capture_on_commit_callbacks(execute=True):
        journeys_services.customer_erase(customer=customer)
    assert Response.objects.for_organization(organization).get().comment == ""
    seals = list(ResponseSeal.objects.for_organization(organization).order_by("seq"))
    assert [s.reason for s in seals] == ["stored", "erased"]
    report = response_seals_verify(organization_id=organization.pk)
    assert report.ok, report.as_metadata()
    erase = AuditEvent.objects.for_organization(organization).filter(action="customer.erase").get()
    assert "li@example.com" not in str(erase.after) and "Li Wei" not in str(erase.after)


def test_a_response_still_being_answered_waits(
    owner_client, organization, nps_survey, questions, monkeypatch
):
    monkeypatch.setattr("surveys.sealing.SEAL_SETTLE", timedelta(minutes=15))
    _submit(nps_survey, {questions["score"]: 9}, "fresh")
    assert seal_responses() == {}
    response = _export_headers(owner_client)
    assert response["X-Responses-Sealed"] == "0" and response["X-Responses-Unsealed-Recent"] == "1"
