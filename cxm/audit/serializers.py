from __future__ import annotations

from rest_framework import serializers

from .models import AuditEvent
from .services import HASHED_FIELDS


class AuditEventSerializer(serializers.ModelSerializer):
    """A row as it is hashed, with its place in the chain."""

    class Meta:
        model = AuditEvent
        fields = ["id", *HASHED_FIELDS, "prev_hash", "hash"]
        read_only_fields = fields
