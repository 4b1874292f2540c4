"""The notifications API: a member's inbox through their session (paginated, unread filter, mark read,
unread count), their preferences, and chat channels (write-only secret), with the organization
boundary and clear 400s for bad input."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from cxm.tenancy.models import UserPreference
from cxm.tenancy.roles import Role
from loop.models import Notification, NotificationChannel
from loop.notifications import services
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def _notify(organization, user, number, kind="case.created"):
    services.notifications_record(
        organization_id=organization.pk,
        kind=kind,
        user_ids=[user.pk],
        facts={"case_number": str(number), "path": f"/cases/{number}/"},
        channels=False,
        request_key=f"r{organization.pk}-{number}-{kind}",
    )
    return Notification.objects.for_organization(organization).get(
        request_key=f"r{organization.pk}-{number}-{kind}"
    )


@pytest.fixture
def member_api(organization, make_member):
    user = make_member(organization, Role.VIEWER, "viewer@acme.test")
    client = APIClient()
    client.force_login(user)
    client.user = user
    return client


def test_inbox_list_paginated_unread_filter_and_count(member_api, organization):
    user = member_api.user
    for number in range(3):
        _notify(organization, user, number)
    first = member_api.get("/api/v1/notifications/", {"page_size": 2})
    assert first.status_code == 200
    body = first.json()
    assert [item["title"] for item in body["results"]] == ["New case #2", "New case #1"]
    assert body["results"][0]["url"].endswith("/cases/2/") and body["results"][0]["is_read"] is False
    rest = member_api.get(body["next"]).json()
    assert [item["title"] for item in rest["results"]] == ["New case #0"]
    assert member_api.get("/api/v1/notifications/unread-count/").json() == {"unread": 3}
    newest = body["results"][0]["id"]
    read = member_api.post(f"/api/v1/notifications/{newest}/read/")
    assert read.status_code == 200 and read.json()["is_read"] is True and read.json()["read_at"]
    assert member_api.get("/api/v1/notifications/unread-count/").json() == {"unread": 2}
    unread = member_api.get("/api/v1/notifications/", {"unread": "true"}).json()["results"]
    assert newest not in [item["id"] for item in unread] and len(unread) == 2
    assert member_api.post("/api/v1/notifications/read-all/").json() == {"marked": 2}
    assert member_api.get("/api/v1/notifications/unread-count/").json() == {"unread": 0}


def test_inbox_is_rendered_in_the_members_language(member_api, organization):
    UserPreference.objects.create(user=member_api.user, language="zh-hans")
    notification = _notify(organization, member_api.user, 5, kind="case.closed")
    answer = member_api.get(f"/api/v1/notifications/{notification.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert answer.json()["title"] == "工单 #5 已关闭"


def test_inbox_bad_input_is_a_clear_400(member_api):
    answer = member_api.get("/api/v1/notifications/", {"unread": "maybe"})
    assert answer.status_code == 400 and "unread" in answer.json()["error"]["fields"]
    answer = member_api.get("/api/v1/notifications/", {"kind": "case.deleted"})
    assert answer.status_code == 400 and "kind" in answer.json()["error"]["fields"]
    answer = member_api.get("/api/v1/notifications/", {"page_size": "0"})
    assert answer.status_code == 400


def test_someone_elses_notifications_are_404(member_api, organization, other_organization):
    colleague = MembershipFactory(organization=organization).user
    theirs = _notify(organization, colleague, 1)
    outsider = MembershipFactory(organization=other_organization).user
    elsewhere = _notify(other_organization, outsider, 2)
    for notification in (theirs, elsewhere):
        assert member_api.get(f"/api/v1/notifications/{notification.pk}/").status_code == 404
        assert member_api.post(f"/api/v1/notifications/{notification.pk}/read/").status_code == 404
    assert member_api.get("/api/v1/notifications/").json()["results"] == []
    assert member_api.post("/api/v1/notifications/read-all/").json() == {"marked": 0}
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_an_api_key_has_no_inbox(api_client, organization, owner):
    _notify(organization, owner, 1)
    assert api_client.get("/api/v1/notifications/").json()["results"] == []
    assert api_client.get("/api/v1/notifications/unread-count/").json() == {"unread": 0}
    answer = api_client.get("/api/v1/notifications/preferences/")
    assert answer.status_code == 403 and "API key" in answer.json()["error"]["message"]


def test_preferences_read_and_update(member_api):
    assert member_api.get("/api/v1/notifications/preferences/").json() == {
        "email_kinds": [
            "case.created",
            "case.assigned",
            "case.escalated",
            "case.mentioned",
            "case.closed",
            "alert.matched",
        ],
        "digest_daily": False,
        "digest_weekly": False,
    }
    answer = member_api.patch(
        "/api/v1/notifications/preferences/",
        {"email_kinds": ["case.assigned"], "digest_daily": True},
        format="json",
    )
    assert answer.status_code == 200
    assert answer.json() == {"email_kinds": ["case.assigned"], "digest_daily": True, "digest_weekly": False}
    refused = member_api.patch(
        "/api/v1/notifications/preferences/", {"email_kinds": ["case.deleted"]}, format="json"
    )
    assert refused.status_code == 400 and "email_kinds" in refused.json()["error"]["fields"]
    refused = member_api.patch("/api/v1/notifications/preferences/", {"digest_daily": "often"}, format="json")
    assert refused.status_code == 400 and "digest_daily" in refused.json()["error"]["fields"]


def test_channel_secret_is_write_only(api_client, allow_loopback, organization):
    created = api_client.post(
        "/api/v1/notification-channels/",
        {
            "name": "钉钉 客服群",
            "kind": "dingtalk",
            "webhook_url": "http://127.0.0.1:9/robot/send?access_token=t",
            "secret": "SECabc",
            "language": "zh-hans",
            "kinds": ["case.created", "case.escalated"],
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert (
        "secret" not in body
        and body["has_secret"] is True
        and body["kinds"] == ["case.created", "case.escalated"]
    )
    channel = NotificationChannel.objects.for_organization(organization).get()
    assert channel.secret == "SECabc"
    url = f"/api/v1/notification-channels/{body['id']}/"
    assert "secret" not in api_client.get(url).json()
    api_client.patch(url, {"secret": "", "name": "Support"}, format="json")  # blank keeps it
    channel.refresh_from_db()
    assert channel.secret == "SECabc" and channel.name == "Support"
    api_client.patch(url, {"secret": "SECnew"}, format="json")
    channel.refresh_from_db()
    assert channel.secret == "SECnew"
    api_client.patch(url, {"kind": "slack"}, format="json")  # Slack does not sign: the secret goes
    channel.refresh_from_db()
    assert channel.kind == "slack" and channel.secret == ""
    assert api_client.delete(url).status_code == 204


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kind": "telegram"}, "kind"),
        ({"language": "fr"}, "language"),
        ({"kinds": ["case.deleted"]}, "kinds"),
        ({"secret": "SECabc"}, "secret"),  # a Slack webhook has no secret
        ({"webhook_url": "not a url"}, "webhook_url"),
        ({"webhook_url": "ftp://example.com/x"}, "webhook_url"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_channels_are_a_clear_400(api_client, allow_loopback, change, field):
    body = {
        "name": "Team",
        "kind": "slack",
        "webhook_url": "http://127.0.0.1:9/slack",
        "language": "en",
        **change,
    }
    answer = api_client.post("/api/v1/notification-channels/", body, format="json")
    assert answer.status_code == 400
    assert field in answer.json()["error"]["fields"], answer.json()


def test_channels_stay_in_their_organization(api_client, other_api_client, allow_loopback, organization):
    created = api_client.post(
        "/api/v1/notification-channels/",
        {"name": "Team", "kind": "teams", "webhook_url": "http://127.0.0.1:9/teams", "language": "en"},
        format="json",
    ).json()
    base = f"/api/v1/notification-channels/{created['id']}"
    assert other_api_client.get("/api/v1/notification-channels/").json()["results"] == []
    for method, url in [
        ("get", f"{base}/"),
        ("patch", f"{base}/"),
        ("delete", f"{base}/"),
        ("post", f"{base}/test/"),
        ("get", f"{base}/messages/"),
    ]:
        answer = getattr(other_api_client, method)(url)
        assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found", (method, url)
    assert NotificationChannel.objects.for_organization(organization).count() == 1


def test_a_read_only_key_or_a_viewer_cannot_manage_channels(read_only_api_client, member_api):
    assert read_only_api_client.get("/api/v1/notification-channels/").status_code == 403
    assert member_api.get("/api/v1/notification-channels/").status_code == 403


def test_list_endpoints_run_a_fixed_number_of_queries(member_api, api_client, organization, allow_loopback):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count(client, url):
        client.get(url)  # the session, the key's last use
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    _notify(organization, member_api.user, 0)
    channel = NotificationChannel.objects.create(
        organization=organization, name="A", kind="slack", webhook_url="http://127.0.0.1:9/a"
    )
    few = {
        "inbox": count(member_api, "/api/v1/notifications/"),
        "channels": count(api_client, "/api/v1/notification-channels/"),
        "messages": count(api_client, f"/api/v1/notification-channels/{channel.pk}/messages/"),
    }
    for number in range(1, 15):
        _notify(organization, member_api.user, number)
        NotificationChannel.objects.create(
            organization=organization, name=f"C{number}", kind="teams", webhook_url="http://127.0.0.1:9/t"
        )
        services.channel_test(channel=channel)
    assert count(member_api, "/api/v1/notifications/") == few["inbox"]
    assert count(api_client, "/api/v1/notification-channels/") == few["channels"]
    assert count(api_client, f"/api/v1/notification-channels/{channel.pk}/messages/") == few["messages"]
