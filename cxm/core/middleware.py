from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from .clientip import client_ip_of
from .logging import client_ip_var, request_id_var

_VALID_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def valid_request_id(value: str) -> bool:
    """A client's X-Request-ID is kept when it is short and plain (it goes into logs and headers)."""
    return bool(_VALID_ID.match(value))


class RequestIdMiddleware:
    """Gives every request an id (kept from X-Request-ID when sane), logged and echoed back."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if valid_request_id(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        token = request_id_var.set(request_id)
        ip_token = client_ip_var.set(client_ip_of(request.META))
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
            client_ip_var.reset(ip_token)
        response["X-Request-ID"] = request_id
        return response


CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'; "
    "object-src 'none'"
)


class ContentSecurityPolicyMiddleware:
    """A strict CSP: scripts only from this origin, never inline. Views may set their own header."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = CSP
        return response


def _has_nul(request: HttpRequest) -> bool:
    if "\x00" in request.path_info:
        return True
    query = request.META.get("QUERY_STRING", "")
    if "%00" in query or "\x00" in query:
        return True
    if (
        request.method == "POST"
        and not request.path_info.startswith("/api/")  # the API reads JSON itself (cxm.api.parsers)
        and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        return any("\x00" in value for values in request.POST.lists() for value in values[1])
    return False


class RejectNulMiddleware:
    """A NUL character (`%00`) in the path, the query or a form answers 400: no database stores it in
    text, and an id or a value carrying one would otherwise reach a query and fail there (500)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _has_nul(request):
            message = "The request contains a NUL character (%00), which is not allowed."
            if request.path_info.startswith("/api/"):
                from django.http import JsonResponse

                body = {"error": {"status": 400, "code": "invalid_character", "message": message}}
                return JsonResponse(body, status=400)
            from django.http import HttpResponseBadRequest

            return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


class EmbeddedBeatMiddleware:
    """Starts the beat schedule in this process's background threads when there is no broker
    (`cxm.core.background.beat_start`), once, when the server loads its middleware; costs nothing
    per request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        from django.core.exceptions import MiddlewareNotUsed

        from .background import beat_start

        beat_start()
        raise MiddlewareNotUsed
