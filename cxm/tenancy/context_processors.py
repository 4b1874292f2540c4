from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from .roles import PERMISSIONS
from .selectors import memberships_for_user
from .tenant import request_tenant


def organization(request: HttpRequest) -> dict[str, Any]:
    tenant = request_tenant(request)
    membership = tenant.membership if tenant is not None else None
    if tenant is None or membership is None:
        return {"current_organization": None, "current_membership": None, "can": {}}
    return {
        "current_organization": tenant.organization,
        "current_membership": membership,
        "can": {name: tenant.allows(name) for name in PERMISSIONS},
        "user_memberships": lambda: memberships_for_user(user=request.user),
    }
