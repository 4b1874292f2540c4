"""Case pages: the queue (tabs, filters, bulk assignment), a case (customer, history, value; status,
outcome and notes forms), the alert rules (add, edit, test mode); both languages; roles; bad input is
a message, never an error page; another organization's case or rule is a 404."""

from __future__ import annotations

import pytest

from cxm.tenancy.roles import Role
from journeys.models import Customer
from loop import cases
from loop.models import AlertRule, Case, CaseNote
from metrics.models import CustomerValue
from tests.loop.case_fixtures import respond

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def case(organization, nps_survey, li, shop):
    CustomerValue.objects.create(
        organization=organization,
        customer=li,
        predicted_clv=12000.0,
        p_alive=0.5,
        value_tier="high",
        rfm_segment="champions",
    )
    cases.rule_create(
        organization=organization, name="Detractors", conditions={"score_kind": "nps", "score_max": 6}
    )
    respond(nps_survey, score=8, customer=li)
    response = respond(nps_survey, score=2, customer=li, comment="Parcel arrived broken", touchpoint=shop)
    cases.responses_evaluate(organization_id=organization.pk, response_ids=[response.pk])
    return Case.objects.for_organization(organization).get()


def test_the_queue_and_bulk_assignment(owner_client, organization, owner, case, make_member):
    page = owner_client.get("/cases/").content.decode()
    assert f'href="/cases/{case.pk}/"' in page and "Li Wei" in page and "6,000.00" in page
    assert "Cases" in page and 'aria-current="page">Cases' in page
    assert (
        "No cases in this queue." in owner_client.get("/cases/?queue=unassigned").content.decode()
        or case.assignee_id is None
    )
    colleague = make_member(organization, Role.ANALYST, "wang@acme.test")
    done = owner_client.post(
        "/cases/?queue=all", {"case_ids": [case.pk], "assignee": colleague.pk}, follow=True
    )
    assert done.status_code == 200 and "1 case(s) assigned." in done.content.decode()
    case.refresh_from_db()
    assert case.assignee_id == colleague.pk
    refused = owner_client.post("/cases/", {"assignee": colleague.pk})
    assert refused.status_code == 400 and "Tick the cases to assign." in refused.content.decode()
    odd = owner_client.get("/cases/?status=done&queue=nonsense")
    assert odd.status_code == 200 and "Some filters were not understood" in odd.content.decode()


def test_the_case_page_and_its_forms(owner_client, organization, owner, case, make_member):
    page = owner_client.get(f"/cases/{case.pk}/").content.decode()
    for expected in ("Li Wei", "Parcel arrived broken", "NPS 8", "NPS 2", "Champions", "Shop", "Add note"):
        assert expected in page, expected
    make_member(organization, Role.ANALYST, "wang@acme.test")
    owner_client.post(f"/cases/{case.pk}/note/", {"body": "Called her, @wang@acme.test please send a refund"})
    assert CaseNote.objects.for_organization(organization).get().mentioned_user_ids
    moved = owner_client.post(
        f"/cases/{case.pk}/status/",
        {"status": "in_progress", "priority": "high", "assignee": owner.pk},
        follow=True,
    )
    assert "Saved." in moved.content.decode()
    case.refresh_from_db()
    assert (case.status, case.priority, case.assignee_id) == ("in_progress", "high", owner.pk)
    bad = owner_client.post(
        f"/cases/{case.pk}/outcome/",
        {"outcome": "compensated", "compensation_amount": "", "root_cause": "delivery"},
        follow=True,
    )
    assert bad.status_code == 200 and "Give the amount of the compensation." in bad.content.decode()
    owner_client.post(
        f"/cases/{case.pk}/outcome/",
        {"outcome": "compensated", "compensation_amount": "50", "root_cause": "delivery"},
    )
    case.refresh_from_db()
    assert str(case.compensation_amount) == "50.00" and case.root_cause == "delivery"
    wrong = owner_client.post(
        f"/cases/{case.pk}/status/", {"status": "reopened", "priority": "high"}, follow=True
    )
    assert "cannot go from" in wrong.content.decode()
    assert owner_client.post(f"/cases/{case.pk}/note/", {"body": ""}, follow=True).status_code == 200
    assert owner_client.post(f"/cases/{case.pk}/whatever/", {}, follow=True).status_code == 200
    closed = owner_client.post(
        f"/cases/{case.pk}/status/", {"status": "closed", "priority": "high"}, follow=True
    )
    assert "Closed" in closed.content.decode()


def test_rules_pages_add_edit_and_test(owner_client, organization, nps_survey, li):
    respond(nps_survey, score=1, customer=li, comment="refund please")
    added = owner_client.post(
        "/cases/rules/",
        {
            "name": "Refunds",
            "is_active": "on",
            "score_kind": "nps",
            "score_max": "6",
            "keywords": "refund, 退款",
            "open_case": "on",
            "priority": "high",
        },
        follow=True,
    )
    assert added.status_code == 200 and "Rule added." in added.content.decode()
    rule = AlertRule.objects.for_organization(organization).get()
    assert rule.conditions == {"score_kind": "nps", "score_max": 6, "keywords": ["refund", "退款"]}
    tested = owner_client.get(f"/cases/rules/{rule.pk}/?test=1").content.decode()
    assert "1 response of the last 30 days would match" in tested and "refund please" in tested
    assert not Case.objects.for_organization(organization).exists()
    bad = owner_client.post(
        f"/cases/rules/{rule.pk}/", {"name": "Refunds", "score_max": "6", "priority": "high"}
    )
    assert bad.status_code == 400 and "A score band needs its score kind" in bad.content.decode()
    bad = owner_client.post("/cases/rules/", {"name": "", "priority": "whenever"})
    assert bad.status_code == 400 and "This field is required." in bad.content.decode()
    listing = owner_client.get("/cases/rules/").content.decode()
    assert "Refunds" in listing


