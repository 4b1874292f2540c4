"""Webhooks end to end against a real receiver on loopback: Standard Webhooks signatures checked with
the `standardwebhooks` package, retries, the 24-hour limit, the address guard, the log, redelivery,
and the organization boundary."""

from __future__ import annotations

import json
import socket
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from loop import services
from loop.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from loop.webhooks.addresses import AddressRefused, address_problem
from surveys.models import Response

# Deliveries are queued after commit: these tests commit, as the application does.
pytestmark = pytest.mark.django_db(transaction=True)
ORIGIN = "https://shop.example.com"


def _create(api_client, url, events=None):
    body = {"url": url, "description": "CRM"}
    if events is not None:
        body["events"] = events
    return api_client.post("/api/v1/webhooks/", body, format="json")


def _submit(client, survey, questions, score, key, comment=None):
    answers = {str(questions["score"]): score}
    if comment:
        answers[str(questions["detractor"])] = comment
    return client.post(
        f"/api/v1/public/surveys/{survey.public_id}/responses",
        data=json.dumps({"answers": answers, "idempotency_key": key}),
        content_type="application/json",
        HTTP_ORIGIN=ORIGIN,
    )


def _verify(secret, message):
    return Webhook(secret).verify(message["body"], message["headers"])


def _due_now(delivery):
    WebhookDelivery.objects.unscoped().filter(pk=delivery.pk).update(next_attempt_at=timezone.now())


def test_a_submitted_response_reaches_the_receiver_signed(
    api_client, client, receiver, allow_loopback, nps_survey, questions, django_capture_on_commit_callbacks
):
    created = _create(api_client, receiver.url, ["response.created", "response.updated"])
    assert created.status_code == 201, created.content
    secret = created.json()["secret"]
    assert secret.startswith("whsec_")
    assert "secret" not in api_client.get(f"/api/v1/webhooks/{created.json()['id']}/").json()
    with django_capture_on_commit_callbacks(execute=True):
        answer = _submit(client, nps_survey, questions, 3, "k1")
    assert answer.status_code == 201
    [message] = receiver.received
    event = _verify(secret, message)
    assert event["type"] == "response.created"
    assert event["data"]["id"] == answer.json()["id"] and event["data"]["score"] == 3
    assert message["headers"]["webhook-id"].startswith("msg_")
    # A comment added later with the same key is an update of the same response: a new event id.
    with django_capture_on_commit_callbacks(execute=True):
        _submit(client, nps_survey, questions, 3, "k1", comment="Late delivery")
    assert [_verify(secret, m)["type"] for m in receiver.received] == ["response.created", "response.updated"]
    assert receiver.received[1]["headers"]["webhook-id"] != message["headers"]["webhook-id"]
    assert _verify(secret, receiver.received[1])["data"]["comment"] == "Late delivery"
    # A forged or altered message does not verify.
    tampered = dict(receiver.received[1], body=receiver.received[1]["body"].replace(b"Late", b"Fast"))
    with pytest.raises(WebhookVerificationError):
        _verify(secret, tampered)


def test_the_same_event_queued_twice_is_delivered_once(api_client, receiver, allow_loopback, organization):
    _create(api_client, receiver.url)
    event = ("customer.erased", "customer:7", "2026-12-01T00:00:00+00:00", {"customer_id": 7})
    first = services.events_enqueue(organization_id=organization.pk, events=[event])
    again = services.events_enqueue(organization_id=organization.pk, events=[event])
    assert len(first) == 1 and again == []
    assert len(receiver.received) == 1
    assert WebhookDelivery.objects.unscoped().get().status == DeliveryStatus.SUCCEEDED


