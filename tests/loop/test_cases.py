"""Cases: the due time in business hours across a weekend and a holiday, assignment (touchpoint owner,
round-robin), status transitions, notes with @mentions, the call-back outcome, escalation when overdue
(once), the follow-up survey after closing and its answer linked back, the webhooks of a case."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from cxm.tenancy.roles import Role
from loop import calendar, cases
from loop.models import Case, CaseStatus, Team, WebhookDelivery
from surveys.models import Invitation
from tests.loop.case_fixtures import respond

pytestmark = pytest.mark.django_db(transaction=True)

FRIDAY_4PM_SHANGHAI = datetime(2026, 6, 12, 8, 0, tzinfo=UTC)  # 16:00 in Asia/Shanghai


@pytest.fixture
def shanghai(organization):
    organization.time_zone = "Asia/Shanghai"
    organization.save()
    cases.case_settings_update(organization=organization, data={"holidays": ["2026-06-15"]})
    return organization


def test_the_due_time_skips_the_weekend_and_a_holiday(shanghai):
    work = calendar.work_calendar(organization=shanghai)
    # High: 8 business hours. Friday 16:00–18:00 is 2; Saturday, Sunday and Monday (a holiday) are
    # not counted; Tuesday 09:00 + 6 hours is 15:00 in Shanghai, 07:00 UTC.
    due = calendar.business_deadline(start=FRIDAY_4PM_SHANGHAI, hours=8, calendar=work)
    assert due == datetime(2026, 6, 16, 7, 0, tzinfo=UTC)
    # Without the holiday it is Monday.
    plain = calendar.WorkCalendar(work.tz, work.working_days, work.start, work.end, frozenset())
    assert calendar.business_deadline(start=FRIDAY_4PM_SHANGHAI, hours=8, calendar=plain) == datetime(
        2026, 6, 15, 7, 0, tzinfo=UTC
    )
    # Started on a Saturday night: counted from Tuesday's opening (Monday is the holiday).
    saturday = datetime(2026, 6, 13, 14, 0, tzinfo=UTC)
    assert calendar.business_deadline(start=saturday, hours=4, calendar=work) == datetime(
        2026, 6, 16, 5, 0, tzinfo=UTC
    )


@pytest.mark.now(FRIDAY_4PM_SHANGHAI)
def test_a_case_is_due_by_its_priority_sla(shanghai, nps_survey, li, clock):
    clock.freeze()
    clock.set(FRIDAY_4PM_SHANGHAI)
    rule = cases.rule_create(
        organization=shanghai,
        name="Urgent",
        conditions={"score_max": 3, "score_kind": "nps"},
        priority="urgent",
    )
    response = respond(nps_survey, score=1, customer=li)
    cases.responses_evaluate(organization_id=shanghai.pk, response_ids=[response.pk])
    case = Case.objects.for_organization(shanghai).get()
    assert case.rule_id == rule.pk and case.priority == "urgent"
    # Urgent: 4 business hours: Friday 2, then Tuesday 09:00 + 2 = 11:00 Shanghai.
    assert case.due_at == datetime(2026, 6, 16, 3, 0, tzinfo=UTC)
    # A change of priority moves the due time (low: 72 business hours = 8 working days of 9 hours).
    cases.case_update(case=case, priority="low")
    assert case.due_at > datetime(2026, 6, 24, tzinfo=UTC)


def test_case_settings_are_validated(organization):
    for bad in (
        {"sla_hours": {"urgent": -1}},
        {"sla_hours": {"whenever": 3}},
        {"working_days": [7]},
        {"work_start": "25:00"},
        {"holidays": ["next friday"]},
        {"root_causes": []},
        {"colour": "red"},
    ):
        with pytest.raises(ValidationError):
            cases.case_settings_update(organization=organization, data=bad)
    found = cases.case_settings_update(organization=organization, data={"sla_hours": {"urgent": 2}})
    assert found["sla_hours"]["urgent"] == 2 and found["sla_hours"]["low"] == 72


def test_the_touchpoint_owner_is_the_default_assignee(
    organization, owner, nps_survey, li, shop, notifications
):
    cases.rule_create(organization=organization, name="r", conditions={"score_kind": "nps", "score_max": 6})
    response = respond(nps_survey, score=4, customer=li, touchpoint=shop)
    cases.responses_evaluate(organization_id=organization.pk, response_ids=[response.pk])
    case = Case.objects.for_organization(organization).get()
    assert case.assignee_id == owner.pk and case.touchpoint_id == shop.pk
    [created] = notifications
    assert created["kind"] == "case.created" and created["user_ids"] == [owner.pk]
    assert created["facts"]["case_id"] == case.pk and created["facts"]["customer_label"] == "Li Wei"


def test_round_robin_over_a_team(organization, make_member, nps_survey):
    from journeys.models import Customer

    a, b = make_member(organization, Role.ANALYST), make_member(organization, Role.ANALYST)
    team = Team.objects.create(organization=organization, name="Care")
    team.members.set([a, b])
    cases.rule_create(
        organization=organization, name="r", conditions={"score_kind": "nps", "score_max": 6}, team=team
    )
    people = [Customer.objects.create(organization=organization, external_id=f"R{i}") for i in range(3)]
    responses = [respond(nps_survey, score=2, customer=c) for c in people]
    cases.responses_evaluate(organization_id=organization.pk, response_ids=[r.pk for r in responses])
    assigned = list(
        Case.objects.for_organization(organization).order_by("pk").values_list("assignee_id", flat=True)
    )
    assert assigned == [a.pk, b.pk, a.pk]


def _case(organization, survey, customer, **rule_fields):
    cases.rule_create(
        organization=organization, name="r", conditions={"score_kind": "nps", "score_max": 6}, **rule_fields
    )
    response = respond(survey, score=2, customer=customer)
    cases.responses_evaluate(organization_id=organization.pk, response_ids=[response.pk])
    return Case.objects.for_organization(organization).get()


def test_status_transitions_and_the_outcome(organization, owner, nps_survey, li):
    case = _case(organization, nps_survey, li)
    with pytest.raises(ValidationError) as refused:
        cases.case_update(case=case, status=CaseStatus.REOPENED)
    assert "status" in refused.value.message_dict
    cases.case_update(case=case, actor=owner, status=CaseStatus.IN_PROGRESS)
    assert case.first_action_at is not None
    with pytest.raises(ValidationError) as refused:
        cases.case_update(case=case, outcome="compensated")
    assert "compensation_amount" in refused.value.message_dict
    with pytest.raises(ValidationError):
        cases.case_update(case=case, root_cause="astrology")
    cases.case_update(
        case=case, outcome="compensated", compensation_amount=Decimal("120.50"), root_cause="delivery"
    )
    case.refresh_from_db()
    assert (
        case.compensation_amount == Decimal("120.50") and case.compensation_currency == organization.currency
    )
    cases.case_update(case=case, status=CaseStatus.RESOLVED)
    cases.case_update(case=case, status=CaseStatus.CLOSED)
    assert case.closed_at is not None
    cases.case_update(case=case, status=CaseStatus.REOPENED)
    assert case.closed_at is None and case.is_open


def test_a_note_mentions_members(organization, owner, make_member, nps_survey, li, notifications):
    case = _case(organization, nps_survey, li)
    colleague = make_member(organization, Role.ANALYST, "wang@acme.test")
    outsider_email = "nobody@elsewhere.test"
    note = cases.case_note_create(
        case=case,
        author=owner,
        body=f"@wang@acme.test please call back; cc @{outsider_email} @owner@acme.test",
    )
    assert note.mentioned_user_ids == [colleague.pk, owner.pk]
    [mentioned] = [n for n in notifications if n["kind"] == "case.mentioned"]
    assert mentioned["user_ids"] == [colleague.pk]  # the author is not told of their own mention
    assert "please call back" in mentioned["facts"]["note_excerpt"]
    with pytest.raises(ValidationError):
        cases.case_note_create(case=case, author=owner, body="   ")


def test_an_overdue_case_escalates_to_the_team_lead_once(
    organization, make_member, nps_survey, li, notifications, clock
):
    agent, lead = make_member(organization, Role.ANALYST), make_member(organization, Role.ANALYST)
    team = Team.objects.create(organization=organization, name="Care", lead=lead)
    team.members.set([agent])
    case = _case(organization, nps_survey, li, team=team, priority="urgent")
    assert case.assignee_id == agent.pk
    assert cases.cases_escalate_overdue() == 0  # not due yet
    clock.set(case.due_at + timedelta(minutes=1))
    assert cases.cases_escalate_overdue() == 1
    assert cases.cases_escalate_overdue() == 0  # once
    case.refresh_from_db()
    assert case.escalated_to_id == lead.pk and case.escalated_at is not None
    [escalated] = [n for n in notifications if n["kind"] == "case.escalated"]
    assert sorted(escalated["user_ids"]) == sorted([agent.pk, lead.pk])
    # A closed case is never escalated.
    cases.case_update(case=case, status=CaseStatus.CLOSED)


def test_without_a_team_an_overdue_case_goes_to_an_owner(
    organization, owner, make_member, nps_survey, li, clock
):
    agent = make_member(organization, Role.ANALYST)
    case = _case(organization, nps_survey, li)
    cases.case_update(case=case, assignee=agent)
    clock.set(case.due_at + timedelta(hours=1))
    cases.cases_escalate_overdue()
    case.refresh_from_db()
    assert case.escalated_to_id == owner.pk


def test_closing_asks_the_follow_up_survey_and_links_its_answer(
    organization, owner, nps_survey, li, notifications, django_capture_on_commit_callbacks
):
    case = _case(organization, nps_survey, li, send_follow_up=True)
    with django_capture_on_commit_callbacks(execute=True):
        cases.case_update(case=case, actor=owner, status=CaseStatus.CLOSED)
    case.refresh_from_db()
    invitation = Invitation.objects.for_organization(organization).get()
    assert case.follow_up_invitation_id == invitation.pk
    assert invitation.customer_id == li.pk and invitation.survey.name == cases.FOLLOW_UP_SURVEY_NAME
    question = invitation.survey.questions.get()
    assert question.text["en"] == "Did we solve your problem?"
    assert [m.to for m in mail.outbox] == [["li@example.com"]]
    # The customer answers: the answer is linked to the case and opens no new case.
    from surveys.collection.write import response_submit
    from surveys.selectors import survey_snapshot

    snapshot = survey_snapshot(public_id=invitation.survey.public_id)
    with django_capture_on_commit_callbacks(execute=True):
        result = response_submit(
            snapshot=snapshot, answers={str(question.pk): "no"}, customer=li, invitation=invitation
        )
    case.refresh_from_db()
    assert case.follow_up_response_id == result.response_id
    assert Case.objects.for_organization(organization).count() == 1
    assert "case.closed" in [n["kind"] for n in notifications]


def test_a_case_sends_its_webhooks(
    organization,
    owner,
    api_client,
    receiver,
    allow_loopback,
    nps_survey,
    li,
    django_capture_on_commit_callbacks,
):
    api_client.post(
        "/api/v1/webhooks/",
        {"url": receiver.url, "events": ["case.created", "case.updated", "case.closed", "alert.matched"]},
        format="json",
    )
    with django_capture_on_commit_callbacks(execute=True):
        case = _case(organization, nps_survey, li, call_webhook=True)
    with django_capture_on_commit_callbacks(execute=True):
        cases.case_update(case=case, actor=owner, status=CaseStatus.IN_PROGRESS)
    with django_capture_on_commit_callbacks(execute=True):
        cases.case_update(case=case, actor=owner, status=CaseStatus.CLOSED)
    kinds = list(
        WebhookDelivery.objects.for_organization(organization)
        .order_by("pk")
        .values_list("event_type", flat=True)
    )
    assert sorted(kinds) == sorted(["alert.matched", "case.created", "case.updated", "case.closed"])
    closed = WebhookDelivery.objects.for_organization(organization).get(event_type="case.closed")
    assert closed.payload["data"]["status"] == "closed" and closed.payload["data"]["id"] == case.pk
