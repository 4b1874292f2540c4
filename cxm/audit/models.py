"""The audit trail: one append-only table, hash-chained per organization.

No foreign keys leave an event (to a user, a key, an organization): deleting any of them must not
touch the trail, and the database refuses every UPDATE and DELETE of it on PostgreSQL
(migration 0001's trigger). The model refuses them too, on any database.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cxm.tenancy.models import Organization, TenantManager, TenantModel, TenantQuerySet


class AppendOnly(Exception):
    """An audit row (or a response seal) was to be changed or deleted."""


class AppendOnlyQuerySet(TenantQuerySet):
    def update(self, **kwargs: Any) -> int:
        raise AppendOnly("the audit trail is append-only")

    def _update(self, values: Any) -> Any:
        raise AppendOnly("the audit trail is append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnly("the audit trail is append-only")

    def _raw_delete(self, using: Any) -> int:
        raise AppendOnly("the audit trail is append-only")

    def bulk_update(self, objs: Any, fields: Any, batch_size: int | None = None) -> int:
        raise AppendOnly("the audit trail is append-only")


class AppendOnlyManager(TenantManager.from_queryset(AppendOnlyQuerySet)):  # type: ignore[misc]
    pass


class AppendOnlyModel(TenantModel):
    organization = models.ForeignKey(
        Organization,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="%(app_label)s_%(class)s_set",
    )

    objects = AppendOnlyManager()  # type: ignore[misc]

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnly(f"{type(self).__name__} rows are never changed")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise AppendOnly(f"{type(self).__name__} rows are never deleted")


class AuditEvent(AppendOnlyModel):
    """Who changed what, when and from where, with the values before and after.

    `hash` = SHA-256(prev_hash + the canonical JSON of the row); `seq` counts 1, 2, 3… per
    organization, so an edited row breaks its own hash and a deleted one leaves a gap."""

    seq = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(_("when"), default=timezone.now)
    actor_user_id = models.BigIntegerField(null=True, blank=True)
    actor = models.CharField(_("who"), max_length=254, blank=True)
    api_key_id = models.BigIntegerField(null=True, blank=True)
    api_key_prefix = models.CharField(max_length=16, blank=True)
    ip = models.CharField(_("IP address"), max_length=64, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=400, blank=True)
    action = models.CharField(_("action"), max_length=64)
    object_type = models.CharField(_("object type"), max_length=64)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    object_repr = models.CharField(_("object"), max_length=200, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["-seq"]
        constraints = [models.UniqueConstraint(fields=["organization", "seq"], name="auditevent_org_seq")]
        indexes = [
            models.Index(fields=["organization", "created_at"], name="auditevent_org_created"),
            models.Index(fields=["organization", "object_type", "object_id"], name="auditevent_org_object"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.object_type}:{self.object_id}"


class AuditChainHead(models.Model):
    """The last link of an organization's chain: locked to append (one writer at a time per
    organization) and compared with the last row when verifying, so a deleted tail shows too."""

    organization_id = models.BigIntegerField(primary_key=True)
    seq = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64, default="0" * 64)

    def __str__(self) -> str:
        return f"audit head of {self.organization_id}: #{self.seq}"


class ResponseSeal(AppendOnlyModel):
    """One stored survey response, sealed in storage order: `digest` is the SHA-256 of its
    canonical content (answers included), `hash` = SHA-256(previous seal's hash + digest)."""

    seq = models.PositiveBigIntegerField()
    response_id = models.BigIntegerField()
    digest = models.CharField(max_length=64)
    # "stored" when first sealed; "erased" when an erasure scrubbed it (its new content is sealed again).
    reason = models.CharField(max_length=16, default="stored")
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)
    sealed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["seq"]
        constraints = [models.UniqueConstraint(fields=["organization", "seq"], name="responseseal_org_seq")]
        indexes = [models.Index(fields=["organization", "response_id"], name="responseseal_org_response")]

    def __str__(self) -> str:
        return f"seal #{self.seq} of response {self.response_id}"


class ResponseSealHead(models.Model):
    organization_id = models.BigIntegerField(primary_key=True)
    seq = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64, default="0" * 64)

    def __str__(self) -> str:
        return f"response seal head of {self.organization_id}: #{self.seq}"
