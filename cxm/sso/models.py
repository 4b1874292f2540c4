"""An organization's OpenID Connect provider (Keycloak, Entra ID, Okta, Google Workspace, 企业微信 /
飞书 / 钉钉 where they speak OIDC): one per organization, configured in Settings."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cxm.tenancy.models import TenantModel
from cxm.tenancy.roles import Role


class SsoProvider(TenantModel):
    enabled = models.BooleanField(_("single sign-on on"), default=False)
    issuer = models.URLField(_("issuer"), max_length=500)
    client_id = models.CharField(_("client id"), max_length=255)
    # Encrypted with a key derived from SECRET_KEY (`secrets.py`); never shown again.
    client_secret_encrypted = models.TextField(blank=True)
    default_role = models.CharField(
        _("role of new members"), max_length=16, choices=Role.choices, default=Role.VIEWER
    )
    # "acme.com": everyone the provider signs in with an address there may join; empty: anyone it signs in.
    allowed_domains = models.JSONField(_("allowed email domains"), default=list, blank=True)
    password_login_disabled = models.BooleanField(_("password login off"), default=False)
    # From the issuer's discovery document, read when the settings are saved.
    authorization_endpoint = models.URLField(max_length=500, blank=True)
    token_endpoint = models.URLField(max_length=500, blank=True)
    userinfo_endpoint = models.URLField(max_length=500, blank=True)
    jwks_uri = models.URLField(max_length=500, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization"], name="ssoprovider_one_per_org")]

    def __str__(self) -> str:
        return f"{self.issuer} ({self.client_id})"

    def domain_allowed(self, email: str) -> bool:
        if not self.allowed_domains:
            return True
        domain = email.rpartition("@")[2].lower()
        return bool(domain) and domain in {d.lower().lstrip("@") for d in self.allowed_domains}
