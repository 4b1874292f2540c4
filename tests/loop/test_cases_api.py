"""The API of alert rules (CRUD and test mode), teams, cases (queues, filters, ordering by revenue at
risk, updates, notes, bulk assignment) and case settings: values, roles, bad input, other
organizations."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from cxm.tenancy.roles import Role
from journeys.models import Customer
from loop import cases
from loop.models import AlertRule, Case, CaseNote, Team
from metrics.models import CustomerValue
from tests.loop.case_fixtures import respond

pytestmark = pytest.mark.django_db(transaction=True)


def _session(user):
    client = APIClient()
    client.force_login(user)
    return client


def _error(response, status=400):
    assert response.status_code == status, response.content
    body = response.json()["error"]
    assert body["status"] == status and body["message"]
    return body


@pytest.fixture
def detractor_cases(organization, nps_survey):
    """Three open cases: a detractor worth 50,000 with P(alive) 0.9 (risk 5,000), one worth 8,000
    without P(alive) (a detractor: risk 8,000), one without a predicted value (0)."""
    cases.rule_create(
        organization=organization, name="Detractors", conditions={"score_kind": "nps", "score_max": 6}
    )
    made = []
    for external_id, clv, p_alive in (("rich", 50000.0, 0.9), ("mid", 8000.0, None), ("none", None, None)):
        customer = Customer.objects.create(
            organization=organization, external_id=external_id, name=external_id
        )
        if clv is not None:
            CustomerValue.objects.create(
                organization=organization, customer=customer, predicted_clv=clv, p_alive=p_alive
            )
        response = respond(nps_survey, score=2, customer=customer)
        cases.responses_evaluate(organization_id=organization.pk, response_ids=[response.pk])
        made.append(Case.objects.for_organization(organization).get(customer=customer))
    return made


def test_rules_crud_and_bad_input(api_client, organization, owner):
    created = api_client.post(
        "/api/v1/alert-rules/",
        {
            "name": "Big detractors",
            "conditions": {"score_kind": "nps", "score_max": 6, "min_predicted_value": "1000"},
            "priority": "high",
            "notify_users": [owner.pk],
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    rule = created.json()
    assert rule["conditions"] == {"score_kind": "nps", "score_max": 6, "min_predicted_value": "1000.00"}
    assert rule["notify_users"] == [owner.pk] and rule["priority"] == "high"
    changed = api_client.patch(f"/api/v1/alert-rules/{rule['id']}/", {"is_active": False}, format="json")
    assert changed.status_code == 200 and changed.json()["is_active"] is False
    assert [r["name"] for r in api_client.get("/api/v1/alert-rules/").json()["results"]] == ["Big detractors"]
    error = _error(
        api_client.post("/api/v1/alert-rules/", {"name": "x", "conditions": {"score_max": 60}}, format="json")
    )
    assert "score_max" in error["fields"]
    error = _error(
        api_client.post("/api/v1/alert-rules/", {"name": "x", "conditions": "NPS<7"}, format="json")
    )
    assert "conditions" in error["fields"]
    error = _error(api_client.post("/api/v1/alert-rules/", {"name": "x", "priority": "asap"}, format="json"))
    assert "priority" in error["fields"]
    assert AlertRule.objects.for_organization(organization).count() == 1
    assert api_client.delete(f"/api/v1/alert-rules/{rule['id']}/").status_code == 204


def test_notifying_someone_of_another_organization_is_refused(api_client, other_organization, make_member):
    stranger = make_member(other_organization, Role.OWNER)
    error = _error(
        api_client.post("/api/v1/alert-rules/", {"name": "x", "notify_users": [stranger.pk]}, format="json")
    )
    assert "notify_users" in error["fields"]


def test_the_test_action(api_client, organization, nps_survey, li):
    now = timezone.now()
    hit = respond(nps_survey, score=3, customer=li, comment="rude staff", at=now - timedelta(days=1))
    respond(nps_survey, score=3, customer=li, comment="fine", at=now - timedelta(days=2))
    rule = api_client.post(
        "/api/v1/alert-rules/", {"name": "Rude", "conditions": {"keywords": ["rude"]}}, format="json"
    ).json()
    tested = api_client.post(f"/api/v1/alert-rules/{rule['id']}/test/")
    assert tested.status_code == 200
    body = tested.json()
    assert body["match_count"] == 1 and body["matches"][0]["id"] == hit.pk and body["days"] == 30
    assert not Case.objects.for_organization(organization).exists()


def test_teams(api_client, organization, make_member, other_organization):
    a = make_member(organization, Role.ANALYST)
    made = api_client.post(
        "/api/v1/case-teams/", {"name": "Care", "members": [a.pk], "lead": a.pk}, format="json"
    )
    assert made.status_code == 201 and made.json()["members"] == [a.pk]
    stranger = make_member(other_organization, Role.OWNER)
    error = _error(
        api_client.post("/api/v1/case-teams/", {"name": "Bad", "members": [stranger.pk]}, format="json")
    )
    assert "members" in error["fields"]
    assert Team.objects.for_organization(organization).count() == 1


def test_the_queue_is_ordered_by_revenue_at_risk(api_client, detractor_cases):
    rich, mid, none = detractor_cases
    listed = api_client.get("/api/v1/cases/").json()["results"]
    assert [c["id"] for c in listed] == [mid.pk, rich.pk, none.pk]
    assert [c["revenue_at_risk"] for c in listed] == [8000.0, 5000.0, 0.0]
    by_age = api_client.get("/api/v1/cases/?ordering=age").json()["results"]
    assert [c["id"] for c in by_age] == [rich.pk, mid.pk, none.pk]


def test_queues_and_filters(clock, organization, make_member, detractor_cases):
    rich, mid, none = detractor_cases
    agent = make_member(organization, Role.ANALYST)
    colleague = make_member(organization, Role.ANALYST)
    team = Team.objects.create(organization=organization, name="Care")
    team.members.set([agent, colleague])
    cases.case_update(case=rich, assignee=agent)
    cases.case_update(case=mid, assignee=colleague, priority="urgent")
    client = _session(agent)

    def ids(query):
        answer = client.get(f"/api/v1/cases/{query}")
        assert answer.status_code == 200, answer.content
        return sorted(c["id"] for c in answer.json()["results"])

    assert ids("?queue=mine") == [rich.pk]
    assert ids("?queue=team") == sorted([rich.pk, mid.pk])
    assert ids("?queue=unassigned") == [none.pk]
    assert ids("?priority=urgent") == [mid.pk]
    assert ids(f"?assignee={colleague.pk}") == [mid.pk]
    assert ids("?queue=overdue") == []
    clock.set(timezone.now() + timedelta(days=10))
    assert ids("?queue=overdue") == sorted(c.pk for c in detractor_cases)
    cases.case_update(case=none, status="closed")
    assert ids("?queue=overdue") == sorted([rich.pk, mid.pk]) and ids("?status=closed") == [none.pk]
    for bad in ("?queue=everything", "?status=done", "?priority=9", "?touchpoint=x", "?ordering=name"):
        _error(client.get(f"/api/v1/cases/{bad}"))


def test_updating_a_case(api_client, organization, owner, detractor_cases, other_organization, make_member):
    case = detractor_cases[0]
    client = _session(owner)
    moved = client.patch(
        f"/api/v1/cases/{case.pk}/", {"status": "in_progress", "assignee": owner.pk}, format="json"
    )
    assert moved.status_code == 200, moved.content
    assert moved.json()["status"] == "in_progress" and moved.json()["assignee"] == owner.pk
    error = _error(client.patch(f"/api/v1/cases/{case.pk}/", {"status": "reopened"}, format="json"))
    assert "status" in error["fields"]
    error = _error(client.patch(f"/api/v1/cases/{case.pk}/", {"outcome": "compensated"}, format="json"))
    assert "compensation_amount" in error["fields"]
    done = client.patch(
        f"/api/v1/cases/{case.pk}/",
        {"outcome": "compensated", "compensation_amount": "88.80", "root_cause": "delivery"},
        format="json",
    )
    assert done.json()["compensation_amount"] == "88.80" and done.json()["compensation_currency"] == "USD"
    stranger = make_member(other_organization, Role.OWNER)
    error = _error(client.patch(f"/api/v1/cases/{case.pk}/", {"assignee": stranger.pk}, format="json"))
    assert "assignee" in error["fields"]
    _error(client.patch(f"/api/v1/cases/{case.pk}/", {"status": "done"}, format="json"))
    _error(client.patch(f"/api/v1/cases/{case.pk}/", {}, format="json"))
    _error(client.patch(f"/api/v1/cases/{case.pk}/", {"compensation_amount": "-5"}, format="json"))
    assert client.put(f"/api/v1/cases/{case.pk}/", {"status": "closed"}, format="json").status_code == 405
    closed = client.patch(f"/api/v1/cases/{case.pk}/", {"status": "closed"}, format="json")
    assert closed.json()["status"] == "closed" and closed.json()["closed_at"]


def test_notes(owner, detractor_cases, notifications, make_member, organization):
    case = detractor_cases[0]
    colleague = make_member(organization, Role.ANALYST, "wang@acme.test")
    client = _session(owner)
    added = client.post(
        f"/api/v1/cases/{case.pk}/notes/", {"body": "Called, @wang@acme.test follow up"}, format="json"
    )
    assert added.status_code == 201, added.content
    assert added.json()["mentioned_user_ids"] == [colleague.pk] and added.json()["author"] == owner.pk
    listed = client.get(f"/api/v1/cases/{case.pk}/notes/").json()
    assert [n["body"] for n in listed] == ["Called, @wang@acme.test follow up"]
    error = _error(client.post(f"/api/v1/cases/{case.pk}/notes/", {"body": " "}, format="json"))
    assert "body" in error["fields"]
    _error(client.post(f"/api/v1/cases/{case.pk}/notes/", {}, format="json"))
    assert [n["kind"] for n in notifications if n["kind"] == "case.mentioned"] == ["case.mentioned"]


def test_bulk_assign(
    api_client, organization, make_member, detractor_cases, other_organization, notifications
):
    agent = make_member(organization, Role.ANALYST)
    ids = [c.pk for c in detractor_cases[:2]]
    done = api_client.post(
        "/api/v1/cases/bulk-assign/", {"case_ids": ids, "assignee": agent.pk}, format="json"
    )
    assert done.status_code == 200, done.content
    assert {c["assignee"] for c in done.json()} == {agent.pk}
    assert set(
        Case.objects.for_organization(organization).filter(assignee=agent).values_list("pk", flat=True)
    ) == set(ids)
    assert [n["user_ids"] for n in notifications if n["kind"] == "case.assigned"] == [[agent.pk], [agent.pk]]
    theirs = Case.objects.create(organization=other_organization)
    error = _error(
        api_client.post(
            "/api/v1/cases/bulk-assign/",
            {"case_ids": [ids[0], theirs.pk], "assignee": agent.pk},
            format="json",
        )
    )
    assert "case_ids" in error["fields"]
    _error(
        api_client.post("/api/v1/cases/bulk-assign/", {"case_ids": [], "assignee": agent.pk}, format="json")
    )
    _error(api_client.post("/api/v1/cases/bulk-assign/", {"case_ids": ids}, format="json"))


def test_roles_a_viewer_sees_their_cases_and_cannot_close(
    organization, make_member, detractor_cases, read_only_api_client
):
    rich, mid, _none = detractor_cases
    viewer = make_member(organization, Role.VIEWER)
    cases.case_update(case=rich, assignee=viewer)
    client = _session(viewer)
    assert [c["id"] for c in client.get("/api/v1/cases/").json()["results"]] == [rich.pk]
    assert client.get(f"/api/v1/cases/{rich.pk}/").status_code == 200
    assert client.get(f"/api/v1/cases/{mid.pk}/").status_code == 404
    refused = client.patch(f"/api/v1/cases/{rich.pk}/", {"status": "closed"}, format="json")
    assert refused.status_code == 403
    assert client.post(f"/api/v1/cases/{rich.pk}/notes/", {"body": "hi"}, format="json").status_code == 403
    assert Case.objects.for_organization(organization).get(pk=rich.pk).status == "new"
    assert not CaseNote.objects.for_organization(organization).exists()
    # An analyst sees every case; a read-only key reads but cannot change.
    analyst = _session(make_member(organization, Role.ANALYST))
    assert len(analyst.get("/api/v1/cases/").json()["results"]) == 3
    assert read_only_api_client.get("/api/v1/cases/").status_code == 200
    assert (
        read_only_api_client.patch(
            f"/api/v1/cases/{rich.pk}/", {"status": "closed"}, format="json"
        ).status_code
        == 403
    )
    assert client.post("/api/v1/alert-rules/", {"name": "x"}, format="json").status_code == 403


def test_another_organization_sees_none_of_it(other_api_client, detractor_cases):
    assert other_api_client.get("/api/v1/cases/").json()["results"] == []
    assert other_api_client.get("/api/v1/alert-rules/").json()["results"] == []
    case = detractor_cases[0]
    assert other_api_client.get(f"/api/v1/cases/{case.pk}/notes/").status_code == 404
    other = other_api_client.post(
        "/api/v1/cases/bulk-assign/", {"case_ids": [case.pk], "assignee": None}, format="json"
    )
    assert other.status_code == 400


def test_the_list_has_a_fixed_number_of_queries(api_client, detractor_cases, django_assert_max_num_queries):
    with django_assert_max_num_queries(12):
        assert len(api_client.get("/api/v1/cases/").json()["results"]) == 3


def test_case_settings(api_client, organization, owner, make_member):
    assert api_client.get("/api/v1/case-settings/").json()["sla_hours"]["urgent"] == 4
    client = _session(owner)
    changed = client.patch(
        "/api/v1/case-settings/", {"sla_hours": {"urgent": 2}, "holidays": ["2026-10-01"]}, format="json"
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["sla_hours"]["urgent"] == 2 and changed.json()["holidays"] == ["2026-10-01"]
    error = _error(client.patch("/api/v1/case-settings/", {"working_days": [9]}, format="json"))
    assert "working_days" in error["fields"]
    _error(client.patch("/api/v1/case-settings/", ["x"], format="json"))
    analyst = _session(make_member(organization, Role.ANALYST))
    assert analyst.patch("/api/v1/case-settings/", {"holidays": []}, format="json").status_code == 403


def test_odd_input_is_a_clear_400(api_client, detractor_cases):
    error = _error(
        api_client.post(
            "/api/v1/alert-rules/", {"name": "x", "conditions": {"score_kind": {"a": 1}}}, format="json"
        )
    )
    assert "score_kind" in error["fields"]
    assert api_client.post("/api/v1/case-teams/", {"name": "Care"}, format="json").status_code == 201
    error = _error(api_client.post("/api/v1/case-teams/", {"name": "Care"}, format="json"))
    assert "name" in error["fields"]
    error = _error(api_client.get("/api/v1/cases/?page=99"))
    assert "page" in error["fields"]
