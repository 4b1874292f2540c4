"""Under /api/ every error is JSON in the API's error shape, whatever produced it and even with DEBUG on.

DRF's exception handler covers the API views; these cover what happens around them: an unknown route
(Django's debug 404 page), an exception outside DRF (the debug 500 page), a method a plain Django view
does not allow, and a POST/PUT/PATCH/DELETE to an address missing its trailing slash.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponseBase, JsonResponse
from django.middleware.common import CommonMiddleware
from django.utils.translation import gettext as _

from .exceptions import error_body

API_PREFIX = "/api/"
_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "throttled",
    500: "server_error",
}
_MESSAGES = {
    404: "Not found.",
    500: "An unexpected error occurred; it has been logged.",
}
# Headers of the original response that still hold for the JSON one.
_KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate", "X-Request-ID", "Vary")


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def _is_json(response: HttpResponseBase) -> bool:
    content_type = response.get("Content-Type", "").split(";")[0].strip().lower()
    return content_type == "application/json" or content_type.endswith("+json")


def json_error_response(status_code: int, message: str | None = None) -> JsonResponse:
    if message is None:
        try:
            phrase = HTTPStatus(status_code).phrase
        except ValueError:
            phrase = "Error"
        message = _MESSAGES.get(status_code, f"{phrase}.")
    code = _CODES.get(status_code, "server_error" if status_code >= 500 else "error")
    return JsonResponse(error_body(status_code, code, message), status=status_code)


class ApiJsonErrorsMiddleware:
    """Replaces a non-JSON error response under /api/ (an HTML page, an empty body) by a JSON one."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self._acall(request)
        return self._as_json(request, self.get_response(request))

    async def _acall(self, request: HttpRequest) -> HttpResponseBase:
        return self._as_json(request, await self.get_response(request))

    def _as_json(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if response.status_code < 400 or not _is_api(request) or response.streaming or _is_json(response):
            return response
        replacement = json_error_response(response.status_code)
        for header in _KEPT_HEADERS:
            if response.has_header(header):
                replacement[header] = response[header]
        return replacement


class ApiCommonMiddleware(CommonMiddleware):
    """Django's CommonMiddleware, except that under /api/ a request with a body sent to an address
    missing its trailing slash is told so in a JSON 404: a redirect would drop the body (and with
    DEBUG on, Django raises instead). GET and HEAD are still redirected to the address with the slash."""

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if (
            response.status_code == 404
            and _is_api(request)
            and request.method not in ("GET", "HEAD")
            and self.should_redirect_with_slash(request)
        ):
            return json_error_response(
                404,
                _("Not found. This address ends with a slash: %(path)s") % {"path": f"{request.path}/"},
            )
        return super().process_response(request, response)
