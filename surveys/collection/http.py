"""What every collection entry point answers, in one place: the status and JSON body of each error,
the CORS headers of a survey's public routes, the security headers, and the checks of a public
submission that come before it reaches the rules (the id's form, the origin, the content type and
the JSON itself).

Project-wide rules are derived from their originals, not copied: the security headers are what
Django's SecurityMiddleware and the CSP middleware put on a response (`security_headers`), the error
body is `cxm.api.exceptions.error_body`, the throttle is `cxm.api.throttling.PublicRateThrottle`'s
rate and client identity (`throttle`)."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.middleware.security import SecurityMiddleware
from rest_framework import exceptions, status

from cxm.api.exceptions import _first_message, error_body
from cxm.core.jsonsafe import JsonRejected, loads_strict
from cxm.core.middleware import ContentSecurityPolicyMiddleware

from .. import selectors
from .fields import envelope_errors
from .rules import SubmitResult, SurveyNotAccepting

MAX_BODY = 64 * 1024
PATH = re.compile(r"^/api/v1/public/surveys/(?P<public_id>[^/]+)/responses/?$")
METHODS = frozenset({"POST", "OPTIONS"})


class SurveyClosed(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "This survey is not accepting responses."
    default_code = "survey_closed"


class StoreTimeout(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The response could not be stored in time; retry with the same key."
    default_code = "unavailable"


class OriginNotAllowed(exceptions.APIException):
    status_code = status.HTTP_403_FORBIDDEN
    default_detail = "This origin may not post to this survey; add it to the survey's allowed origins."
    default_code = "origin_not_allowed"


@dataclass
class Outcome:
    """An answer to send: status, JSON body (None: empty) and extra headers."""

    status: int
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)


def error(status_code: int, code: str, message: str, fields: Any = None) -> Outcome:
    return Outcome(status_code, error_body(status_code, code, message, fields))


def api_error(exc: exceptions.APIException) -> Outcome:
    return error(int(exc.status_code), str(exc.default_code), str(exc.default_detail))


def too_large() -> Outcome:
    return error(413, "payload_too_large", f"The request body is over {MAX_BODY // 1024} KB.")


def not_found() -> Outcome:
    return error(404, "not_found", "No survey has this id.")


SUBMIT_ERRORS = (SurveyNotAccepting, ValidationError, TimeoutError)


def failure(exc: Exception) -> Outcome:
    """The answer for what submitting raised (a closed survey, bad answers, a store that timed out),
    for every collection endpoint; anything else is re-raised."""
    if isinstance(exc, SurveyNotAccepting):
        return error(
            409, SurveyClosed.default_code, f"This survey is {exc.status} and is not accepting responses."
        )
    if isinstance(exc, ValidationError):
        fields = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return error(400, "invalid", _first_message(fields), fields)
    if isinstance(exc, TimeoutError):
        return api_error(StoreTimeout())
    raise exc


def result_body(result: SubmitResult, public_id: str) -> dict[str, Any]:
    return {
        "id": result.response_id,
        "survey": public_id,
        "idempotency_key": result.idempotency_key,
        "created": result.created,
        "score_kind": result.score_kind,
        "score": result.score,
        "comment": result.comment,
        "answers": {str(k): v for k, v in result.answers.items()},
    }


def success(result: SubmitResult, public_id: str) -> Outcome:
    return Outcome(201 if result.created else 200, result_body(result, public_id))


# --- CORS ------------------------------------------------------------------------------------


def cors_headers(origin: str, allowed: bool) -> dict[str, str]:
    """The CORS headers of a survey's public routes (the survey and its responses)."""
    headers = {"Vary": "Origin"}
    if origin and allowed:
        headers.update(
            {
                "Access-Control-Allow-Origin": origin,
                "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
                "Access-Control-Allow-Headers": "Content-Type, Idempotency-Key",
                "Access-Control-Max-Age": "600",
            }
        )
    return headers


