"""Where a change comes from: the request being served (who, which key, which address, which
browser), bound by `AuditContextMiddleware`, so services record it without taking a request.

Commands and tasks have no request: their events name no person unless the caller passes one
(`audit_actor(label=...)`)."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse

from cxm.core.clientip import client_ip_of
from cxm.tenancy.tenant import request_tenant

_request: contextvars.ContextVar[Any] = contextvars.ContextVar("audit_request", default=None)
_label: contextvars.ContextVar[str] = contextvars.ContextVar("audit_label", default="")


@dataclass(frozen=True)
class Origin:
    actor_user_id: int | None = None
    actor: str = ""
    api_key_id: int | None = None
    api_key_prefix: str = ""
    ip: str = ""
    user_agent: str = ""


def current_origin() -> Origin:
    request = _request.get()
    if request is None:
        return Origin(actor=_label.get())
    user: Any = getattr(request, "user", None)
    authenticated = user is not None and bool(getattr(user, "is_authenticated", False))
    tenant = request_tenant(request)
    key = tenant.api_key if tenant is not None else None
    actor = ""
    if authenticated:
        actor = str(getattr(user, "email", "") or user.get_username())[:254]
    elif key is not None:
        actor = f"API key {key.name}"[:254]
    return Origin(
        actor_user_id=user.pk if authenticated else None,
        actor=actor or _label.get(),
        api_key_id=key.pk if key is not None else None,
        api_key_prefix=key.prefix if key is not None else "",
        ip=client_ip_of(request.META)[:64],
        user_agent=str(request.META.get("HTTP_USER_AGENT", ""))[:400],
    )


@contextlib.contextmanager
def audit_request(request: Any) -> Iterator[None]:
    token = _request.set(request)
    try:
        yield
    finally:
        _request.reset(token)


@contextlib.contextmanager
def audit_actor(*, label: str) -> Iterator[None]:
    """Names who acts outside a request (a command: `audit_actor(label="command seed_demo")`)."""
    token = _label.set(label)
    try:
        yield
    finally:
        _label.reset(token)


class AuditContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with audit_request(request):
            return self.get_response(request)
