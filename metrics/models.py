from __future__ import annotations

from django.db import models
from django.utils import timezone

from cxm.tenancy.models import TenantModel


class Snapshot(TenantModel):
    """A dashboard's computed payload for one set of filters, replaced atomically on recompute."""

    dashboard = models.CharField(max_length=32)
    filters_key = models.CharField(max_length=64)
    filters = models.JSONField(default=dict, blank=True)
    payload = models.JSONField(default=dict)
    computed_at = models.DateTimeField(default=timezone.now)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "dashboard", "filters_key"], name="snapshot_unique"
            ),
        ]
