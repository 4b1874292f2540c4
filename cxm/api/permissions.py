from __future__ import annotations

from typing import Any

from rest_framework import permissions
from rest_framework.request import Request

from cxm.tenancy.tenant import request_tenant, tenant_allows


def request_allows(request: Request, permission: str) -> bool:
    """An adapter: the decision is `Tenant.allows`."""
    return tenant_allows(request_tenant(request), permission)


class IsOrganizationMember(permissions.BasePermission):
    """An API key or a member's session; reads need `view`, writes need `edit` (or the view's `write_permission`)."""

    message = "Authentication with an API key (Authorization: Bearer …) is required."

    def has_permission(self, request: Request, view: Any) -> bool:
        if request_tenant(request) is None:
            return False
        if request.method in permissions.SAFE_METHODS:
            needed = getattr(view, "read_permission", "view")
        else:
            needed = getattr(view, "write_permission", "edit")
        if not request_allows(request, needed):
            self.message = f"This key or role lacks the '{needed}' permission."
            return False
        return True


class PublicEndpoint(permissions.BasePermission):
    """Endpoints customers reach without credentials (survey submission)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return True
