"""The audit trail: what services record, the chain, append-only, the verifier, the page and the API."""

from __future__ import annotations

import threading
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, InternalError, ProgrammingError, connection, transaction

from cxm.audit.models import AppendOnly, AuditEvent
from cxm.audit.services import audit_chain_verify, audit_record
from cxm.tenancy.roles import Role
from cxm.tenancy.services import api_key_create, membership_set
from journeys import services as journeys_services
from surveys import services as surveys_services

pytestmark = pytest.mark.django_db


def _events(organization):
    return list(AuditEvent.objects.for_organization(organization).order_by("seq"))


def _raw(sql, params=()):
    """Tampering as someone with database access would: around the model and, on PostgreSQL, with
    the triggers switched off for this session (a superuser can; the verifier still notices)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = DEFAULT")


def test_services_record_who_what_and_the_values_before_and_after(organization):
    survey = surveys_services.survey_create(organization=organization, name="Checkout")
    question = surveys_services.question_create(survey=survey, kind="nps", text={"en": "Recommend?"})
    surveys_services.survey_update(survey=survey, name="Checkout NPS")
    surveys_services.survey_set_status(survey=survey, action="activate")
    surveys_services.question_delete(question=question)
    journey = journeys_services.journey_create(organization=organization, name="Buy")
    journeys_services.journey_delete(journey=journey)
    events = _events(organization)
    assert [e.action for e in events] == [
        "survey.create",
        "question.create",
        "survey.update",
        "survey.activate",
        "question.delete",
        "journey.create",
        "journey.delete",
    ]
    assert [e.seq for e in events] == list(range(1, 8))
    update = events[2]
    assert (update.object_type, update.object_id) == ("survey", str(survey.pk))
    assert update.before["name"] == "Checkout" and update.after["name"] == "Checkout NPS"
    assert set(update.before) == set(update.after) == {"name", "updated_at"}  # only what changed
    assert events[3].before == {"status": "draft"} and events[3].after == {"status": "active"}
    assert events[4].before["text"] == {"en": "Recommend?"} and events[4].after is None
    assert events[0].actor == "" and events[0].ip == ""  # no request: nobody named
    assert audit_chain_verify(organization_id=organization.pk).ok


def test_secrets_never_reach_the_trail(organization):
    key, plaintext = api_key_create(organization=organization, name="CRM")
    event = _events(organization)[-1]
    assert event.action == "api_key.create" and event.after["name"] == "CRM"
    assert "hashed_key" not in event.after and plaintext not in str(event.after)
    assert key.hashed_key not in str(event.after)


def test_roles_and_members(organization, make_member):
    owner = make_member(organization, Role.OWNER, email="boss@acme.test")
    analyst = make_member(organization, Role.VIEWER, email="ana@acme.test")
    membership_set(organization=organization, user=analyst, role=Role.ANALYST, actor_role=Role.OWNER)
    event = _events(organization)[-1]
    assert event.action == "member.role_change"
    assert event.before == {"role": "viewer"} and event.after == {"role": "analyst"}
    assert owner is not None


def test_the_settings_page_records_the_member_their_address_and_browser(owner_client, organization):
    response = owner_client.post(
        "/settings/",
        {
            "name": "Acme China",
            "time_zone": "Asia/Shanghai",
            "default_language": "zh-hans",
            "currency": "CNY",
            "survey_fatigue_days": 30,
            "activity_window_days": 90,
            "churn_window_days": 180,
            "new_customer_days": 30,
            "monetized_nps_days": 180,
            "at_risk_p_alive": 0.5,
        },
        REMOTE_ADDR="203.0.113.9",
        HTTP_USER_AGENT="Firefox/140",
    )
    assert response.status_code == 302
    event = _events(organization)[-1]
    assert event.action == "settings.update"
    assert event.actor == "owner@acme.test" and event.actor_user_id is not None
    assert (event.ip, event.user_agent) == ("203.0.113.9", "Firefox/140")
    assert event.before["name"] != "Acme China" and event.before["currency"] == "USD"
    assert event.after["name"] == "Acme China" and event.after["currency"] == "CNY"
    assert "widget_secret" not in event.after and "widget_secret" not in (event.before or {})


def test_the_page_lists_and_filters_in_both_languages(owner_client, organization):
    surveys_services.survey_create(organization=organization, name="Alpha")
    journeys_services.journey_create(organization=organization, name="Beta")
    page = owner_client.get("/settings/audit/").content.decode()
    assert "<code>survey.create</code>" in page and "<code>journey.create</code>" in page
    filtered = owner_client.get("/settings/audit/?object_type=journey").content.decode()
    assert "<code>journey.create</code>" in filtered and "<code>survey.create</code>" not in filtered
    chinese = owner_client.get("/settings/audit/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "审计日志" in chinese
    bad = owner_client.get("/settings/audit/?start=not-a-date")
    assert bad.status_code == 200 and "<code>survey.create</code>" in bad.content.decode()
    assert "Enter a valid date" in bad.content.decode()


def test_the_page_is_for_admins(client, organization, make_member):
    viewer = make_member(organization, Role.VIEWER)
    client.force_login(viewer)
    assert client.get("/settings/audit/").status_code == 403


def test_the_api_lists_filters_and_names_the_key(organization, api_client, other_api_client):
    surveys_services.survey_create(organization=organization, name="Alpha")
    created = api_client.post("/api/v1/journeys/", {"name": "Through the API"}, format="json")
    assert created.status_code == 201, created.content
    body = api_client.get("/api/v1/audit?action=journey.create").json()
    assert [e["action"] for e in body["results"]] == ["journey.create"]
    event = body["results"][0]
    assert event["api_key_prefix"] and event["after"]["name"] == "Through the API"
    assert event["actor"].startswith("API key")
    everything = api_client.get("/api/v1/audit").json()["results"]
    assert {e["action"] for e in everything} >= {"survey.create", "journey.create"}
    detail = api_client.get(f"/api/v1/audit/{event['id']}")
    assert detail.json()["hash"] == event["hash"]
    assert other_api_client.get(f"/api/v1/audit/{event['id']}").status_code == 404
    theirs = other_api_client.get("/api/v1/audit").json()["results"]
    assert [e["action"] for e in theirs] == ["api_key.create"]  # their own key, nothing of ours
    bad = api_client.get("/api/v1/audit?start=yesterday")
    assert bad.status_code == 400 and "start" in str(bad.json())
    assert api_client.post("/api/v1/audit", {}, format="json").status_code == 405


def test_rows_cannot_be_changed_or_deleted_through_the_model(organization):
    event = audit_record(organization=organization, action="a", object_type="t")
    event.action = "b"
    with pytest.raises(AppendOnly):
        event.save()
    with pytest.raises(AppendOnly):
        event.delete()
    with pytest.raises(AppendOnly):
        AuditEvent.objects.for_organization(organization).update(action="c")
    with pytest.raises(AppendOnly):
        AuditEvent.objects.for_organization(organization).delete()


def test_postgresql_refuses_update_and_delete(postgres, organization):
    event = audit_record(organization=organization, action="a", object_type="t")
    for sql in (
        "UPDATE audit_auditevent SET action = 'x' WHERE id = %s",
        "DELETE FROM audit_auditevent WHERE id = %s",
    ):
        with pytest.raises((InternalError, ProgrammingError, IntegrityError)) as refused:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(sql, [event.pk])
        assert "append-only" in str(refused.value)


def _verify(organization):
    out = StringIO()
    try:
        call_command("audit_verify", "--org", organization.slug, stdout=out)
    except CommandError as exc:
        return False, out.getvalue() + str(exc)
    return True, out.getvalue()


def test_the_verifier_finds_an_edited_row(organization):
    for n in range(4):
        audit_record(organization=organization, action="survey.update", object_type="survey", after={"n": n})
    ok, output = _verify(organization)
    assert ok and "4 audit events" in output
    second = _events(organization)[1]
    _raw("UPDATE audit_auditevent SET after = %s WHERE id = %s", ['{"n": 99}', second.pk])
    ok, output = _verify(organization)
    assert not ok and "row #2 was altered" in output and "#3" not in output


def test_the_verifier_finds_a_deleted_row_and_a_cut_tail(organization):
    for n in range(5):
        audit_record(organization=organization, action="survey.update", object_type="survey", after={"n": n})
    rows = _events(organization)
    _raw("DELETE FROM audit_auditevent WHERE id = %s", [rows[2].pk])
    ok, output = _verify(organization)
    assert not ok and "rows #3..#3 are missing" in output and "row #4 does not follow" in output
    _raw("DELETE FROM audit_auditevent WHERE id IN (%s, %s)", [rows[3].pk, rows[4].pk])
    report = audit_chain_verify(organization_id=organization.pk)
    assert any("head records #5" in p for p in report.problems)


def test_a_rewritten_chain_is_still_caught_by_its_head(organization):
    """Someone recomputing the hashes of the rows they edited must also forge the head row."""
    audit_record(organization=organization, action="a", object_type="t")
    _raw("DELETE FROM audit_auditevent WHERE organization_id = %s", [organization.pk])
    assert not audit_chain_verify(organization_id=organization.pk).ok


def test_organizations_have_chains_of_their_own(organization, other_organization):
    audit_record(organization=organization, action="a", object_type="t")
    audit_record(organization=other_organization, action="a", object_type="t")
    audit_record(organization=organization, action="b", object_type="t")
    assert [e.seq for e in _events(organization)] == [1, 2]
    assert [e.seq for e in _events(other_organization)] == [1]


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_never_fork_the_chain(postgres, organization):
    errors = []

    def write(n):
        try:
            for i in range(10):
                audit_record(
                    organization=organization.pk, action="t", object_type="t", after={"w": n, "i": i}
                )
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert [e.seq for e in _events(organization)] == list(range(1, 41))
    assert audit_chain_verify(organization_id=organization.pk).ok
