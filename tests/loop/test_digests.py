"""Digest emails on constructed responses with a pinned clock: the periods in the organization's time
zone, new detractors, the NPS with its adjusted-Wald interval and the change against the period
before, opt-in, the local send hour, once per member and period, and both languages."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail

from cxm.tenancy.models import UserPreference
from cxm.tenancy.roles import Role
from loop.models import DigestSent, NotificationPreference
from loop.notifications import digests
from tests.journeys.factories import CustomerFactory
from tests.surveys.factories import ResponseFactory, SurveyFactory

pytestmark = pytest.mark.django_db

# Tuesday 16 June 2026, 08:30 in Shanghai: yesterday was Monday 15 June; last week, 8 to 14 June.
TUESDAY_MORNING = datetime(2026, 6, 16, 0, 30, tzinfo=UTC)


def _answers(survey, scores, at, comment="", customer=None):
    for score in scores:
        ResponseFactory(
            survey=survey, score_kind="nps", score=score, submitted_at=at, comment=comment, customer=customer
        )


@pytest.fixture
def shanghai(organization):
    organization.time_zone = "Asia/Shanghai"
    organization.save()
    survey = SurveyFactory(organization=organization, name="After delivery")
    # Last week (8–14 June local): 20 promoters, 10 passives, 10 detractors: NPS 25.
    _answers(survey, [10] * 20 + [8] * 10 + [3] * 9, datetime(2026, 6, 10, 4, 0, tzinfo=UTC))
    _answers(survey, [0], datetime(2026, 6, 14, 15, 30, tzinfo=UTC), "Late on Sunday night")  # 23:30 local
    # The week before (1–7 June): 10 promoters, 10 passives, 20 detractors: NPS -25.
    _answers(survey, [10] * 10 + [8] * 10 + [2] * 20, datetime(2026, 6, 3, 4, 0, tzinfo=UTC))
    # Yesterday, Monday 15 June local: two detractors and a promoter.
    _answers(survey, [5], datetime(2026, 6, 14, 16, 30, tzinfo=UTC), "Rude on the phone")  # 00:30 local
    li_wei = CustomerFactory(organization=organization, external_id="C-88", name="Li Wei")
    _answers(survey, [1], datetime(2026, 6, 15, 10, 0, tzinfo=UTC), "Refund still missing", li_wei)
    _answers(survey, [9], datetime(2026, 6, 15, 9, 0, tzinfo=UTC))
    # Today (Tuesday local): in no finished period.
    _answers(survey, [0], datetime(2026, 6, 15, 16, 30, tzinfo=UTC), "Not yet in a digest")
    return organization


def _opt_in(organization, user, daily=False, weekly=False):
    NotificationPreference.objects.create(
        organization=organization, user=user, digest_daily=daily, digest_weekly=weekly
    )


def _send_due():
    for organization_id, user_id, kind, start in digests.digests_due():
        digests.digest_send(organization_id=organization_id, user_id=user_id, kind=kind, period_start=start)


def _adjusted_wald(promoters, detractors, n):
    # METRICS.md, written out here to check the digest's figures by hand.
    n_adj = n + 3
    p, d = (promoters + 0.75) / n_adj, (detractors + 0.75) / n_adj
    half = 1.96 * math.sqrt((p + d - (p - d) ** 2) / n_adj)
    return 100 * (p - d - half), 100 * (p - d + half)


@pytest.mark.now(TUESDAY_MORNING)
def test_periods_are_local_days_and_weeks(shanghai):
    daily = digests.digest_period(organization=shanghai, kind="daily", now=TUESDAY_MORNING)
    assert (daily.start, daily.end) == (
        datetime(2026, 6, 14, 16, 0, tzinfo=UTC),
        datetime(2026, 6, 15, 16, 0, tzinfo=UTC),
    )
    weekly = digests.digest_period(organization=shanghai, kind="weekly", now=TUESDAY_MORNING)
    assert (weekly.start_day.isoformat(), weekly.end_day.isoformat()) == ("2026-06-08", "2026-06-14")
    assert weekly.previous_start == datetime(2026, 5, 31, 16, 0, tzinfo=UTC)


@pytest.mark.now(TUESDAY_MORNING)
def test_weekly_digest_content(shanghai, make_member):
    manager = make_member(shanghai, Role.ADMIN, "manager@acme.test")
    _opt_in(shanghai, manager, weekly=True)
    _send_due()
    [email] = mail.outbox
    assert email.to == ["manager@acme.test"]
    assert email.subject == "[Acme] Weekly digest, 2026-06-08 to 2026-06-14"
    low, high = _adjusted_wald(20, 10, 40)
    body = email.body
    assert f"NPS 25.0 (95% interval {low:.1f} to {high:.1f}, 40 answers)" in body
    assert "The period before: -25.0 (40 answers)." in body
    assert "Up 50.0 points: a detectable change (p = 0.0" in body
    assert "10 new detractors (NPS 0–6)" in body
    lines = [line.strip() for line in body.splitlines()]
    assert lines[lines.index("10 new detractors (NPS 0–6)") + 1].startswith("- 0 · After delivery")
    assert "“Late on Sunday night”" in body  # 23:30 on Sunday, local: last week's
    assert "Rude on the phone" not in body and "Not yet in a digest" not in body
    assert body.count("\n- ") == digests.LATEST_DETRACTORS
    assert "overdue" not in body  # the manager has no overdue case
    assert "Times are in Asia/Shanghai." in body
    assert "<q>Late on Sunday night</q>" in email.alternatives[0][0]


@pytest.mark.now(TUESDAY_MORNING)
def test_daily_digest_in_chinese(shanghai, make_member):
    analyst = make_member(shanghai, Role.ANALYST, "li@acme.test")
    UserPreference.objects.create(user=analyst, language="zh-hans")
    _opt_in(shanghai, analyst, daily=True)
    _send_due()
    [email] = mail.outbox
    assert email.subject == "[Acme] 2026-06-15 每日摘要"
    body = email.body
    assert "NPS -33.3（95% 置信区间" in body and "3 份回答）" in body
    assert "回答太少，无法判断变化（每期少于 30 份）。" in body
    assert "2 位新增贬损者（NPS 0–6）" in body
    # Latest first: Monday 18:00, then Monday 00:30 (Sunday 16:30 UTC belongs to Monday locally).
    assert body.index("Refund still missing") < body.index("Rude on the phone")
    assert "1 · After delivery · Li Wei · 2026-06-15 18:00" in body
    assert "Late on Sunday night" not in body


@pytest.mark.now(TUESDAY_MORNING)
def test_sent_once_per_member_and_period_and_only_to_those_who_opted_in(shanghai, make_member, clock):
    both = make_member(shanghai, Role.ADMIN, "both@acme.test")
    _opt_in(shanghai, both, daily=True, weekly=True)
    make_member(shanghai, Role.ADMIN, "nothing@acme.test")  # never opted in
    weekly_only = make_member(shanghai, Role.VIEWER, "weekly@acme.test")
    _opt_in(shanghai, weekly_only, weekly=True)
    assert len(digests.digests_due()) == 3
    _send_due()
    _send_due()  # the next hourly run: nothing more
    assert sorted((m.to[0], "Weekly" in m.subject) for m in mail.outbox) == [
        ("both@acme.test", False),
        ("both@acme.test", True),
        ("weekly@acme.test", True),
    ]
    # A second run of the same task finds the period claimed.
    assert (
        digests.digest_send(
            organization_id=shanghai.pk, user_id=both.pk, kind="daily", period_start="2026-06-15"
        )
        == "skipped"
    )
    assert DigestSent.objects.for_organization(shanghai).count() == 3
    clock.set(TUESDAY_MORNING + timedelta(days=1))  # Wednesday morning: only a new daily
    _send_due()
    assert [m.subject for m in mail.outbox[3:]] == ["[Acme] Daily digest for 2026-06-16"]


def test_not_before_the_local_send_hour(shanghai, make_member, clock):
    member = make_member(shanghai, Role.ADMIN, "early@acme.test")
    _opt_in(shanghai, member, daily=True)
    clock.set(datetime(2026, 6, 15, 22, 30, tzinfo=UTC))  # 06:30 in Shanghai
    assert digests.digests_due() == []
    clock.set(datetime(2026, 6, 15, 23, 30, tzinfo=UTC))  # 07:30
    assert digests.digests_due() == [(shanghai.pk, member.pk, "daily", "2026-06-15")]


@pytest.mark.now(TUESDAY_MORNING)
def test_a_member_who_left_or_opted_out_gets_nothing(shanghai, make_member):
    member = make_member(shanghai, Role.ADMIN, "gone@acme.test")
    _opt_in(shanghai, member, daily=True)
    due = digests.digests_due()
    NotificationPreference.objects.for_organization(shanghai).update(digest_daily=False)
    _send_due_rows = [
        digests.digest_send(organization_id=o, user_id=u, kind=k, period_start=s) for o, u, k, s in due
    ]
    assert _send_due_rows == ["skipped"] and mail.outbox == []


@pytest.mark.now(TUESDAY_MORNING)
def test_the_weekly_digest_lists_the_members_overdue_cases(shanghai, make_member):
    """Open cases of the member whose due time has passed, most overdue first; not those due later,
    closed ones or another member's."""
    from loop.models import Case, CaseStatus

    manager = make_member(shanghai, Role.ADMIN, "manager@acme.test")
    other = make_member(shanghai, Role.ANALYST, "other@acme.test")
    _opt_in(shanghai, manager, weekly=True)
    wang = CustomerFactory(organization=shanghai, name="Wang Fang")
    hours = timedelta(hours=1)

    def case(assignee, due, status=CaseStatus.NEW, customer=wang):
        return Case.objects.create(
            organization=shanghai, customer=customer, assignee=assignee, status=status, due_at=due
        )

    later = case(manager, TUESDAY_MORNING - 2 * hours)
    earlier = case(manager, TUESDAY_MORNING - 30 * hours, status=CaseStatus.IN_PROGRESS)
    case(manager, TUESDAY_MORNING + hours)
    case(manager, TUESDAY_MORNING - 5 * hours, status=CaseStatus.CLOSED)
    case(other, TUESDAY_MORNING - 5 * hours)
    listed = digests.overdue_cases_for(user=manager, organization=shanghai)
    assert [row["case_number"] for row in listed] == [earlier.pk, later.pk]
    assert listed[0]["customer_label"] == "Wang Fang" and listed[0]["path"] == f"/cases/{earlier.pk}/"
    _send_due()
    [email] = mail.outbox
    assert "Your overdue cases" in email.body
    assert f"#{earlier.pk} Wang Fang" in email.body and f"#{later.pk} Wang Fang" in email.body
