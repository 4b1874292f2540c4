"""Who the request acts for, typed: `tenant_of(request)` instead of untyped request attributes.

The page middleware (a member's session) and the API authentication classes (a key or a session)
bind one `Tenant` to the request; `Tenant.allows(permission)` is the single decision on what it may
do, and every guard (page decorator and mixin, DRF permission) is a thin adapter over it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .roles import API_KEY_PERMISSIONS, role_allows

if TYPE_CHECKING:
    from .models import ApiKey, Membership, Organization

TENANT_ATTR = "tenant"


@dataclass(frozen=True)
class Tenant:
    organization: Organization
    membership: Membership | None = None
    api_key: ApiKey | None = None

    @property
    def role(self) -> str | None:
        return self.membership.role if self.membership is not None else None

    def allows(self, permission: str) -> bool:
        """The one rule: a key by its read-only flag, a member by their role (cxm/tenancy/roles.py)."""
        if self.api_key is not None:
            role_allows(None, permission)  # an unknown permission name is a KeyError here too
            return permission in API_KEY_PERMISSIONS[self.api_key.read_only]
        return role_allows(self.role, permission)


def tenant_allows(tenant: Tenant | None, permission: str) -> bool:
    if tenant is None:
        role_allows(None, permission)
        return False
    return tenant.allows(permission)


def bind_tenant(request: Any, tenant: Tenant | None) -> None:
    """Set on the Django request (and on a DRF request wrapping it, if given one)."""
    setattr(request, TENANT_ATTR, tenant)
    inner = getattr(request, "_request", None)
    if inner is not None:
        setattr(inner, TENANT_ATTR, tenant)


def request_tenant(request: Any) -> Tenant | None:
    """The request's tenant, or None (signed out, no membership, public endpoint)."""
    tenant = getattr(request, TENANT_ATTR, None)
    return tenant if isinstance(tenant, Tenant) else None


def tenant_of(request: Any) -> Tenant:
    """The tenant of a request that passed a tenancy guard (the page mixin/decorator, the DRF permission)."""
    tenant = request_tenant(request)
    if tenant is None:
        raise LookupError("this request has no tenant; guard the view with organization_required")
    return tenant


def organization_of(request: Any) -> Organization:
    return tenant_of(request).organization
