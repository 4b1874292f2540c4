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
    (None: not passed through as is); `fallback`: what a missing or empty value becomes."""

    name: str
    kind: str
    max_length: int | None = None
    required: bool = False
    nullable: bool = False  # the integrator's serializer accepts null (the public check skips null always)
    service_kwarg: str | None = None
    fallback: Any = None


# Fallbacks that come from the request rather than the table: the Idempotency-Key header, and the
# channel of the endpoint (widget for the public one, api for the integrator's).
FROM_HEADER = "<the Idempotency-Key header>"
FROM_ENDPOINT = "<the endpoint's channel>"

SUBMISSION_FIELDS: tuple[SubmissionField, ...] = (
    SubmissionField("answers", "answers", required=True),
    SubmissionField("customer", "customer", nullable=True),
    SubmissionField("locale", "string", max_length=16, service_kwarg="locale", fallback=""),
    SubmissionField("page_url", "string", max_length=2000, service_kwarg="page_url", fallback=""),
    SubmissionField(
        "touchpoint", "string", max_length=100, nullable=True, service_kwarg="touchpoint_key", fallback=None
    ),
    SubmissionField(
        "idempotency_key", "string", max_length=128, service_kwarg="idempotency_key", fallback=FROM_HEADER
    ),
    SubmissionField("channel", "choice", service_kwarg="channel", fallback=FROM_ENDPOINT),
    SubmissionField("hidden_fields", "object", service_kwarg="hidden_fields", fallback={}),
)


def _string_error(limit: int | None) -> Any:
    def check(value: Any) -> str | None:
        if not isinstance(value, str):
            return "Not a valid string."
        if limit is not None and len(value) > limit:
            return f"Ensure this field has no more than {limit} characters."
        return None

    return check


def _choice_error(value: Any) -> str | None:
    if not isinstance(value, str) or value not in CHANNELS:
        return f'"{value}" is not a valid choice.'[:200]
    return None


def _object_error(value: Any) -> str | None:
    if not isinstance(value, dict):
        return f'Expected a dictionary of items but got type "{type(value).__name__}".'
    return None


def _checker(spec: SubmissionField) -> Any:
    """The serializer's message for a bad value of this field (None: valid), without building one."""
    if spec.kind == "string":
        return _string_error(spec.max_length)
    return {"choice": _choice_error, "object": _object_error}.get(spec.kind)


# Built once: this runs for every public submission.
_CHECKS = tuple((spec.name, spec.required, _checker(spec)) for spec in SUBMISSION_FIELDS)
_PASSED = tuple(
    (spec.name, spec.service_kwarg, spec.fallback) for spec in SUBMISSION_FIELDS if spec.service_kwarg
)


def envelope_errors(data: Any) -> dict[str, list[str]]:
    """The checks the serializer makes, for the hot path (same field names and messages). A null
    value counts as absent: a widget sends null for what it does not know."""
    if not isinstance(data, dict):
        return {"non_field_errors": ["Send a JSON object."]}
    errors: dict[str, list[str]] = {}
    for name, required, check in _CHECKS:
        if name not in data:
            if required:
                errors[name] = ["This field is required."]
            continue
        value = data[name]
        if check is not None and value is not None:
            message = check(value)
            if message is not None:
                errors[name] = [message]
    return errors


def service_kwargs(
    data: Mapping[str, Any], *, idempotency_header: str, default_channel: str
) -> dict[str, Any]:
    """The keywords of `response_submit` an envelope fills (answers and customer aside)."""
    kwargs: dict[str, Any] = {}
    for name, kwarg, fallback in _PASSED:
        value = data.get(name)
        if not value:
            if fallback is FROM_HEADER:
                value = idempotency_header
            elif fallback is FROM_ENDPOINT:
                value = default_channel
            else:
                value = {} if isinstance(fallback, dict) else fallback
        kwargs[kwarg] = value
    return kwargs
