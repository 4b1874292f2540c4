"""`/api/v1/audit`: the organization's audit trail, read-only, newest first, with filters."""

from __future__ import annotations

import django_filters
from rest_framework import mixins, viewsets

from cxm.api.filters import DateTimeFilter, SelectorFilterSet
from cxm.api.mixins import OrganizationScopedMixin

from . import selectors
from .models import AuditEvent
from .serializers import AuditEventSerializer


class AuditEventFilter(SelectorFilterSet):
    selector = staticmethod(selectors.audit_events)
    action = django_filters.CharFilter(max_length=64)
    object_type = django_filters.CharFilter(max_length=64)
    object_id = django_filters.CharFilter(max_length=64)
    actor = django_filters.CharFilter(max_length=254)
    ip = django_filters.CharFilter(max_length=64)
    api_key = django_filters.CharFilter(max_length=16)
    start = DateTimeFilter(field_name="created_at", lookup_expr="gte")
    end = DateTimeFilter(field_name="created_at", lookup_expr="lte")

    class Meta:
        model = AuditEvent
        fields = ["action", "object_type", "object_id", "actor", "ip", "api_key", "start", "end"]


class AuditEventViewSet(
    OrganizationScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Audit events (filters: action, object_type, object_id, actor, ip, api_key, start, end)."""

    queryset = AuditEvent.objects.all()
    serializer_class = AuditEventSerializer
    filterset_class = AuditEventFilter
    read_permission = "view_audit"
