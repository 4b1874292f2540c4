"""Notifications from the `notification_requested` contract: recorded after commit, one inbox row per
member, rendered in each reader's language, emailed by a task unless muted; the inbox page, its unread
badge on every page, mark read, and the organization boundary."""

from __future__ import annotations

import pytest
from django.core import mail
from django.db import transaction
from django.urls import reverse

from cxm.tenancy.models import UserPreference
from cxm.tenancy.roles import Role
from loop.models import EmailStatus, Notification, NotificationPreference
from loop.notifications import services
from loop.notifications.messages import message_plain_text, message_render
from loop.signals import notification_requested
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)
INBOX_QUERIES = 6

FACTS = {
    "case_id": 12,
    "case_number": "12",
    "priority": "high",
    "due_at": "2026-06-16T09:00:00+00:00",
    "customer_label": "Li Wei",
    "score": 3,
    "score_kind": "nps",
    "comment": "The parcel came a week late.",
    "survey_name": "After delivery",
    "touchpoint_name": "Delivery",
    "value": "¥50,000",
    "path": "/cases/12/",
}


def _request(organization, kind, user_ids, facts=FACTS, channels=False):
    notification_requested.send(
        sender=None,
        organization_id=organization.pk,
        kind=kind,
        user_ids=user_ids,
        facts=facts,
        channels=channels,
    )


def test_recorded_after_commit_one_row_per_member_in_each_language(organization, make_member):
    organization.time_zone = "Asia/Shanghai"
    organization.save()
    chinese = make_member(organization, Role.ANALYST, "li@acme.test")
    UserPreference.objects.create(user=chinese, language="zh-hans")
    english = make_member(organization, Role.VIEWER, "ann@acme.test")
    stranger = UserFactory(username="eve@elsewhere.test")  # not a member: never notified
    with transaction.atomic():
        _request(organization, "case.created", [chinese.pk, english.pk, stranger.pk])
        assert not Notification.objects.for_organization(organization).exists()  # not before commit
    rows = Notification.objects.for_organization(organization).order_by("user_id")
    assert sorted(row.user_id for row in rows) == sorted([chinese.pk, english.pk])
    assert all(row.facts == FACTS and row.kind == "case.created" for row in rows)
    assert all(row.email_status == EmailStatus.SENT for row in rows)
    by_address = {message.to[0]: message for message in mail.outbox}
    assert set(by_address) == {"li@acme.test", "ann@acme.test"}
    assert by_address["li@acme.test"].subject == "[Acme] 新工单 #12"
    assert by_address["ann@acme.test"].subject == "[Acme] New case #12"
    english_body = by_address["ann@acme.test"].body
    assert "Li Wei answered NPS 3." in english_body
    assert "Due: 2026-06-16 17:00 (Asia/Shanghai)" in english_body  # the organization's time
    assert "Priority: High" in english_body
    assert "http://" in english_body and english_body.rstrip().endswith("/cases/12/")
    chinese_body = by_address["li@acme.test"].body
    assert "Li Wei 的回答：NPS 3。" in chinese_body and "优先级: 高" in chinese_body
    html = by_address["li@acme.test"].alternatives[0][0]
    assert "打开 cxm" in html and "The parcel came a week late." in html


def test_the_same_request_recorded_twice_is_one_row(organization, owner):
    arguments = dict(
        organization_id=organization.pk,
        kind="case.assigned",
        user_ids=[owner.pk],
        facts={"case_number": "7"},
        channels=False,
        request_key="same",
    )
    first, _messages = services.notifications_record(**arguments)
    again, _messages = services.notifications_record(**arguments)
    assert len(first) == 1 and again == []
    assert Notification.objects.for_organization(organization).count() == 1
    assert len(mail.outbox) == 1


def test_unknown_kinds_and_unsafe_facts_are_refused_in_the_sender(organization, owner):
    with pytest.raises(ValueError, match="unknown notification kind"):
        _request(organization, "case.deleted", [owner.pk])
    with pytest.raises(TypeError):
        _request(organization, "case.created", [owner.pk], facts={"when": object()})
    assert not Notification.objects.for_organization(organization).exists()