def test_the_pages_in_chinese(owner_client, case):
    owner_client.post("/account/language/", {"language": "zh-hans", "next": "/cases/"})
    queue = owner_client.get("/cases/").content.decode()
    assert "我的工单" in queue and "风险收入" in queue
    detail = owner_client.get(f"/cases/{case.pk}/").content.decode()
    assert "内部备注" in detail
    rules = owner_client.get("/cases/rules/").content.decode()
    assert "告警规则" in rules


def test_roles_and_other_organizations(client, organization, other_organization, make_member, case, owner):
    client.force_login(owner)
    theirs = Case.objects.create(organization=other_organization)
    their_rule = AlertRule.objects.create(organization=other_organization, name="Theirs")
    assert client.get(f"/cases/{theirs.pk}/").status_code == 404
    assert client.post(f"/cases/{theirs.pk}/note/", {"body": "x"}).status_code == 404
    assert client.get(f"/cases/rules/{their_rule.pk}/").status_code == 404
    assert "Theirs" not in client.get("/cases/rules/").content.decode()
    viewer = make_member(organization, Role.VIEWER)
    client.force_login(viewer)
    assert client.get(f"/cases/{case.pk}/").status_code == 404  # not theirs
    cases.case_update(case=case, assignee=viewer)
    page = client.get(f"/cases/{case.pk}/").content.decode()
    assert "Parcel arrived broken" in page and "Add note" not in page
    assert (
        client.post(f"/cases/{case.pk}/status/", {"status": "closed", "priority": "normal"}).status_code
        == 403
    )
    assert client.post("/cases/rules/", {"name": "x", "priority": "low"}).status_code == 403
    case.refresh_from_db()
    assert case.status == "new"


def test_unknown_customer_and_anonymous_case(owner_client, organization, nps_survey):
    cases.rule_create(organization=organization, name="All", conditions={"score_kind": "nps", "score_max": 6})
    response = respond(nps_survey, score=0)
    cases.responses_evaluate(organization_id=organization.pk, response_ids=[response.pk])
    case = Case.objects.for_organization(organization).get()
    assert "Anonymous response" in owner_client.get(f"/cases/{case.pk}/").content.decode()
    assert Customer.objects.for_organization(organization).count() == 0


def test_the_sla_and_calendar_page(owner_client, organization, client, make_member):
    page = owner_client.get("/cases/settings/").content.decode()
    assert 'name="sla_urgent"' in page and "delivery" in page
    saved = owner_client.post(
        "/cases/settings/",
        {
            "sla_urgent": "2",
            "sla_high": "8",
            "sla_normal": "24",
            "sla_low": "72",
            "working_days": ["0", "1", "2", "3", "4", "5"],
            "work_start": "08:30",
            "work_end": "20:00",
            "holidays": "2026-10-01\n2026-10-02",
            "root_causes": "delivery\npricing",
        },
        follow=True,
    )
    assert "Case settings saved." in saved.content.decode()
    organization.refresh_from_db()
    stored = organization.settings["cases"]
    assert stored["sla_hours"]["urgent"] == 2 and stored["working_days"] == [0, 1, 2, 3, 4, 5]
    assert stored["holidays"] == ["2026-10-01", "2026-10-02"] and stored["root_causes"] == [
        "delivery",
        "pricing",
    ]
    bad = owner_client.post(
        "/cases/settings/",
        {
            "sla_urgent": "-1",
            "sla_high": "8",
            "sla_normal": "24",
            "sla_low": "72",
            "working_days": ["0"],
            "work_start": "18:00",
            "work_end": "09:00",
            "holidays": "someday",
            "root_causes": "x",
        },
    )
    text = bad.content.decode()
    assert bad.status_code == 400 and "Ensure this value is greater than or equal to 0.25." in text
    bad = owner_client.post(
        "/cases/settings/",
        {
            "sla_urgent": "1",
            "sla_high": "8",
            "sla_normal": "24",
            "sla_low": "72",
            "working_days": ["0"],
            "work_start": "09:00",
            "work_end": "18:00",
            "holidays": "someday",
            "root_causes": "x",
        },
    )
    assert bad.status_code == 400 and "Holidays are a list of dates (YYYY-MM-DD)." in bad.content.decode()
    organization.refresh_from_db()
    assert organization.settings["cases"]["root_causes"] == ["delivery", "pricing"]
    owner_client.post("/account/language/", {"language": "zh-hans", "next": "/cases/settings/"})
    assert "工作日" in owner_client.get("/cases/settings/").content.decode()
    client.force_login(make_member(organization, Role.ANALYST))
    assert client.get("/cases/settings/").status_code == 200
    assert client.post("/cases/settings/", {"sla_urgent": "1"}).status_code == 403


def test_the_queue_page_has_a_fixed_number_of_queries(owner_client, case, django_assert_max_num_queries):
    owner_client.get("/cases/")  # the session and the organization's first-use rows
    with django_assert_max_num_queries(20):
        assert owner_client.get("/cases/").status_code == 200
