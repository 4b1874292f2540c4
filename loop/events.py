"""The events webhooks carry, built from the API's own serializers so a payload's `data` is what the
REST API returns for the same object."""

from __future__ import annotations

from typing import Any

from surveys.models import Response
from surveys.serializers import ResponseSerializer


def response_events(
    *, organization_id: int, response_ids: list[int]
) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(type, subject, version, data) per response: `response.created`, turned into `response.updated`
    by the queue at an endpoint that already heard of the response."""
    responses = (
        Response.objects.for_organization(organization_id)
        .filter(pk__in=response_ids)
        .select_related("survey", "touchpoint", "customer")
        .prefetch_related("answers")
        .order_by("pk")
    )
    return [
        (
            "response.created",
            f"response:{response.pk}",
            response.updated_at.isoformat(),
            ResponseSerializer(response).data,
        )
        for response in responses
    ]


def customer_erased_event(*, customer_id: int, erased_at: str) -> tuple[str, str, str, dict[str, Any]]:
    return (
        "customer.erased",
        f"customer:{customer_id}",
        erased_at,
        {"customer_id": customer_id, "erased_at": erased_at},
    )


def case_event(
    *, organization_id: int, case_id: int, event_type: str
) -> tuple[str, str, str, dict[str, Any]] | None:
    """`case.created`, `case.updated` or `case.closed` with the case as the API returns it; the version
    is the case's last change, so each change is its own event."""
    from .case_serializers import CaseSerializer
    from .models import Case

    case = (
        Case.objects.for_organization(organization_id)
        .select_related("assignee", "customer", "touchpoint")
        .prefetch_related("linked")
        .filter(pk=case_id)
        .first()
    )
    if case is None:
        return None
    return (
        event_type,
        f"case:{case.pk}",
        f"{event_type}:{case.updated_at.isoformat()}",
        CaseSerializer(case).data,
    )
