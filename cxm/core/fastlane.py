"""A lean WSGI lane for the few public endpoints that customers' browsers hit at high rates.

The public survey submission needs no session, user, CSRF token, messages or locale negotiation,
yet those middlewares cost more than the endpoint's own work. Requests to the paths the entry point
names (`cxm/wsgi.py`: the public survey submission) go through a second Django handler whose
middleware keeps only what every response must have (request id, security headers, CSP);
everything else goes through the full stack. Same views,
same URLconf, same error shape.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler

LEAN_MIDDLEWARE = [
    "cxm.core.middleware.RequestIdMiddleware",
    "cxm.api.middleware.ApiJsonErrorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "cxm.core.middleware.ContentSecurityPolicyMiddleware",
]


class LeanWSGIHandler(WSGIHandler):
    def load_middleware(self, is_async: bool = False) -> None:
        full = settings.MIDDLEWARE
        settings.MIDDLEWARE = LEAN_MIDDLEWARE
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = full


def with_fast_lane(
    full_app: WSGIHandler, *, paths: re.Pattern[str], methods: frozenset[str]
) -> Callable[..., Iterable[bytes]]:
    """`full_app`, except for requests with one of `methods` to a path matching `paths`."""
    lean_app = LeanWSGIHandler()

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") in methods and paths.match(environ.get("PATH_INFO", "")):
            return lean_app(environ, start_response)
        return full_app(environ, start_response)

    return application
