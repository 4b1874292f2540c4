"""The fields of a submission envelope, once: the public endpoint's envelope check, the DRF
serializers of both collection endpoints (`surveys.serializers.SubmissionSerializer`) and the mapping
onto the write service (`service_kwargs`) all read this table.

Adding a field to a submission is one entry here (and, if it is stored, a column on `Response`, which
the batch writer picks up from the model)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..models import CHANNELS


@dataclass(frozen=True)
class SubmissionField:
    """One key of the envelope.

    kind: "answers", "customer" (handled by their own rules), "string", "choice" (a response
    channel) or "object" (a JSON object). `service_kwarg`: the keyword of `response_submit` it fills
    (None: not passed through as is); `fallback`: what a missing or empty value becomes ("channel"
    and "idempotency_key" fall back to the endpoint's channel and the Idempotency-Key header)."""

    name: str
    kind: str
    max_length: int | None = None
    required: bool = False
    nullable: bool = False  # the integrator's serializer accepts null (the public check skips null always)
    service_kwarg: str | None = None
    fallback: Any = None


SUBMISSION_FIELDS: tuple[SubmissionField, ...] = (
    SubmissionField("answers", "answers", required=True),
    SubmissionField("customer", "customer", nullable=True),
    SubmissionField("locale", "string", max_length=16, service_kwarg="locale", fallback=""),
    SubmissionField("page_url", "string", max_length=2000, service_kwarg="page_url", fallback=""),
    SubmissionField(
        "touchpoint", "string", max_length=100, nullable=True, service_kwarg="touchpoint_key", fallback=None
    ),
    SubmissionField(
        "idempotency_key", "string", max_length=128, service_kwarg="idempotency_key", fallback="header"
    ),
    SubmissionField("channel", "choice", service_kwarg="channel", fallback="channel"),
    SubmissionField("hidden_fields", "object", service_kwarg="hidden_fields", fallback={}),
)


def _field_error(spec: SubmissionField, value: Any) -> str | None:
    """The serializer's message for a bad value of this field (None: valid), without building one."""
    if spec.kind == "string":
        if not isinstance(value, str):
            return "Not a valid string."
        if spec.max_length is not None and len(value) > spec.max_length:
            return f"Ensure this field has no more than {spec.max_length} characters."
    elif spec.kind == "choice":
        if value not in CHANNELS:
            return f'"{value}" is not a valid choice.'[:200]
    elif spec.kind == "object" and not isinstance(value, dict):
        return f'Expected a dictionary of items but got type "{type(value).__name__}".'
    return None


def envelope_errors(data: Any) -> dict[str, list[str]]:
    """The checks the serializer makes, for the hot path (same field names and messages). A null
    value counts as absent: a widget sends null for what it does not know."""
    if not isinstance(data, dict):
        return {"non_field_errors": ["Send a JSON object."]}
    errors: dict[str, list[str]] = {}
    for spec in SUBMISSION_FIELDS:
        if spec.name not in data:
            if spec.required:
                errors[spec.name] = ["This field is required."]
            continue
        value = data[spec.name]
        message = None if value is None else _field_error(spec, value)
        if message is not None:
            errors[spec.name] = [message]
    return errors


def service_kwargs(
    data: Mapping[str, Any], *, idempotency_header: str, default_channel: str
) -> dict[str, Any]:
    """The keywords of `response_submit` an envelope fills (answers and customer aside)."""
    fallbacks = {"header": idempotency_header, "channel": default_channel}
    kwargs: dict[str, Any] = {}
    for spec in SUBMISSION_FIELDS:
        if spec.service_kwarg is None:
            continue
        fallback = (
            fallbacks.get(spec.fallback, spec.fallback) if isinstance(spec.fallback, str) else spec.fallback
        )
        kwargs[spec.service_kwarg] = data.get(spec.name) or (
            dict(fallback) if isinstance(fallback, dict) else fallback
        )
    return kwargs
