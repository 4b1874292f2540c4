"""cxm rows as Delighted's JSON: field names, string ids and Unix-second timestamps as it documented them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.urls import reverse

from journeys.models import Customer
from surveys.models import QuestionKind, Response
from surveys.selectors import SurveySnapshot

from .models import AutopilotMembership, ResponseAnnotation, SurveyRequest


def unix(value: datetime | None) -> int | None:
    return int(value.timestamp()) if value is not None else None


def _blank_none(value: str) -> str | None:
    return value or None


def person_json(customer: Customer, *, scheduled: SurveyRequest | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": str(customer.pk),
        "name": _blank_none(customer.name),
        "email": _blank_none(customer.email),
        "phone_number": _blank_none(customer.phone),
        "created_at": unix(customer.created_at),
    }
    for name in ("last_sent_at", "last_responded_at", "next_survey_scheduled_at"):
        if hasattr(customer, name):
            data[name] = unix(getattr(customer, name))
    if scheduled is not None:
        data["survey_scheduled_at"] = unix(scheduled.scheduled_at)
    return data


_ANSWER_TYPES: dict[str, str] = {
    QuestionKind.TEXT: "free_response",
    QuestionKind.SINGLE_CHOICE: "select_one",
    QuestionKind.MULTIPLE_CHOICE: "select_many",
}


def _additional_answers(response: Response, snapshot: SurveySnapshot) -> list[dict[str, Any]]:
    skip = {snapshot.primary.id if snapshot.primary else None, *snapshot.comment_ids[:1]}
    result = []
    for answer in sorted(response.answers.all(), key=lambda a: a.pk):
        question = snapshot.by_id.get(answer.question_id)
        if question is None or question.id in skip:
            continue
        kind = _ANSWER_TYPES.get(question.kind, "scale")
        value: Any
        if kind == "free_response":
            value = answer.text
        elif kind == "select_one":
            value = {"id": answer.text, "text": answer.text}
        elif kind == "select_many":
            value = [{"id": choice, "text": choice} for choice in answer.choices]
        else:
            value = answer.number
        result.append(
            {
                "id": str(answer.pk),
                "value": {kind: value},
                "question": {"id": str(question.id), "type": kind},
            }
        )
    return result


def response_json(
    response: Response,
    *,
    snapshot: SurveySnapshot,
    annotation: ResponseAnnotation | None = None,
    expand: frozenset[str] = frozenset(),
    base_url: str = "",
) -> dict[str, Any]:
    customer = response.customer
    person: Any = str(customer.pk) if customer is not None else None
    if "person" in expand and customer is not None:
        person = person_json(customer)
    data: dict[str, Any] = {
        "id": str(response.pk),
        "person": person,
        "survey_type": response.score_kind or "nps",
        "score": response.score,
        "comment": response.comment or None,
        "permalink": base_url + reverse("response-detail-page", kwargs={"pk": response.pk}),
        "created_at": unix(response.submitted_at),
        "updated_at": unix(response.updated_at),
        "person_properties": dict(response.hidden_fields or {}),
        "tags": list(annotation.tags) if annotation else [],
        "additional_answers": _additional_answers(response, snapshot),
    }
    if "notes" in expand:
        data["notes"] = list(annotation.notes) if annotation else []
    return data


def metrics_json(nps: dict[str, Any]) -> dict[str, Any]:
    """Delighted's metrics: the NPS as a whole number and the shares as percentages (one decimal)."""

    def percent(share: float | None) -> float:
        return round(100.0 * share, 1) if share is not None else 0.0

    return {
        "nps": round(nps["nps"]) if nps["nps"] is not None else 0,
        "promoter_count": nps["promoters"],
        "promoter_percent": percent(nps["promoter_share"]),
        "passive_count": nps["passives"],
        "passive_percent": percent(nps["passive_share"]),
        "detractor_count": nps["detractors"],
        "detractor_percent": percent(nps["detractor_share"]),
        "response_count": nps["n"],
    }


def unsubscribe_json(customer: Customer) -> dict[str, Any]:
    return {
        "person_id": str(customer.pk),
        "email": _blank_none(customer.email),
        "name": _blank_none(customer.name),
        "unsubscribed_at": unix(customer.unsubscribed_at),
    }


def membership_json(membership: AutopilotMembership, *, next_request: SurveyRequest | None) -> dict[str, Any]:
    return {
        "created_at": unix(membership.created_at),
        "updated_at": unix(membership.updated_at),
        "person": person_json(membership.customer),
        "next_survey_request": {
            "id": str(next_request.pk) if next_request else None,
            "created_at": unix(next_request.created_at) if next_request else None,
            "survey_scheduled_at": unix(
                next_request.scheduled_at if next_request else membership.next_survey_at
            ),
            "properties": dict((next_request.properties if next_request else membership.properties) or {}),
        },
    }
