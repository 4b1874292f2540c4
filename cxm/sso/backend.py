"""mozilla-django-oidc's backend, per organization: the provider is the one the login started
with (`provider_context`), not a global setting. The library runs the code flow (token request,
PKCE, nonce, the JWKS key matching the token's `kid`); this class adds what it leaves out: the
audience, the issuer and the expiry are checked by PyJWT, and the domain rule and just-in-time
membership come from the organization's settings."""

from __future__ import annotations

import contextlib
import contextvars
import logging
from collections.abc import Iterator
from typing import Any

import jwt
import requests
from django.contrib.auth import get_user_model
from django.core.exceptions import SuspiciousOperation
from django.utils.translation import gettext as _
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from .models import SsoProvider
from .secrets import secret_decrypt

logger = logging.getLogger("cxm.sso")

_provider: contextvars.ContextVar[SsoProvider | None] = contextvars.ContextVar("sso_provider", default=None)

SIGN_ALGORITHM = "RS256"
LEEWAY_SECONDS = 30


@contextlib.contextmanager
def provider_context(provider: SsoProvider) -> Iterator[None]:
    token = _provider.set(provider)
    try:
        yield
    finally:
        _provider.reset(token)


class SsoRefused(SuspiciousOperation):
    """The provider's answer was not accepted; `reason` says why (shown to the person)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class OrganizationOIDCBackend(OIDCAuthenticationBackend):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Configured per login by `authenticate`, never from global settings.
        self.UserModel = get_user_model()
        self.provider: SsoProvider | None = None

    def _configure(self, provider: SsoProvider) -> None:
        self.provider = provider
        self.OIDC_OP_TOKEN_ENDPOINT = provider.token_endpoint
        self.OIDC_OP_USER_ENDPOINT = provider.userinfo_endpoint
        self.OIDC_OP_JWKS_ENDPOINT = provider.jwks_uri
        self.OIDC_RP_CLIENT_ID = provider.client_id
        self.OIDC_RP_CLIENT_SECRET = secret_decrypt(provider.client_secret_encrypted)
        self.OIDC_RP_SIGN_ALGO = SIGN_ALGORITHM
        self.OIDC_RP_IDP_SIGN_KEY = None

    def authenticate(self, request: Any, **kwargs: Any) -> Any:
        provider = _provider.get()
        if provider is None or request is None:
            return None  # a password login: not ours
        self._configure(provider)
        try:
            return super().authenticate(request, **kwargs)
        except SsoRefused as exc:
            reason = exc.reason
        except SuspiciousOperation as exc:
            reason = str(exc)
        except (requests.RequestException, ValueError, KeyError) as exc:
            reason = _("the provider could not be reached or answered badly (%(error)s)") % {
                "error": type(exc).__name__
            }
        logger.warning("single sign-on refused for organization %s: %s", provider.organization_id, reason)
        request.sso_refusal = reason
        return None

    def _verify_jws(self, payload: Any, key: Any) -> dict[str, Any]:
        assert self.provider is not None
        try:
            return jwt.decode(  # type: ignore[no-any-return]
                payload,
                key,
                algorithms=[SIGN_ALGORITHM],
                audience=self.provider.client_id,
                issuer=self.provider.issuer.rstrip("/"),
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "aud", "iss", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise SsoRefused(_("the identity token has expired"))
        except jwt.InvalidAudienceError:
            raise SsoRefused(_("the identity token was issued for another application"))
        except jwt.InvalidIssuerError:
            raise SsoRefused(_("the identity token comes from another issuer"))
        except jwt.InvalidSignatureError:
            raise SsoRefused(_("the identity token's signature is not valid"))
        except jwt.InvalidTokenError as exc:
            raise SsoRefused(_("the identity token is not valid (%(error)s)") % {"error": type(exc).__name__})

    def get_userinfo(self, access_token: str, id_token: str, payload: dict[str, Any]) -> dict[str, Any]:
        """The verified identity token's claims, completed by the userinfo endpoint when it has one."""
        claims = dict(payload)
        if self.OIDC_OP_USER_ENDPOINT and not claims.get("email"):
            extra = super().get_userinfo(access_token, id_token, payload)
            if extra.get("sub") not in (None, claims.get("sub")):
                raise SsoRefused(_("the userinfo answer is about someone else"))
            claims = {**extra, **claims}
        return claims

    def verify_claims(self, claims: dict[str, Any]) -> bool:
        try:
            return self._claims_allowed(claims)
        except SsoRefused as exc:
            # The library turns this into a quiet None; the person is told why.
            self.request.sso_refusal = exc.reason
            raise

    def _claims_allowed(self, claims: dict[str, Any]) -> bool:
        assert self.provider is not None
        email = str(claims.get("email") or "").strip().lower()
        if not email or "@" not in email:
            raise SsoRefused(_("the provider sent no email address"))
        if claims.get("email_verified") is False:
            raise SsoRefused(_("the provider has not verified this email address"))
        if not self.provider.domain_allowed(email):
            raise SsoRefused(_("this email address is outside the allowed email domains"))
        return True

    def filter_users_by_claims(self, claims: dict[str, Any]) -> Any:
        email = str(claims.get("email") or "").strip()
        return self.UserModel.objects.filter(email__iexact=email)

    def create_user(self, claims: dict[str, Any]) -> Any:
        from cxm.tenancy.services import user_create

        name = str(claims.get("name") or "")
        return user_create(email=str(claims["email"]), password=None, name=name)

    def get_or_create_user(self, access_token: str, id_token: str, payload: dict[str, Any]) -> Any:
        from .services import sso_member_join

        user = super().get_or_create_user(access_token, id_token, payload)
        if user is not None:
            assert self.provider is not None
            sso_member_join(provider=self.provider, user=user)
        return user
