"""Helpers shared by the survey pages: the link survey context and the filtered response list."""

from __future__ import annotations

import uuid
from typing import Any

from django.http import HttpRequest

from cxm.tenancy.tenant import organization_of

from .. import selectors
from ..content import localised, scale_labels
from ..forms import ResponseFilterForm
from ..models import QuestionKind, Survey


def _filtered_responses(request: HttpRequest) -> tuple[ResponseFilterForm, Any]:
    organization = organization_of(request)
    form = ResponseFilterForm(request.GET or None, organization=organization)
    filters = form.filters(organization.tzinfo) if request.GET else {}
    return form, selectors.responses_filtered(organization=organization, filters=filters)


def _link_context(
    survey: Survey,
    language: str,
    params: Any,
    preview: bool = False,
    values: dict[int, Any] | None = None,
    errors: dict[str, str] | None = None,
) -> dict[str, Any]:
    questions = []
    primary_seen = False
    values = values or {}
    for q in survey.questions.all():
        low_high = q.score_range()
        value = values.get(q.id)
        if value is None and low_high and not primary_seen:
            raw = params.get("score", "")
            if raw.lstrip("-").isdigit() and low_high[0] <= int(raw) <= low_high[1]:
                value = int(raw)
        if low_high:
            primary_seen = True
        questions.append(
            {
                "id": q.id,
                "kind": q.kind,
                "text": localised(q.text, language, survey.default_language),
                "required": q.required,
                "scale": list(range(low_high[0], low_high[1] + 1)) if low_high else [],
                "labels": scale_labels(q.kind, language) if low_high else ("", ""),
                "options": [
                    {
                        "value": o.get("value"),
                        "label": localised(o.get("label"), language, survey.default_language)
                        or o.get("value"),
                    }
                    for o in q.options
                ],
                "show_if": q.show_if or None,
                "value": value,
                "error": (errors or {}).get(str(q.id)),
                "is_choice": q.kind in (QuestionKind.SINGLE_CHOICE, QuestionKind.MULTIPLE_CHOICE),
                "multiple": q.kind == QuestionKind.MULTIPLE_CHOICE,
                "is_text": q.kind == QuestionKind.TEXT,
            }
        )
    hidden = {
        k: params.get(k, "")[:200] for k in ("customer", "signature", "touchpoint", "order", "channel", "inv")
    }
    return {
        "survey": survey,
        "language": language,
        "languages": survey.languages,
        "questions": questions,
        "hidden": hidden,
        "idempotency_key": params.get("idempotency_key") or uuid.uuid4().hex,
        "preview": preview,
        "body_class": "survey-page",
    }
