from __future__ import annotations

import secrets
import zoneinfo
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .roles import Role


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("Unknown time zone: %(tz)s"), params={"tz": value})


def default_org_settings() -> dict[str, Any]:
    return {}


def new_widget_secret() -> str:
    return secrets.token_hex(32)


class Organization(models.Model):
    """A tenant. Everything a customer of cxm owns hangs from one of these."""

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=64, unique=True)
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="UTC", validators=[validate_time_zone]
    )
    default_language = models.CharField(
        _("default language"), max_length=16, choices=settings.LANGUAGES, default="en"
    )
    # ISO 4217 code every money figure is shown in; other currencies are converted at the
    # organization's exchange rates (journeys.ExchangeRate).
    currency = models.CharField(_("currency"), max_length=3, default="USD")
    # Thresholds and rules with documented defaults (see OrganizationSettings in selectors).
    settings = models.JSONField(_("settings"), default=default_org_settings, blank=True)
    # Signs customer ids for the widget and links (`identity.customer_signature`): only the
    # organization's own servers know it, so a visitor cannot claim to be another customer.
    widget_secret = models.CharField(_("widget secret"), max_length=64, default=new_widget_secret)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


class TenantQuerySet(models.QuerySet):
    def for_organization(self, organization: Organization | int) -> TenantQuerySet:
        """The door: rows of one organization."""
        return self.filter(organization=organization)

    def unscoped(self) -> TenantQuerySet:
        """The hatch: every organization's rows, named so it stands out in review (tasks that load
        by id, commands, public ids resolved before a tenant is known)."""
        return self.all()


class TenantModel(models.Model):
    """Base for every tenant-owned model: a non-null organization, first in its indexes."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="%(app_label)s_%(class)s_set"
    )

    objects = TenantQuerySet.as_manager()

    class Meta:
        abstract = True


class Membership(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="membership_unique_user")
        ]
        ordering = ["organization_id", "user_id"]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organization} ({self.role})"


class ApiKey(TenantModel):
    """A secret for integrators; only its SHA-256 is stored, its prefix stays visible."""

    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    hashed_key = models.CharField(max_length=64, unique=True)
    read_only = models.BooleanField(_("read-only"), default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organization", "created_at"], name="apikey_org_created")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class MemberInvitation(TenantModel):
    """An email invitation to join an organization with a role; the token is stored hashed."""

    email = models.EmailField()
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organization", "email"], name="memberinv_org_email")]

    def __str__(self) -> str:
        return f"{self.email} → {self.organization}"


class UserPreference(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preference")
    language = models.CharField(max_length=16, choices=settings.LANGUAGES, blank=True)
    current_organization = models.ForeignKey(Organization, null=True, blank=True, on_delete=models.SET_NULL)

    def __str__(self) -> str:
        return f"preferences of {self.user_id}"
