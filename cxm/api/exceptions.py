"""One JSON error shape for every API error:

{"error": {"status": 400, "code": "invalid", "message": "…", "fields": {"score": ["…"]}}}
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from cxm.core.unavailable import RETRY_AFTER_SECONDS, api_error_body, is_database_unavailable

logger = logging.getLogger("cxm.api")


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state."
    default_code = "conflict"


def error_body(status_code: int, code: str, message: str, fields: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"status": status_code, "code": code, "message": message}
    if fields:
        body["fields"] = fields
    return {"error": body}


def _first_message(detail: Any) -> str:
    if isinstance(detail, dict):
        for key, value in detail.items():
            inner = _first_message(value)
            return inner if key == "non_field_errors" else f"{key}: {inner}"
        return "Invalid input."
    if isinstance(detail, list):
        return _first_message(detail[0]) if detail else "Invalid input."
    return str(detail)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    response = drf_exception_handler(exc, context)
    if response is None and is_database_unavailable(exc):
        logger.warning("API: the database is unavailable (%s)", exc)
        return Response(api_error_body(), status=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    if response is None:
        logger.exception("unhandled API error", exc_info=exc)
        return Response(
            error_body(500, "server_error", "An unexpected error occurred; it has been logged."), status=500
        )
    detail = response.data
    if isinstance(exc, exceptions.ValidationError):
        fields = detail if isinstance(detail, dict) else {"non_field_errors": detail}
        response.data = error_body(response.status_code, "invalid", _first_message(detail), fields)
    else:
        code = getattr(exc, "default_code", "error")
        if isinstance(exc, exceptions.APIException):
            codes = exc.get_codes()
            code = codes if isinstance(codes, str) else code
        message = detail.get("detail", str(detail)) if isinstance(detail, dict) else str(detail)
        response.data = error_body(response.status_code, str(code), str(message))
    return response


def _json_error(request: HttpRequest, status_code: int, code: str, message: str) -> JsonResponse:
    return JsonResponse(error_body(status_code, code, message), status=status_code)


def api_404(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return _json_error(request, 404, "not_found", "Not found.")


def api_500(request: HttpRequest) -> JsonResponse:
    return _json_error(request, 500, "server_error", "An unexpected error occurred; it has been logged.")


def api_400(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    if isinstance(exception, RequestDataTooBig):
        return _json_error(request, 413, "payload_too_large", "The request body is too large.")
    return _json_error(request, 400, "bad_request", "Bad request.")


def api_403(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return _json_error(
        request, 403, "permission_denied", "You do not have permission to perform this action."
    )
