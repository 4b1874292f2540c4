"""HTTP Basic with the API key as the user name, as Delighted's clients send it.

Both forms are accepted: `Basic base64("key:")` (curl, Ruby, Node, PHP) and `Basic base64("key")`
without the colon (the Python client). The key is one of the organization's cxm API keys."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from django.contrib.auth.models import AnonymousUser
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from cxm.tenancy.services import api_key_authenticate
from cxm.tenancy.tenant import Tenant, bind_tenant

REALM = 'Basic realm="Delighted API"'


def key_from_basic(header: str) -> str | None:
    """The key of a `Basic …` header value, or None when the header is not Basic."""
    scheme, _sep, token = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise exceptions.AuthenticationFailed(
            "The Authorization header is not valid Basic credentials."
        ) from None
    user, _colon, _password = decoded.partition(":")
    return user.strip()


class DelightedBasicAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        key = key_from_basic(header)
        if key is None:
            raise exceptions.AuthenticationFailed(
                "Use HTTP Basic authentication with your API key as the user name."
            )
        api_key = api_key_authenticate(plaintext=key) if key else None
        if api_key is None:
            raise exceptions.AuthenticationFailed("Invalid API key.")
        bind_tenant(request, Tenant(organization=api_key.organization, api_key=api_key))
        return (AnonymousUser(), api_key)

    def authenticate_header(self, request: Request) -> str:
        return REALM
