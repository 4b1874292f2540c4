"""The Django side of collection: the public submission as a plain Django view (runserver and WSGI
servers; production's ASGI server uses `asgi`), and the integrator's submission (`POST
/api/v1/responses`, a DRF view in `surveys.api`), both answering through `http`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from rest_framework.response import Response as ApiResponse

from .. import selectors
from ..models import ResponseChannel
from . import write
from .http import (
    MAX_BODY,
    SUBMIT_ERRORS,
    Outcome,
    cached_origin_allowed,
    cors_headers,
    failure,
    id_refused,
    origin_allowed,
    screen,
    success,
    too_large,
)
from .throttle import throttled


def fast_public_submit(request: HttpRequest, public_id: str) -> HttpResponse:
    """The public submission (same sequence as `asgi._outcome`) as a Django view. The lean WSGI lane
    (`cxm.core.fastlane`) adds the security headers; it skips DRF's request wrapping and serializer
    construction, which cost more than the endpoint's own work (bench/surveys_submit.py)."""
    origin = request.headers.get("Origin", "")
    outcome = id_refused(public_id)
    allowed = False
    if outcome is None:
        # The throttle comes before any lookup: unknown ids cost a stranger their budget, not a query.
        outcome = throttled(request)
        if outcome is not None:
            allowed = cached_origin_allowed(origin=origin, public_id=public_id, request=request)
    if outcome is None:
        snapshot = selectors.survey_snapshot(public_id=public_id)
        allowed = origin_allowed(origin=origin, snapshot=snapshot, request=request)
        outcome = _submit(request, snapshot, allowed)
    response = (
        HttpResponse(status=outcome.status)
        if outcome.body is None
        else JsonResponse(outcome.body, status=outcome.status)
    )
    for name, value in {**outcome.headers, **cors_headers(origin, allowed)}.items():
        response[name] = value
    return response


def request_body(request: HttpRequest) -> bytes | None:
    """The request body, or None when it is over MAX_BODY (announced or sent)."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY:
        return None
    try:
        raw = request.body
    except RequestDataTooBig:
        return None
    return None if len(raw) > MAX_BODY else raw


def _submit(request: HttpRequest, snapshot: selectors.SurveySnapshot | None, allowed: bool) -> Outcome:
    raw = request_body(request)
    if raw is None:
        return too_large()
    data, refused = screen(
        snapshot=snapshot, allowed=allowed, content_type=request.content_type or "", body=raw
    )
    if refused is not None:
        return refused
    assert snapshot is not None and data is not None
    return submitted(snapshot=snapshot, data=data, request=request, default_channel=ResponseChannel.WIDGET)


def submitted(
    *, snapshot: selectors.SurveySnapshot, data: dict[str, Any], request: Any, **kwargs: Any
) -> Outcome:
    """The answer to a checked envelope, whichever endpoint received it (`write.submit_envelope`'s
    keywords: the endpoint's channel, and for the integrator its trust and `submitted_at`)."""
    try:
        result = write.submit_envelope(
            snapshot=snapshot,
            data=data,
            idempotency_header=request.headers.get("Idempotency-Key", ""),
            **kwargs,
        )
    except SUBMIT_ERRORS as exc:
        return failure(exc)
    return success(result, snapshot.public_id)


def integrator_submit(
    *, snapshot: selectors.SurveySnapshot, data: dict[str, Any], request: Any, submitted_at: datetime | None
) -> ApiResponse:
    """An integrator's validated submission (its API key speaks for the organization: its customer
    ids need no signature), answered as the public endpoint answers."""
    outcome = submitted(
        snapshot=snapshot,
        data=data,
        request=request,
        default_channel=ResponseChannel.API,
        trusted_identity=True,
        submitted_at=submitted_at,
    )
    return ApiResponse(outcome.body, status=outcome.status, headers=outcome.headers or None)
