"""A database that cannot be reached answers 503 with Retry-After (JSON under /api/, a short page
elsewhere), not 500: the request was fine and will succeed later. `/readyz` says the same to the
load balancer."""

from __future__ import annotations

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader

# django.db wraps the driver's connection errors (refused, reset, "the database system is starting
# up", too many clients) in these two; a query error is a DatabaseError of another kind.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 30
API_MESSAGE = "The service is temporarily unavailable (its database cannot be reached); retry shortly."


def is_database_unavailable(exc: BaseException | None) -> bool:
    return isinstance(exc, DATABASE_UNAVAILABLE)


def api_error_body() -> dict[str, object]:
    return {"error": {"status": 503, "code": "service_unavailable", "message": API_MESSAGE}}


def service_unavailable(request: HttpRequest) -> HttpResponse:
    """The 503 answer for `request`: JSON under /api/, else a page that needs no database."""
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse(api_error_body(), status=503)
    else:
        response = HttpResponse(loader.render_to_string("503.html"), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
