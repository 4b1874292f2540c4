"""Cross-organization cases for the webhook routes (see tests/isolation.py)."""

from __future__ import annotations

from typing import Any

from tests.isolation import EXEMPT_MODELS, RouteCase, register


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


# Alert rules, teams and cases.


def _team(org: Any) -> Any:
    from loop.models import Team

    return Team.objects.create(organization=org, name=f"Care {org.pk}")


def _rule(org: Any) -> Any:
    from loop.models import AlertRule

    return AlertRule.objects.create(
        organization=org, name="Detractors", conditions={"score_kind": "nps", "score_max": 6}
    )


def _case(org: Any) -> Any:
    from journeys.models import Customer
    from loop.models import Case, CaseNote, CaseResponse, RuleMatch
    from surveys import services as survey_services
    from surveys.models import Response

    survey = survey_services.survey_create(organization=org, name="NPS")
    customer = Customer.objects.create(organization=org, external_id=f"iso-{org.pk}")
    response = Response.objects.create(
        organization=org, survey=survey, customer=customer, idempotency_key="iso", score_kind="nps", score=1
    )
    rule = _rule(org)
    case = Case.objects.create(
        organization=org, rule=rule, response=response, customer=customer, team=_team(org)
    )
    CaseResponse.objects.create(organization=org, case=case, response=response)
    RuleMatch.objects.create(organization=org, rule=rule, response=response, case=case)
    CaseNote.objects.create(organization=org, case=case, body="theirs")
    return case


CASE = ("loop.Case", "loop.CaseResponse", "loop.CaseNote", "loop.RuleMatch")
register(
    "api-alert-rule-detail",
    RouteCase(
        lambda org: {"pk": _rule(org).pk}, models=("loop.AlertRule",), methods=("GET", "PATCH", "DELETE")
    ),
)
register(
    "api-alert-rule-test",
    RouteCase(lambda org: {"pk": _rule(org).pk}, models=("loop.AlertRule",), methods=("POST",)),
)
register(
    "api-case-team-detail",
    RouteCase(lambda org: {"pk": _team(org).pk}, models=("loop.Team",), methods=("GET", "PATCH", "DELETE")),
)
register(
    "api-case-detail", RouteCase(lambda org: {"pk": _case(org).pk}, models=CASE, methods=("GET", "PATCH"))
)
register("api-case-notes", RouteCase(lambda org: {"pk": _case(org).pk}, models=CASE, methods=("GET", "POST")))
register("case-detail", RouteCase(lambda org: {"pk": _case(org).pk}, models=CASE))
register(
    "case-change",
    RouteCase(lambda org: {"pk": _case(org).pk, "form": "note"}, models=CASE, methods=("POST",)),
)
register(
    "case-rule",
    RouteCase(lambda org: {"pk": _rule(org).pk}, models=("loop.AlertRule",), methods=("GET", "POST")),
)


# Notifications: the inbox (a member's own rows; another organization's are a 404 even for an owner),
# chat channels and their message log.


def _notification(org: Any) -> dict[str, Any]:
    from loop.models import Notification
    from tests.factories import MembershipFactory

    member = MembershipFactory(organization=org)
    return {
        "pk": Notification.objects.create(
            organization=org, user=member.user, kind="case.created", facts={}, request_key=f"k{org.pk}"
        ).pk
    }


def _channel(org: Any) -> Any:
    from loop.models import NotificationChannel

    return NotificationChannel.objects.create(
        organization=org, name="Team", kind="slack", webhook_url="https://hooks.example.com/slack"
    )


def _channel_message(org: Any) -> dict[str, Any]:
    from loop.models import ChannelMessage

    channel = _channel(org)
    ChannelMessage.objects.create(organization=org, channel=channel, request_key="k", kind="case.created")
    return {"channel_pk": channel.pk}


NOTIFICATION = ("loop.Notification",)
CHANNEL = ("loop.NotificationChannel",)
register("api-notification-detail", RouteCase(_notification, models=NOTIFICATION))
register("api-notification-read", RouteCase(_notification, models=NOTIFICATION, methods=("POST",)))
register("notification-open", RouteCase(_notification, models=NOTIFICATION))
register("notification-read", RouteCase(_notification, models=NOTIFICATION, methods=("POST",)))
register(
    "api-notification-channel-detail",
    RouteCase(lambda org: {"pk": _channel(org).pk}, models=CHANNEL, methods=("GET", "PATCH", "DELETE")),
)
register(
    "api-notification-channel-test",
    RouteCase(lambda org: {"pk": _channel(org).pk}, models=CHANNEL, methods=("POST",)),
)
register(
    "api-notification-channel-messages",
    RouteCase(_channel_message, models=("loop.ChannelMessage",)),
)
register(
    "settings-channel",
    RouteCase(lambda org: {"pk": _channel(org).pk}, models=CHANNEL, methods=("GET", "POST")),
)
register(
    "settings-channel-action",
    RouteCase(lambda org: {"pk": _channel(org).pk, "action": "test"}, models=CHANNEL, methods=("POST",)),
)
EXEMPT_MODELS.update(
    {
        "loop.NotificationPreference": "the signed-in member's own row, reached without an id "
        "(notification-preferences, api-notification-preferences)",
        "loop.DigestSent": "the once-per-period record of a digest email; no route shows it",
    }
)
