"""The unread count for the top bar, on every page of a signed-in member: read only when a template
shows it, from the cache when it can (one query otherwise)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from cxm.tenancy.tenant import request_tenant

from .inbox import unread_count


def unread_notifications(request: HttpRequest) -> dict[str, Any]:
    tenant = request_tenant(request)
    user = getattr(request, "user", None)
    if tenant is None or tenant.membership is None or user is None or not user.is_authenticated:
        return {"unread_notifications": 0}
    organization_id = tenant.organization.pk
    return {"unread_notifications": lambda: unread_count(organization_id=organization_id, user=user)}