def preflight(*, allowed: bool) -> Outcome:
    """CORS preflight: 204 for an allowed origin, 403 otherwise."""
    return Outcome(204) if allowed else api_error(OriginNotAllowed())


def request_origin(request: Any) -> str | None:
    """This site's origin as the request reached it, or None for a Host that ALLOWED_HOSTS refuses."""
    try:
        return f"{request.scheme}://{request.get_host()}"
    except Exception:  # noqa: BLE001  (a disallowed Host header: only SITE_URL counts)
        return None


def origin_allowed(
    *,
    origin: str,
    snapshot: selectors.SurveySnapshot | None,
    request: Any = None,
    own_origin: Any = None,
) -> bool:
    """No Origin (server to server), one of the survey's allowed origins, or this site's origin.

    This site is SITE_URL and the origin the request came in on (from `request`, or `own_origin()`
    for a server that has no Django request)."""
    if not origin:
        return True
    origin = origin.rstrip("/").lower()
    if snapshot is not None and (origin in snapshot.allowed_origins or "*" in snapshot.allowed_origins):
        return True
    parts = urlsplit(settings.SITE_URL)
    if origin == f"{parts.scheme}://{parts.netloc}".lower():
        return True
    own = request_origin(request) if request is not None else own_origin() if own_origin is not None else None
    return own is not None and origin == own.lower()


def cached_origin_allowed(*, origin: str, public_id: str, **kwargs: Any) -> bool:
    """`origin_allowed` from this process's snapshot cache only (no query): for an answer given
    before the lookup (a throttled request), so that the widget can still read why."""
    cached = selectors.survey_snapshot_cached(public_id=public_id)
    snapshot = None if cached is selectors.MISS else cast(selectors.SurveySnapshot | None, cached)
    return origin_allowed(origin=origin, snapshot=snapshot, **kwargs)


# --- Security headers ---------------------------------------------------------------------------


class _Probe:
    """What SecurityMiddleware asks of a request when it finishes a response."""

    def __init__(self, secure: bool) -> None:
        self.secure = secure

    def is_secure(self) -> bool:
        return self.secure


@functools.cache
def security_headers(secure: bool) -> tuple[tuple[str, str], ...]:
    """The headers Django's SecurityMiddleware and the CSP middleware add to a response (the lean
    WSGI lane runs them; the ASGI lane, outside Django's handler, adds these), from the same settings
    by the same code."""
    probe = HttpResponse()
    before = set(probe.headers)
    response = SecurityMiddleware(lambda request: probe).process_response(cast(Any, _Probe(secure)), probe)
    response = ContentSecurityPolicyMiddleware(lambda request: response)(cast(Any, None))
    return tuple((name, value) for name, value in response.headers.items() if name not in before)


# --- The checks before the rules ---------------------------------------------------------------


def id_refused(public_id: str) -> Outcome | None:
    """None for a public id of the right form; else the answer, without a lookup or a cache entry:
    400 for a control character (`%00`), 404 for anything else."""
    if selectors.public_id_valid(public_id):
        return None
    if any(ord(character) < 32 for character in public_id):
        return error(400, "invalid_character", "The survey id contains a control character (such as %00).")
    return not_found()


def screen(
    *, snapshot: selectors.SurveySnapshot | None, allowed: bool, content_type: str, body: bytes
) -> tuple[dict[str, Any] | None, Outcome | None]:
    """The checks after the throttle and the size cap: (the submission, None) or (None, the error)."""
    if snapshot is None:
        return None, not_found()
    if not allowed:
        return None, api_error(OriginNotAllowed())
    if not content_type.startswith("application/json"):
        return None, error(415, "unsupported_media_type", 'Send JSON with "Content-Type: application/json".')
    try:
        data = loads_strict(body or b"null")
    except JsonRejected as exc:
        return None, error(400, "parse_error", str(exc))
    errors = envelope_errors(data)
    if errors:
        return None, error(400, "invalid", _first_message(errors), errors)
    return data, None
