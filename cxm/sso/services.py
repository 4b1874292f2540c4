"""Single sign-on settings and just-in-time membership."""

from __future__ import annotations

from typing import Any

import requests
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cxm.audit.services import audit_change, snapshot, stored_snapshot
from cxm.tenancy.models import Membership, Organization
from cxm.tenancy.roles import Role

from .models import SsoProvider
from .secrets import secret_encrypt

DISCOVERY_TIMEOUT = 5


def sso_discover(*, issuer: str) -> dict[str, str]:
    """The endpoints in the issuer's discovery document; a clear error when it cannot be read."""
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    try:
        response = requests.get(url, timeout=DISCOVERY_TIMEOUT)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError):
        raise ValidationError(
            {"issuer": _("The provider's discovery document could not be read at %(url)s.") % {"url": url}}
        )
    if not isinstance(document, dict) or str(document.get("issuer", "")).rstrip("/") != issuer.rstrip("/"):
        raise ValidationError({"issuer": _("The discovery document names another issuer.")})
    missing = [k for k in ("authorization_endpoint", "token_endpoint", "jwks_uri") if not document.get(k)]
    if missing:
        raise ValidationError(
            {"issuer": _("The discovery document lacks %(fields)s.") % {"fields": ", ".join(missing)}}
        )
    if "RS256" not in (document.get("id_token_signing_alg_values_supported") or ["RS256"]):
        raise ValidationError({"issuer": _("The provider does not sign identity tokens with RS256.")})
    return {
        "authorization_endpoint": document["authorization_endpoint"],
        "token_endpoint": document["token_endpoint"],
        "userinfo_endpoint": document.get("userinfo_endpoint") or "",
        "jwks_uri": document["jwks_uri"],
    }


def sso_provider_of(*, organization: Organization | int) -> SsoProvider | None:
    return SsoProvider.objects.for_organization(organization).first()


@transaction.atomic
def sso_provider_save(
    *,
    organization: Organization,
    enabled: bool,
    issuer: str,
    client_id: str,
    client_secret: str = "",
    default_role: str = Role.VIEWER,
    allowed_domains: list[str] | None = None,
    password_login_disabled: bool = False,
) -> SsoProvider:
    """Saves the organization's provider (an empty secret keeps the stored one), reading its
    discovery document now so a login never waits for it; recorded in the audit trail, the
    secret never."""
    if default_role not in Role.values or default_role == Role.OWNER:
        raise ValidationError({"default_role": _("New members cannot be owners.")})
    provider = sso_provider_of(organization=organization) or SsoProvider(organization=organization)
    before = stored_snapshot(provider)
    endpoints = sso_discover(issuer=issuer)
    if not client_secret and not provider.client_secret_encrypted:
        raise ValidationError({"client_secret": _("Enter the client secret.")})
    if password_login_disabled and not enabled:
        raise ValidationError(
            {"password_login_disabled": _("Turn single sign-on on before turning password login off.")}
        )
    provider.enabled = enabled
    provider.issuer = issuer.rstrip("/")
    provider.client_id = client_id.strip()
    if client_secret:
        provider.client_secret_encrypted = secret_encrypt(client_secret)
    provider.default_role = default_role
    provider.allowed_domains = sorted(
        {d.strip().lower().lstrip("@") for d in allowed_domains or [] if d.strip()}
    )
    provider.password_login_disabled = password_login_disabled
    for name, value in endpoints.items():
        setattr(provider, name, value)
    provider.updated_at = timezone.now()
    provider.full_clean()
    provider.save()
    after: Any = snapshot(provider)
    if client_secret:
        after["client_secret"] = "(changed)"  # that it changed, never what it is
    audit_change(action="settings.sso_update", instance=provider, before=before, after=after)
    return provider


@transaction.atomic
def sso_member_join(*, provider: SsoProvider, user: User) -> Membership:
    """Just-in-time membership: someone the provider signs in joins with the default role."""
    membership, created = Membership.objects.get_or_create(
        organization_id=provider.organization_id, user=user, defaults={"role": provider.default_role}
    )
    if created:
        audit_change(action="member.join_sso", instance=membership)
    return membership


def password_login_refused(*, user: User) -> bool:
    """A member of an organization that turned password login off signs in through its provider."""
    organization_ids = (
        Membership.objects.unscoped().filter(user=user).values_list("organization_id", flat=True)
    )
    return (
        SsoProvider.objects.unscoped()
        .filter(organization_id__in=list(organization_ids), enabled=True, password_login_disabled=True)
        .exists()
    )
