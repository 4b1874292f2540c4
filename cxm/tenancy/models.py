from __future__ import annotations

import contextlib
import contextvars
import secrets
import zoneinfo
from collections.abc import Iterator
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


class UnscopedQuery(Exception):
    """A tenant-owned table was read (or updated, or deleted) without saying whose rows."""


# How a queryset was reached: the door, the hatch, or through an object already loaded scoped.
SCOPED_BY_ORGANIZATION = "organization"
SCOPED_UNSCOPED = "unscoped"
SCOPED_BY_PARENT = "parent"
SCOPED_EMPTY = "empty"

# Django's own row checks (unique fields and constraints) must see every organization's rows.
_internal_unscoped: contextvars.ContextVar[bool] = contextvars.ContextVar("tenancy_internal", default=False)


@contextlib.contextmanager
def _unscoped_internals() -> Iterator[None]:
    token = _internal_unscoped.set(True)
    try:
        yield
    finally:
        _internal_unscoped.reset(token)


class TenantQuerySet(models.QuerySet):
    """Rows of tenant-owned tables. Evaluating one that went through neither
    `for_organization(org)` nor `unscoped()` (nor a related manager of a loaded object) raises
    `UnscopedQuery`, so a forgotten tenant filter is an error in tests, not a leak in production.
    Building one is free: class-level `queryset = Model.objects.all()` declarations stay legal."""

    _tenant_scope: str | None = None

    def for_organization(self, organization: Organization | int) -> TenantQuerySet:
        """The door: rows of one organization."""
        return self.filter(organization=organization)._scoped_as(SCOPED_BY_ORGANIZATION)

    def unscoped(self) -> TenantQuerySet:
        """The hatch: every organization's rows, named so it stands out in review (tasks that load
        by id, commands, public ids resolved before a tenant is known)."""
        return self.all()._scoped_as(SCOPED_UNSCOPED)

    def __repr__(self) -> str:
        if self._tenant_scope is None and self._result_cache is None:
            return f"<{type(self).__name__} {self.model.__name__} (unscoped, not evaluated)>"
        return super().__repr__()

    @property
    def tenant_scope(self) -> str | None:
        return self._tenant_scope

    def _scoped_as(self, scope: str) -> TenantQuerySet:
        self._tenant_scope = scope
        return self

    def _require_scope(self, action: str) -> None:
        if self._tenant_scope is None and not _internal_unscoped.get():
            name = self.model.__name__
            raise UnscopedQuery(
                f"{name}.objects: {action} of an unscoped queryset. Start from "
                f"{name}.objects.for_organization(organization) (or a view's scoped queryset); "
                f"code that must cross tenants says so with {name}.objects.unscoped()."
            )

    # Scope survives chaining (filter, order_by, values, select_related…).
    def _clone(self) -> TenantQuerySet:
        clone = super()._clone()  # type: ignore[misc]
        clone._tenant_scope = self._tenant_scope
        return clone

    # Reached through a loaded object (a related manager, a prefetch, a foreign key): Django
    # hints the instance, and the rows are filtered by that parent, itself fetched scoped.
    def _add_hints(self, **hints: Any) -> None:
        super()._add_hints(**hints)  # type: ignore[misc]
        if "instance" in hints and self._tenant_scope is None:
            self._tenant_scope = SCOPED_BY_PARENT

    def none(self) -> TenantQuerySet:
        clone = super().none()
        if clone._tenant_scope is None:
            clone._tenant_scope = SCOPED_EMPTY
        return clone

    # Every way a queryset reaches the database.
    def _fetch_all(self) -> None:
        if self._result_cache is None:
            self._require_scope("evaluation")
        super()._fetch_all()

    def iterator(self, chunk_size: int | None = None) -> Iterator[Any]:
        self._require_scope("iterator()")
        return super().iterator(chunk_size=chunk_size)

    def aiterator(self, chunk_size: int = 2000) -> Any:
        self._require_scope("aiterator()")
        return super().aiterator(chunk_size=chunk_size)

    def count(self) -> int:
        if self._result_cache is None:
            self._require_scope("count()")
        return super().count()

    def exists(self) -> bool:
        if self._result_cache is None:
            self._require_scope("exists()")
        return super().exists()

    def contains(self, obj: Any) -> bool:
        if self._result_cache is None:
            self._require_scope("contains()")
        return super().contains(obj)

    def aggregate(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        self._require_scope("aggregate()")
        return super().aggregate(*args, **kwargs)

    def update(self, **kwargs: Any) -> int:
        self._require_scope("update()")
        return super().update(**kwargs)

    def _update(self, values: Any) -> Any:
        self._require_scope("update()")
        return super()._update(values)  # type: ignore[misc]

    def delete(self) -> tuple[int, dict[str, int]]:
        self._require_scope("delete()")
        return super().delete()

    def _raw_delete(self, using: Any) -> int:
        self._require_scope("delete()")
        return super()._raw_delete(using)

    def explain(self, *, format: Any = None, **options: Any) -> str:  # noqa: A002
        self._require_scope("explain()")
        return super().explain(format=format, **options)

    def bulk_update(self, objs: Any, fields: Any, batch_size: int | None = None) -> int:
        # The rows are the given objects, already loaded (so already scoped).
        with _unscoped_internals():
            return super().bulk_update(objs, fields, batch_size=batch_size)

    # `get_or_create(organization=org, …)` looks up by organization: scoped by its own lookup.
    def _scoped_by_lookup(self, lookup: dict[str, Any]) -> TenantQuerySet:
        if self._tenant_scope is None and ("organization" in lookup or "organization_id" in lookup):
            return self._chain()._scoped_as(SCOPED_BY_ORGANIZATION)  # type: ignore[attr-defined,no-any-return]
        return self

    def get_or_create(self, defaults: Any = None, **kwargs: Any) -> tuple[Any, bool]:
        queryset = self._scoped_by_lookup(kwargs)
        return super(TenantQuerySet, queryset).get_or_create(defaults=defaults, **kwargs)

    def update_or_create(
        self, defaults: Any = None, create_defaults: Any = None, **kwargs: Any
    ) -> tuple[Any, bool]:
        queryset = self._scoped_by_lookup(kwargs)
        return super(TenantQuerySet, queryset).update_or_create(
            defaults=defaults, create_defaults=create_defaults, **kwargs
        )

    # `pk__in=queryset`: the inner queryset must be scoped (or marked unscoped) too. `Subquery()` and
    # `Exists()` are not checked: they are correlated to the outer, scoped row through `OuterRef`.
    def resolve_expression(self, *args: Any, **kwargs: Any) -> Any:
        self._require_scope("use as a subquery")
        return super().resolve_expression(*args, **kwargs)


class TenantManager(models.Manager.from_queryset(TenantQuerySet)):  # type: ignore[misc]
    """The default manager of every tenant-owned model. `_base_manager` stays Django's plain one,
    so refresh_from_db, the deletion collector and foreign-key descriptors keep working."""

    def get_queryset(self) -> TenantQuerySet:
        queryset = super().get_queryset()
        # A related manager (`survey.questions`, `organization.<x>_set`) filters by its loaded parent.
        if hasattr(self, "core_filters") or getattr(self, "instance", None) is not None:
            queryset._tenant_scope = SCOPED_BY_PARENT
        return queryset


class TenantScopedChecks(models.Model):
    """Django's unique and constraint checks look at every organization's rows (the database
    constraint does too), so they run with the strict manager's check off."""

    class Meta:
        abstract = True

    def validate_unique(self, exclude: Any = None) -> None:
        with _unscoped_internals():
            super().validate_unique(exclude=exclude)

    def validate_constraints(self, exclude: Any = None) -> None:
        with _unscoped_internals():
            super().validate_constraints(exclude=exclude)


class TenantModel(TenantScopedChecks):
    """Base for every tenant-owned model: a non-null organization, first in its indexes, and a
    default manager that refuses a query that does not say whose rows it wants."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="%(app_label)s_%(class)s_set"
    )

    objects = TenantManager()

    class Meta:
        abstract = True


class Membership(TenantScopedChecks):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(default=timezone.now)

    objects = TenantManager()

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
