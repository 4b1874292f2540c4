from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from .roles import PERMISSIONS
from .selectors import memberships_for_user


def organization(request: HttpRequest) -> dict[str, Any]:
    membership = getattr(request, "membership", None)
    if membership is None:
        return {"current_organization": None, "current_membership": None, "can": {}}
    return {
        "current_organization": membership.organization,
        "current_membership": membership,
        "can": {name: membership.role in roles for name, roles in PERMISSIONS.items()},
        "user_memberships": lambda: memberships_for_user(user=request.user),
    }
