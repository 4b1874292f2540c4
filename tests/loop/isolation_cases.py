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
