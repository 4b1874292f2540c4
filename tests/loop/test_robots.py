"""Chat robots end to end against a real HTTP server on loopback that plays each vendor: it checks the
payload's shape and the signature the way the vendor documents it (computed here, independently of
the code under test) and answers as the vendor does (HTTP 200 with an error code for a refusal)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone

from loop.models import ChannelMessage, NotificationChannel
from loop.notifications import services
from loop.signals import notification_requested
from surveys.signals import response_recorded

pytestmark = pytest.mark.django_db(transaction=True)

DINGTALK_SECRET = "SECf3b1c2d4e5a69788990aabbccddeeff00112233445566778899aabbccddeeff"
FEISHU_SECRET = "qK8mWx2v9LtZ3nR5"
FACTS = {
    "case_number": "12",
    "customer_label": "Li Wei",
    "score": 2,
    "score_kind": "nps",
    "comment": "Nobody called back <again> & again",
    "priority": "urgent",
    "path": "/cases/12/",
}


def _expected_dingtalk_sign(timestamp: str, secret: str) -> str:
    # DingTalk's documented check: HmacSHA256 with the secret as key over "timestamp\nsecret", Base64.
    string_to_sign = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(hmac.new(secret.encode(), string_to_sign, hashlib.sha256).digest()).decode()


def _expected_feishu_sign(timestamp: str, secret: str) -> str:
    # Feishu's documented check: HmacSHA256 keyed with "timestamp\nsecret" over empty data, Base64.
    return base64.b64encode(
        hmac.new(f"{timestamp}\n{secret}".encode(), b"", hashlib.sha256).digest()
    ).decode()


@dataclass
class Vendor:
    url: str
    secrets: dict[str, str] = field(default_factory=dict)
    fail_next: list[int] = field(default_factory=list)  # HTTP statuses answered first
    answer_code: list[int] = field(default_factory=list)  # vendor error codes answered first
    received: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _verdict(vendor: Vendor, kind: str, query: dict[str, list[str]], body: dict[str, Any]) -> tuple[int, Any]:
    """What the vendor would answer: (HTTP status, body)."""
    now = time.time()
    if kind == "slack":
        ok = isinstance(body.get("text"), str) and isinstance(body.get("blocks"), list)
        return (200, "ok") if ok else (400, "invalid_blocks")
    if kind == "teams":
        attachment = (body.get("attachments") or [{}])[0]
        card = attachment.get("content", {})
        ok = (
            body.get("type") == "message"
            and attachment.get("contentType") == "application/vnd.microsoft.card.adaptive"
            and card.get("type") == "AdaptiveCard"
            and card.get("version") == "1.4"
        )
        return (202, "") if ok else (400, "Bad payload")
    if kind == "wecom":
        content = body.get("markdown", {}).get("content", "")
        if body.get("msgtype") != "markdown" or not content or len(content.encode()) > 4096:
            return 200, {"errcode": 40058, "errmsg": "invalid markdown"}
        return 200, {"errcode": 0, "errmsg": "ok"}
    if kind == "dingtalk":
        timestamp, sign = query.get("timestamp", [""])[0], query.get("sign", [""])[0]
        if query.get("access_token") != ["robot-token"]:
            return 200, {"errcode": 300001, "errmsg": "token is not exist"}
        if not timestamp or abs(now * 1000 - int(timestamp)) > 3600 * 1000:
            return 200, {"errcode": 310000, "errmsg": "invalid timestamp"}
        if sign != _expected_dingtalk_sign(timestamp, vendor.secrets["dingtalk"]):
            return 200, {"errcode": 310000, "errmsg": "sign not match"}
        if body.get("msgtype") != "markdown" or not body.get("markdown", {}).get("title"):
            return 200, {"errcode": 40035, "errmsg": "missing parameter"}
        return 200, {"errcode": 0, "errmsg": "ok"}
    if kind == "feishu":
        timestamp, sign = body.get("timestamp", ""), body.get("sign", "")
        if not isinstance(timestamp, str) or not timestamp or abs(now - int(timestamp)) > 3600:
            return 200, {"code": 19021, "msg": "sign match fail or timestamp is not within one hour"}
        if sign != _expected_feishu_sign(timestamp, vendor.secrets["feishu"]):
            return 200, {"code": 19021, "msg": "sign match fail or timestamp is not within one hour"}
        if body.get("msg_type") != "interactive" or "card" not in body:
            return 200, {"code": 9499, "msg": "Bad Request"}
        return 200, {"code": 0, "msg": "success", "data": {}}
    return 404, "no such robot"


@pytest.fixture
def vendor() -> Iterator[Vendor]:
    state = Vendor(url="", secrets={"dingtalk": DINGTALK_SECRET, "feishu": FEISHU_SECRET})

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            raw = self.rfile.read(int(self.headers.get("content-length", "0")))
            parts = urlsplit(self.path)
            kind = parts.path.strip("/").split("/")[-1]
            query = parse_qs(parts.query)
            body = json.loads(raw)
            with state.lock:
                if state.fail_next:
                    status, answer = state.fail_next.pop(0), "busy"
                elif state.answer_code:
                    status, answer = 200, {"errcode": state.answer_code.pop(0), "errmsg": "too fast"}
                else:
                    status, answer = _verdict(state, kind, query, body)
                state.received.append(
                    {
                        "kind": kind,
                        "query": query,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": body,
                        "status": status,
                        "answer": answer,
                    }
                )
            text = answer if isinstance(answer, str) else json.dumps(answer)
            self.send_response(status)
            self.send_header("content-type", "text/plain" if isinstance(answer, str) else "application/json")
            self.end_headers()
            self.wfile.write(text.encode())

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/robots"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def _channel(api_client, vendor, kind, language="en", secret=None, kinds=None, url=None):
    body: dict[str, Any] = {
        "name": f"{kind} team",
        "kind": kind,
        "webhook_url": url
        or f"{vendor.url}/{kind}" + ("?access_token=robot-token" if kind == "dingtalk" else ""),
        "language": language,
    }
    if secret is not None:
        body["secret"] = secret
    if kinds is not None:
        body["kinds"] = kinds
    created = api_client.post("/api/v1/notification-channels/", body, format="json")
    assert created.status_code == 201, created.content
    return created.json()


def _notify(organization, kind="case.created", facts=FACTS, channels=True):
    notification_requested.send(
        sender=None, organization_id=organization.pk, kind=kind, user_ids=[], facts=facts, channels=channels
    )


SECRETS = {"dingtalk": DINGTALK_SECRET, "feishu": FEISHU_SECRET}


@pytest.mark.parametrize("kind", ["slack", "teams", "wecom", "dingtalk", "feishu"])
@pytest.mark.parametrize(
    ("language", "title", "label"),
    [("en", "New case #12", "Priority"), ("zh-hans", "新工单 #12", "优先级")],
)
def test_each_robot_gets_its_own_format_signed_in_its_language(
    api_client, vendor, allow_loopback, organization, kind, language, title, label
):
    channel = _channel(api_client, vendor, kind, language, secret=SECRETS.get(kind))
    assert "secret" not in channel and channel["has_secret"] is (kind in SECRETS)
    _notify(organization)
    [request] = vendor.received
    assert request["kind"] == kind and request["status"] in (200, 202), request["answer"]
    assert request["answer"] in (
        "ok",
        "",
        {"errcode": 0, "errmsg": "ok"},
        {"code": 0, "msg": "success", "data": {}},
    )
    assert request["headers"]["content-type"] == "application/json; charset=utf-8"
    body = request["body"]
    link = body_text = ""
    if kind == "slack":
        assert body["text"] == title
        assert body["blocks"][0] == {
            "type": "header",
            "text": {"type": "plain_text", "text": title, "emoji": True},
        }
        body_text = body["blocks"][1]["text"]["text"]
        assert body["blocks"][1]["text"]["type"] == "mrkdwn"
        assert "&lt;again&gt; &amp; again" in body_text  # Slack's three escapes
        link = body["blocks"][2]["elements"][0]["url"]
    elif kind == "teams":
        card = body["attachments"][0]["content"]
        assert card["body"][0]["text"] == title
        facts = {fact["title"]: fact["value"] for fact in card["body"][2]["facts"]}
        body_text = json.dumps(facts, ensure_ascii=False)
        link = card["actions"][0]["url"]
    elif kind == "wecom":
        body_text = body["markdown"]["content"]
        assert body_text.startswith(f"### {title}\n")
        link = body_text.rsplit("(", 1)[1].rstrip(")")
    elif kind == "dingtalk":
        assert body["markdown"]["title"] == title
        body_text = body["markdown"]["text"]
        assert set(request["query"]) == {"access_token", "timestamp", "sign"}
        link = body_text.rsplit("(", 1)[1].rstrip(")")
    elif kind == "feishu":
        assert set(body) == {"timestamp", "sign", "msg_type", "card"}
        assert body["card"]["header"]["title"]["content"] == title
        body_text = body["card"]["elements"][0]["text"]["content"]
        link = body["card"]["elements"][1]["actions"][0]["url"]
    assert label in body_text and "Li Wei" in body_text
    assert link.startswith("http") and link.endswith("/cases/12/")
    message = ChannelMessage.objects.for_organization(organization).get()
    assert (message.status, message.attempts, message.last_error) == ("succeeded", 1, "")


@pytest.mark.parametrize("kind", ["dingtalk", "feishu"])
def test_a_wrong_secret_is_refused_by_the_vendor_and_not_retried(
    api_client, vendor, allow_loopback, organization, kind
):
    _channel(api_client, vendor, kind, secret="SECnot-the-robots-secret")
    _notify(organization)
    [request] = vendor.received
    answer = request["answer"]
    assert request["status"] == 200 and answer.get("errcode", answer.get("code")) in (310000, 19021)
    message = ChannelMessage.objects.for_organization(organization).get()
    assert message.status == "failed" and message.attempts == 1 and message.next_attempt_at is None
    assert "sign" in message.last_error
    assert services.notifications_sweep() == 0  # a refusal is final


def test_dingtalk_without_its_secret_is_refused_by_a_signed_robot(
    api_client, vendor, allow_loopback, organization
):
    _channel(api_client, vendor, "dingtalk")
    _notify(organization)
    assert vendor.received[0]["answer"]["errcode"] == 310000
    assert ChannelMessage.objects.for_organization(organization).get().status == "failed"


def _due_now(message_id):
    ChannelMessage.objects.unscoped().filter(pk=message_id).update(next_attempt_at=timezone.now())


def test_transient_failures_are_retried_with_growing_waits_then_sent(
    api_client, vendor, allow_loopback, organization
):
    vendor.fail_next = [503]
    vendor.answer_code = [45009]  # WeCom: too many messages this minute
    _channel(api_client, vendor, "wecom", language="zh-hans")
    _notify(organization)
    message = ChannelMessage.objects.for_organization(organization).get()
    assert (message.status, message.attempts, message.last_status_code) == ("retrying", 1, 503)
    assert timedelta(seconds=9) < message.next_attempt_at - timezone.now() <= timedelta(seconds=10)
    assert services.channel_message_attempt(message_id=message.pk) == "skipped"  # not due yet
    _due_now(message.pk)
    assert services.notifications_sweep() == 1
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("retrying", 2) and "too fast" in message.last_error
    assert timedelta(seconds=50) < message.next_attempt_at - timezone.now() <= timedelta(seconds=60)
    _due_now(message.pk)
    services.notifications_sweep()
    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_error) == ("succeeded", 3, "")
    assert len(vendor.received) == 3
    assert vendor.received[0]["body"] == vendor.received[2]["body"]  # the same message each time
    assert services.notifications_sweep() == 0


def test_gives_up_after_the_last_retry(api_client, vendor, allow_loopback, organization):
    vendor.fail_next = [500] * 10
    _channel(api_client, vendor, "slack")
    _notify(organization)
    message = ChannelMessage.objects.for_organization(organization).get()
    for _ in range(len(services.RETRY_DELAYS)):
        _due_now(message.pk)
        services.channel_message_attempt(message_id=message.pk)
    message.refresh_from_db()
    assert message.status == "failed" and message.attempts == len(services.RETRY_DELAYS) + 1


def test_channels_get_only_the_kinds_they_chose(api_client, vendor, allow_loopback, organization):
    _channel(api_client, vendor, "slack", kinds=["case.closed"])
    _channel(api_client, vendor, "teams")
    _notify(organization, "case.created")
    assert [r["kind"] for r in vendor.received] == ["teams"]
    _notify(organization, "case.closed")
    assert sorted(r["kind"] for r in vendor.received[1:]) == ["slack", "teams"]
    _notify(organization, "case.closed", channels=False)  # personal only: no channel
    assert len(vendor.received) == 3


def test_a_switched_off_channel_gets_nothing_but_a_test(api_client, vendor, allow_loopback, organization):
    channel = _channel(api_client, vendor, "feishu", secret=FEISHU_SECRET, language="zh-hans")
    api_client.patch(f"/api/v1/notification-channels/{channel['id']}/", {"is_active": False}, format="json")
    _notify(organization)
    assert vendor.received == []
    answer = api_client.post(f"/api/v1/notification-channels/{channel['id']}/test/")
    assert answer.status_code == 202 and answer.json()["kind"] == "test"
    [request] = vendor.received
    assert request["answer"]["code"] == 0
    assert request["body"]["card"]["header"]["title"]["content"] == "来自 cxm 的测试消息"
    log = api_client.get(f"/api/v1/notification-channels/{channel['id']}/messages/").json()["results"]
    assert [(m["kind"], m["status"]) for m in log] == [("test", "succeeded")]


def test_submitting_is_unaffected_when_every_robot_is_down(
    api_client, client, allow_loopback, organization, vendor, nps_survey, questions
):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there
    for kind in ("slack", "teams", "wecom", "dingtalk", "feishu"):
        _channel(api_client, vendor, kind, secret=SECRETS.get(kind), url=f"http://127.0.0.1:{port}/{kind}")

    def alert(sender, organization_id, response_ids=None, **kwargs):  # what the alert rules will do
        _notify(organization, "alert.matched", {"score": 2, "score_kind": "nps"})

    response_recorded.connect(alert, dispatch_uid="test-robots-alert")
    try:
        answer = client.post(
            f"/api/v1/public/surveys/{nps_survey.public_id}/responses",
            data=json.dumps({"answers": {str(questions["score"]): 2}, "idempotency_key": "down-1"}),
            content_type="application/json",
            HTTP_ORIGIN="https://shop.example.com",
        )
    finally:
        response_recorded.disconnect(dispatch_uid="test-robots-alert")
    assert answer.status_code == 201
    messages = list(ChannelMessage.objects.for_organization(organization))
    assert len(messages) == 5
    assert all(m.status == "retrying" and "Connection" in m.last_error for m in messages)


def test_the_address_guard_refuses_private_robots(api_client, vendor, settings, organization):
    refused = api_client.post(
        "/api/v1/notification-channels/",
        {"name": "x", "kind": "slack", "webhook_url": f"{vendor.url}/slack", "language": "en"},
        format="json",
    )
    assert refused.status_code == 400
    assert "loopback" in str(refused.json()["error"]["fields"]["webhook_url"])
    # Saved while allowed, refused at delivery once the operator turns the permission off.
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True
    _channel(api_client, vendor, "slack")
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
    _notify(organization)
    assert vendor.received == []
    message = ChannelMessage.objects.for_organization(organization).get()
    assert message.status == "failed" and "loopback" in message.last_error
    assert NotificationChannel.objects.for_organization(organization).count() == 1


def test_settings_pages_add_a_channel_and_send_a_test(owner_client, vendor, allow_loopback, organization):
    page = owner_client.get("/settings/notification-channels/")
    assert page.status_code == 200 and "No channels yet." in page.content.decode()
    added = owner_client.post(
        "/settings/notification-channels/",
        {
            "name": "飞书 客服群",
            "kind": "feishu",
            "webhook_url": f"{vendor.url}/feishu",
            "secret": FEISHU_SECRET,
            "language": "zh-hans",
            "kinds": ["case.escalated"],
        },
    )
    channel = NotificationChannel.objects.for_organization(organization).get()
    assert added.status_code == 302 and added["Location"] == f"/settings/notification-channels/{channel.pk}/"
    assert channel.secret == FEISHU_SECRET and channel.kinds == ["case.escalated"]
    detail = owner_client.get(added["Location"]).content.decode()
    assert FEISHU_SECRET not in detail and "飞书 客服群" in detail
    owner_client.post(f"/settings/notification-channels/{channel.pk}/test/")
    [request] = vendor.received
    assert request["answer"]["code"] == 0
    detail = owner_client.get(added["Location"]).content.decode()
    assert "<code>test</code>" in detail and "Delivered" in detail
    # Saving the form without a secret keeps the secret.
    owner_client.post(
        added["Location"],
        {"name": "Support", "kind": "feishu", "webhook_url": f"{vendor.url}/feishu", "language": "en"},
    )
    channel.refresh_from_db()
    assert channel.name == "Support" and channel.secret == FEISHU_SECRET and channel.kinds == []


def test_settings_page_explains_bad_input(owner_client, organization, settings):
    answer = owner_client.post(
        "/settings/notification-channels/",
        {
            "name": "Team",
            "kind": "slack",
            "webhook_url": "http://127.0.0.1:9/x",
            "secret": "s",
            "language": "en",
        },
    )
    html = answer.content.decode()
    assert answer.status_code == 200 and "loopback" in html
    assert "Only DingTalk and Feishu robots use a signing secret." in html
    assert not NotificationChannel.objects.for_organization(organization).exists()
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True
    owner_client.post(
        "/settings/notification-channels/",
        {"name": "Team", "kind": "slack", "webhook_url": "http://127.0.0.1:9/x", "language": "en"},
    )
    channel = NotificationChannel.objects.for_organization(organization).get()
    answer = owner_client.post(f"/settings/notification-channels/{channel.pk}/explode/", follow=True)
    assert answer.status_code == 200 and "Unknown action." in answer.content.decode()
