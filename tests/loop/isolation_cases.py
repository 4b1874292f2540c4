"""Cross-organization cases for the webhook routes (see tests/isolation.py)."""

from __future__ import annotations

from typing import Any

from tests.isolation import RouteCase, register


def _endpoint(org: Any) -> Any:
    from loop.models import WebhookEndpoint

    return WebhookEndpoint.objects.create(
        organization=org, url="https://hooks.example.com/x", secret="whsec_AAAA"
    )


def _delivery(org: Any) -> dict[str, Any]:
    from loop.models import WebhookAttempt, WebhookDelivery

    endpoint = _endpoint(org)
    delivery = WebhookDelivery.objects.create(
        organization=org, endpoint=endpoint, event_id=f"msg_{org.pk}", event_type="webhook.ping", payload={}
    )
    WebhookAttempt.objects.create(organization=org, delivery=delivery, status_code=500)
    return {"endpoint_pk": endpoint.pk, "pk": delivery.pk}


def _endpoint_pk(org: Any) -> dict[str, Any]:
    return {"pk": _endpoint(org).pk}


ENDPOINT = ("loop.WebhookEndpoint",)
DELIVERY = ("loop.WebhookDelivery", "loop.WebhookAttempt")
register("api-webhook-detail", RouteCase(_endpoint_pk, models=ENDPOINT, methods=("GET", "PATCH", "DELETE")))
register("api-webhook-ping", RouteCase(_endpoint_pk, models=ENDPOINT, methods=("POST",)))
register("api-webhook-rotate-secret", RouteCase(_endpoint_pk, models=ENDPOINT, methods=("POST",)))
register(
    "api-webhook-delivery-list", RouteCase(lambda org: {"endpoint_pk": _endpoint(org).pk}, models=DELIVERY)
)
register("api-webhook-delivery-detail", RouteCase(_delivery, models=DELIVERY))
register("api-webhook-delivery-redeliver", RouteCase(_delivery, models=DELIVERY, methods=("POST",)))
register("settings-webhook", RouteCase(_endpoint_pk, models=ENDPOINT))
register(
    "settings-webhook-action",
    RouteCase(lambda org: {"pk": _endpoint(org).pk, "action": "rotate"}, models=ENDPOINT, methods=("POST",)),
)
register(
    "settings-webhook-redeliver",
    RouteCase(
        lambda org: {"pk": (d := _delivery(org))["endpoint_pk"], "delivery_pk": d["pk"]},
        models=DELIVERY,
        methods=("POST",),
    ),
)
