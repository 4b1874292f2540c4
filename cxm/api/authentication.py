from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from cxm.tenancy.middleware import resolve_membership
from cxm.tenancy.services import api_key_authenticate
from cxm.tenancy.tenant import Tenant, bind_tenant


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer cxm_…`: the key's organization becomes the request's organization."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _sep, token = header.partition(" ")
        if scheme.lower() != self.keyword.lower():
            return None
        token = token.strip()
        if not token:
            raise exceptions.AuthenticationFailed("The Authorization header has no key after 'Bearer'.")
        api_key = api_key_authenticate(plaintext=token)
        if api_key is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        bind_tenant(request, Tenant(organization=api_key.organization, api_key=api_key))
        return (AnonymousUser(), api_key)

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class OrganizationSessionAuthentication(authentication.SessionAuthentication):
    """A signed-in browser user acts in the organization chosen in their session (CSRF enforced)."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        result = super().authenticate(request)
        if result is None:
            return None
        membership = resolve_membership(request._request)
        bind_tenant(
            request,
            Tenant(organization=membership.organization, membership=membership) if membership else None,
        )
        return result
