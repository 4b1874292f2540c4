"""Reading the audit trail: one filtered list behind the page and the API."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from cxm.tenancy.models import Organization

from .models import AuditEvent


def _moment(value: date | datetime, *, end: bool, organization: Organization) -> datetime:
    if isinstance(value, datetime):
        return value
    moment = datetime.combine(value, time.max if end else time.min)
    return timezone.make_aware(moment, organization.tzinfo)


def audit_events(
    *, organization: Organization, filters: dict[str, Any] | None = None
) -> QuerySet[AuditEvent]:
    """Newest first. Filters: action, object_type, object_id, actor (part of who), ip, api_key
    (prefix), start / end (a date in the organization's zone, or a moment)."""
    filters = filters or {}
    events = AuditEvent.objects.for_organization(organization)
    if filters.get("action"):
        events = events.filter(action=filters["action"])
    if filters.get("object_type"):
        events = events.filter(object_type=filters["object_type"])
    if filters.get("object_id"):
        events = events.filter(object_id=str(filters["object_id"]))
    if filters.get("actor"):
        events = events.filter(actor__icontains=filters["actor"])
    if filters.get("ip"):
        events = events.filter(ip=filters["ip"])
    if filters.get("api_key"):
        events = events.filter(Q(api_key_prefix=filters["api_key"]))
    if filters.get("start"):
        events = events.filter(
            created_at__gte=_moment(filters["start"], end=False, organization=organization)
        )
    if filters.get("end"):
        events = events.filter(created_at__lte=_moment(filters["end"], end=True, organization=organization))
    return events.order_by("-seq")


def audit_choices(*, organization: Organization) -> tuple[list[str], list[str]]:
    """The actions and object types this organization's trail holds (for the filter menus)."""
    events = AuditEvent.objects.for_organization(organization)
    actions = list(events.order_by("action").values_list("action", flat=True).distinct())
    types = list(events.order_by("object_type").values_list("object_type", flat=True).distinct())
    return actions, types
