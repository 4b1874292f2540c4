"""Settings → Webhooks pages: add an endpoint, see its secret once, its delivery log, redeliver; both
languages; roles; another organization's endpoint is a 404."""

from __future__ import annotations

import pytest

from cxm.tenancy.roles import Role
from loop import services
from loop.models import WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db(transaction=True)


def test_add_an_endpoint_see_the_secret_once_and_the_log(
    owner_client, receiver, allow_loopback, organization
):
    added = owner_client.post(
        "/settings/webhooks/",
        {"url": receiver.url, "description": "CRM", "events": ["customer.erased"]},
        follow=True,
    )
    endpoint = WebhookEndpoint.objects.unscoped().get()
    assert added.status_code == 200 and endpoint.events == ["customer.erased"]
    assert endpoint.secret in added.content.decode()
    again = owner_client.get(f"/settings/webhooks/{endpoint.pk}/").content.decode()
    assert endpoint.secret not in again  # shown once
    services.events_enqueue(
        organization_id=organization.pk, events=[("customer.erased", "customer:9", "v", {})]
    )
    log = owner_client.get(f"/settings/webhooks/{endpoint.pk}/").content.decode()
    assert "customer.erased" in log and "HTTP 200" in log
    delivery = WebhookDelivery.objects.unscoped().get()
    owner_client.post(f"/settings/webhooks/{endpoint.pk}/deliveries/{delivery.pk}/redeliver/")
    assert len(receiver.received) == 2
    owner_client.post(f"/settings/webhooks/{endpoint.pk}/toggle/")
    assert not WebhookEndpoint.objects.unscoped().get().is_active
    listing = owner_client.get("/settings/webhooks/").content.decode()
    assert receiver.url in listing and "Off" in listing


def test_a_private_address_is_refused_with_a_message(owner_client):
    page = owner_client.post("/settings/webhooks/", {"url": "http://127.0.0.1:8000/x"})
    assert page.status_code == 200 and "public addresses only" in page.content.decode()
    assert WebhookEndpoint.objects.unscoped().count() == 0


def test_the_pages_in_chinese(owner_client, owner):
    owner_client.post("/account/language/", {"language": "zh-hans", "next": "/settings/webhooks/"})
    page = owner_client.get("/settings/webhooks/").content.decode()
    assert "添加端点" in page and "还没有端点" in page


def test_viewers_and_other_organizations(client, make_member, organization, other_organization, owner_client):
    theirs = WebhookEndpoint.objects.create(
        organization=other_organization, url="https://example.com/hook", secret="whsec_AAAA"
    )
    assert owner_client.get(f"/settings/webhooks/{theirs.pk}/").status_code == 404
    assert owner_client.post(f"/settings/webhooks/{theirs.pk}/rotate/").status_code == 404
    assert owner_client.get("/settings/webhooks/").content.decode().count("example.com/hook") == 0
    client.force_login(make_member(organization, Role.VIEWER))
    assert client.get("/settings/webhooks/").status_code == 403