@pytest.mark.parametrize(
    ("kind", "english", "chinese"),
    [
        ("case.created", "New case #12", "新工单 #12"),
        ("case.assigned", "Case #12 assigned to Wang Fang", "工单 #12 已分配给 Wang Fang"),
        ("case.escalated", "Case #12 is overdue and was escalated", "工单 #12 已逾期并已升级"),
        ("case.mentioned", "Zhang San mentioned you in case #12", "Zhang San 在工单 #12 中提到了你"),
        ("case.closed", "Case #12 closed", "工单 #12 已关闭"),
        ("alert.matched", "Alert: Detractors worth a lot", "警报：Detractors worth a lot"),
    ],
)
def test_every_kind_renders_in_both_languages(kind, english, chinese):
    facts = {
        **FACTS,
        "assignee_name": "Wang Fang",
        "actor_name": "Zhang San",
        "rule_name": "Detractors worth a lot",
    }
    assert message_render(kind=kind, facts=facts, language="en").title == english
    in_chinese = message_render(kind=kind, facts=facts, language="zh-hans")
    assert in_chinese.title == chinese
    text = message_plain_text(in_chinese)
    assert "客户: Li Wei" in text and "“The parcel came a week late.”" in text


def test_missing_facts_still_read_well():
    message = message_render(kind="alert.matched", facts={}, language="en")
    assert message.title == "An alert rule matched a response"
    assert message.details == [] and message.url == ""
    # A path to another site is never linked.
    assert message_render(kind="case.closed", facts={"path": "//evil.example/x"}, language="en").url == ""


def test_muted_kinds_are_not_emailed_but_stay_in_the_inbox(organization, owner):
    NotificationPreference.objects.create(
        organization=organization, user=owner, email_muted_kinds=["case.closed"]
    )
    _request(organization, "case.closed", [owner.pk])
    _request(organization, "case.created", [owner.pk])
    rows = {row.kind: row for row in Notification.objects.for_organization(organization)}
    assert rows["case.closed"].email_status == EmailStatus.SKIPPED
    assert rows["case.created"].email_status == EmailStatus.SENT
    assert [message.subject for message in mail.outbox] == ["[Acme] New case #12"]


def test_inbox_page_unread_badge_and_mark_read(client, organization, owner):
    client.force_login(owner)
    _request(organization, "case.created", [owner.pk])
    _request(organization, "case.closed", [owner.pk], facts={"case_number": "9", "path": "/cases/9/"})
    page = client.get(reverse("notifications")).content.decode()
    assert page.index("Case #9 closed") < page.index("New case #12")  # newest first
    assert page.count('class="inbox-item unread"') == 2
    assert "data-unread-count>2</span>" in page
    # The badge is on every page.
    assert "data-unread-count>2</span>" in client.get(reverse("notification-preferences")).content.decode()
    closed = Notification.objects.for_organization(organization).get(kind="case.closed")
    opened = client.get(reverse("notification-open", args=[closed.pk]))
    assert opened.status_code == 302 and opened["Location"] == "/cases/9/"
    closed.refresh_from_db()
    assert closed.read_at is not None
    page = client.get(reverse("notifications")).content.decode()
    assert page.count('class="inbox-item unread"') == 1 and "data-unread-count>1</span>" in page
    unread_page = client.get(reverse("notifications"), {"unread": "1"}).content.decode()
    assert "New case #12" in unread_page and "Case #9 closed" not in unread_page
    assert client.post(reverse("notifications-read-all")).status_code == 302
    page = client.get(reverse("notifications")).content.decode()
    assert "inbox-item unread" not in page and "data-unread-count" not in page