def test_two_failures_then_delivered_with_the_same_id(api_client, receiver, allow_loopback, organization):
    receiver.statuses = [500, 503]
    secret = _create(api_client, receiver.url).json()["secret"]
    [delivery_id] = services.events_enqueue(
        organization_id=organization.pk,
        events=[("customer.erased", "customer:1", "v1", {"customer_id": 1})],
    )
    delivery = WebhookDelivery.objects.unscoped().get(pk=delivery_id)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("retrying", 1, 500)
    # The waits are counted from each attempt's own time (no budget on how fast this test runs).
    first = WebhookAttempt.objects.unscoped().get(delivery=delivery)
    assert delivery.next_attempt_at - first.attempted_at == timedelta(seconds=5)
    later = timezone.now() + timedelta(hours=1)
    WebhookDelivery.objects.unscoped().filter(pk=delivery_id).update(next_attempt_at=later)
    assert services.delivery_attempt(delivery_id=delivery_id) == "skipped"  # not due yet
    _due_now(delivery)
    assert services.deliveries_sweep() == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("retrying", 2)
    second = WebhookAttempt.objects.unscoped().filter(delivery=delivery).latest("pk")
    assert delivery.next_attempt_at - second.attempted_at == timedelta(minutes=5)  # the second wait
    _due_now(delivery)
    services.deliveries_sweep()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("succeeded", 3, 200)
    assert len({m["headers"]["webhook-id"] for m in receiver.received}) == 1 and len(receiver.received) == 3
    assert all(_verify(secret, m)["type"] == "customer.erased" for m in receiver.received)
    log = list(WebhookAttempt.objects.unscoped().filter(delivery=delivery).order_by("pk"))
    assert [a.status_code for a in log] == [500, 503, 200]
    assert log[0].response_excerpt == "receiver error" and log[2].response_excerpt == "ok"
    assert "webhook-signature" not in log[0].request_headers
    assert services.deliveries_sweep() == 0  # delivered: never again


def test_gives_up_after_a_day_and_switches_the_endpoint_off(
    api_client, owner, receiver, allow_loopback, organization
):
    receiver.statuses = [500] * 5
    endpoint_id = _create(api_client, receiver.url).json()["id"]
    [delivery_id] = services.events_enqueue(
        organization_id=organization.pk, events=[("customer.erased", "customer:2", "v1", {"customer_id": 2})]
    )
    day_ago = timezone.now() - timedelta(hours=24, minutes=1)
    WebhookDelivery.objects.unscoped().filter(pk=delivery_id).update(created_at=day_ago, next_attempt_at=None)
    WebhookEndpoint.objects.unscoped().filter(pk=endpoint_id).update(failing_since=day_ago)
    assert services.delivery_attempt(delivery_id=delivery_id) == "failed"
    endpoint = WebhookEndpoint.objects.unscoped().get(pk=endpoint_id)
    assert (
        not endpoint.is_active
        and "500" in endpoint.disabled_reason
        or "receiver error" in endpoint.disabled_reason
    )
    [email] = mail.outbox
    assert receiver.url in email.subject and email.to == [owner.email]
    # Switched off: nothing more is queued for it, and turning it on again clears the failure.
    assert (
        services.events_enqueue(
            organization_id=organization.pk, events=[("customer.erased", "customer:3", "v1", {})]
        )
        == []
    )
    patched = api_client.patch(f"/api/v1/webhooks/{endpoint_id}/", {"is_active": True}, format="json")
    assert patched.status_code == 200 and patched.json()["failing_since"] is None


def test_redelivery_sends_the_same_event_again(api_client, receiver, allow_loopback, organization):
    created = _create(api_client, receiver.url).json()
    services.events_enqueue(
        organization_id=organization.pk, events=[("customer.erased", "customer:4", "v", {})]
    )
    [delivery] = api_client.get(f"/api/v1/webhooks/{created['id']}/deliveries/").json()["results"]
    again = api_client.post(f"/api/v1/webhooks/{created['id']}/deliveries/{delivery['id']}/redeliver/")
    assert again.status_code == 202
    assert [m["headers"]["webhook-id"] for m in receiver.received] == [delivery["event_id"]] * 2
    detail = api_client.get(f"/api/v1/webhooks/{created['id']}/deliveries/{delivery['id']}/").json()
    assert [a["status_code"] for a in detail["attempt_log"]] == [200, 200]
    assert detail["payload"]["type"] == "customer.erased"


