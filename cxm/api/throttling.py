from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from cxm.core.clientip import client_ip_of
from cxm.tenancy.tenant import request_tenant


class ClientIpMixin:
    """The client's address from `cxm.core.clientip` (DRF's own believes any X-Forwarded-For)."""

    def get_ident(self, request: Any) -> str:
        return client_ip_of(request.META)


class ApiKeyRateThrottle(ClientIpMixin, SimpleRateThrottle):
    """Per API key (or per signed-in user, or per IP for anonymous calls)."""

    scope = "api_key"

    def get_cache_key(self, request: Request, view: Any) -> str:
        tenant = request_tenant(request)
        api_key = tenant.api_key if tenant is not None else None
        if api_key is not None:
            ident = f"key:{api_key.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class PublicRateThrottle(ClientIpMixin, SimpleRateThrottle):
    """Per client IP, for endpoints customers reach without credentials."""

    scope = "public"

    def get_cache_key(self, request: Request, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