def test_inbox_page_in_chinese(client, organization, owner):
    UserPreference.objects.create(user=owner, language="zh-hans")
    client.force_login(owner)
    _request(organization, "case.escalated", [owner.pk])
    page = client.get(reverse("notifications")).content.decode()
    assert "工单 #12 已逾期并已升级" in page and "全部标为已读" in page


def test_inbox_page_query_count_is_fixed(client, organization, owner, django_assert_num_queries):
    client.force_login(owner)
    _request(organization, "case.created", [owner.pk])
    client.get(reverse("notifications"))  # the session, the unread count's cache
    # The session, the user, the membership, the count of rows and the page of rows, the messages.
    with django_assert_num_queries(INBOX_QUERIES):
        client.get(reverse("notifications"))
    for number in range(20):
        _request(organization, "case.closed", [owner.pk], facts={"case_number": str(number)})
    client.get(reverse("notifications"))  # the count changed: one query refills its cache
    with django_assert_num_queries(INBOX_QUERIES):
        page = client.get(reverse("notifications")).content.decode()
    assert page.count("inbox-item unread") == 21


def test_a_member_sees_only_their_own_notifications_in_the_current_organization(client, organization, owner):
    globex = OrganizationFactory(slug="globex", name="Globex")
    MembershipFactory(organization=globex, user=owner)
    colleague = MembershipFactory(organization=organization).user
    _request(organization, "case.created", [owner.pk, colleague.pk])
    _request(globex, "case.closed", [owner.pk], facts={"case_number": "99"})
    client.force_login(owner)
    client.post(reverse("switch-organization"), {"organization": organization.pk})
    page = client.get(reverse("notifications")).content.decode()
    assert "New case #12" in page and "#99" not in page and "data-unread-count>1</span>" in page
    theirs = Notification.objects.for_organization(globex).get()
    colleagues = Notification.objects.for_organization(organization).get(user=colleague)
    for pk in (theirs.pk, colleagues.pk):
        assert client.get(reverse("notification-open", args=[pk])).status_code == 404
        assert client.post(reverse("notification-read", args=[pk])).status_code == 404
    client.post(reverse("notifications-read-all"))
    theirs.refresh_from_db()
    colleagues.refresh_from_db()
    assert theirs.read_at is None and colleagues.read_at is None
    client.post(reverse("switch-organization"), {"organization": globex.pk})
    page = client.get(reverse("notifications")).content.decode()
    assert "Case #99 closed" in page and "New case #12" not in page


def test_preferences_page_saves_and_refuses_unknown_kinds(client, organization, owner):
    client.force_login(owner)
    answer = client.post(
        reverse("notification-preferences"), {"email_kinds": ["case.created"], "digest_weekly": "on"}
    )
    assert answer.status_code == 302
    preference = NotificationPreference.objects.for_organization(organization).get(user=owner)
    assert (
        "case.created" not in preference.email_muted_kinds and "case.closed" in preference.email_muted_kinds
    )
    assert preference.digest_weekly and not preference.digest_daily
    refused = client.post(reverse("notification-preferences"), {"email_kinds": ["case.deleted"]})
    assert refused.status_code == 200
    assert (
        "Select a valid choice. case.deleted is not one of the available choices." in refused.content.decode()
    )
    preference.refresh_from_db()
    assert "case.created" not in preference.email_muted_kinds  # unchanged


def test_notification_tasks_run_on_the_notifications_queue_and_beat_expires_them():
    from cxm.celery import app

    for name in ("notify_email", "notify_channel", "notify_sweep", "notify_digests", "notify_digest"):
        route = app.amqp.router.route({}, f"loop.tasks.{name}")
        assert route["queue"].name == "notifications", name
    schedule = app.conf.beat_schedule
    assert schedule["loop-notify-sweep"]["task"] == "loop.tasks.notify_sweep"
    assert schedule["loop-notify-sweep"]["options"]["expires"] < 60
    assert schedule["loop-notify-digests"]["task"] == "loop.tasks.notify_digests"
    assert schedule["loop-notify-digests"]["options"]["expires"] < 3600