def test_rotation_signs_with_both_secrets_for_a_day(api_client, receiver, allow_loopback, organization):
    created = _create(api_client, receiver.url).json()
    rotated = api_client.post(f"/api/v1/webhooks/{created['id']}/rotate-secret/")
    assert rotated.status_code == 200 and rotated.json()["secret"] != created["secret"]
    ping = api_client.post(f"/api/v1/webhooks/{created['id']}/ping/")
    assert ping.status_code == 202
    [message] = receiver.received
    assert len(message["headers"]["webhook-signature"].split(" ")) == 2
    assert _verify(created["secret"], message)["type"] == "webhook.ping"
    assert _verify(rotated.json()["secret"], message)["type"] == "webhook.ping"


@pytest.mark.parametrize(
    "address,kind",
    [
        ("127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("192.168.0.5", "private"),
        ("169.254.169.254", "metadata"),
        ("fe80::1", "link-local"),
        ("::ffff:127.0.0.1", "loopback"),
        ("0.0.0.0", "unspecified"),
        ("93.184.216.34", None),
    ],
)
def test_address_kinds(address, kind):
    assert address_problem(address) == kind


def test_private_addresses_and_names_that_resolve_to_them_are_refused(api_client, receiver):
    for url in (
        receiver.url,
        receiver.url.replace("127.0.0.1", "localhost"),
        "http://169.254.169.254/latest",
    ):
        refused = _create(api_client, url)
        assert refused.status_code == 400, url
        assert "public addresses only" in refused.json()["error"]["fields"]["url"][0]
    assert _create(api_client, "ftp://example.com/x").status_code == 400
    assert WebhookEndpoint.objects.unscoped().count() == 0 and receiver.received == []


def test_the_guard_runs_again_at_delivery(api_client, receiver, settings, organization):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True
    _create(api_client, receiver.url)
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False  # e.g. the name now resolves elsewhere
    [delivery_id] = services.events_enqueue(
        organization_id=organization.pk, events=[("customer.erased", "customer:5", "v", {})]
    )
    delivery = WebhookDelivery.objects.unscoped().get(pk=delivery_id)
    assert delivery.status == "retrying" and "loopback" in delivery.last_error
    assert receiver.received == []
    with pytest.raises(AddressRefused):
        services.endpoint_url_check("http://localhost:9/")


def test_submitting_is_unaffected_when_every_receiver_is_down(
    api_client, client, allow_loopback, nps_survey, questions, django_capture_on_commit_callbacks
):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there
    _create(api_client, f"http://127.0.0.1:{port}/down")
    with django_capture_on_commit_callbacks(execute=True):
        answer = _submit(client, nps_survey, questions, 2, "down-1")
    assert answer.status_code == 201
    assert Response.objects.unscoped().filter(pk=answer.json()["id"]).exists()
    delivery = WebhookDelivery.objects.unscoped().get()
    assert delivery.status == "retrying" and "Connection" in delivery.last_error


def test_another_organization_sees_nothing(
    api_client, other_api_client, receiver, allow_loopback, organization
):
    endpoint = _create(api_client, receiver.url).json()
    services.events_enqueue(
        organization_id=organization.pk, events=[("customer.erased", "customer:6", "v", {})]
    )
    delivery = WebhookDelivery.objects.unscoped().get()
    base = f"/api/v1/webhooks/{endpoint['id']}"
    assert other_api_client.get("/api/v1/webhooks/").json()["results"] == []
    for method, url in [
        ("get", f"{base}/"),
        ("patch", f"{base}/"),
        ("delete", f"{base}/"),
        ("post", f"{base}/rotate-secret/"),
        ("post", f"{base}/ping/"),
        ("get", f"{base}/deliveries/{delivery.pk}/"),
        ("post", f"{base}/deliveries/{delivery.pk}/redeliver/"),
    ]:
        assert getattr(other_api_client, method)(url).status_code == 404, (method, url)
    assert other_api_client.get(f"{base}/deliveries/").status_code == 404
    assert len(receiver.received) == 1  # only the first delivery


def test_a_read_only_key_cannot_manage_webhooks(read_only_api_client, receiver, allow_loopback):
    assert read_only_api_client.get("/api/v1/webhooks/").status_code == 403
    assert _create(read_only_api_client, receiver.url).status_code == 403


def test_unknown_event_types_are_refused(api_client, receiver, allow_loopback):
    refused = _create(api_client, receiver.url, ["response.created", "order.shipped"])
    assert refused.status_code == 400 and "order.shipped" in str(refused.json()["error"]["fields"]["events"])
