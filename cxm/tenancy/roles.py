"""Who may do what. The one written-down place for it; views and the API ask `role_allows`.

| permission          | owner | admin | analyst | viewer |
|---------------------|:-----:|:-----:|:-------:|:------:|
| view                |   x   |   x   |    x    |   x    |  dashboards, responses, customers, journeys
| export              |   x   |   x   |    x    |        |  CSV/XLSX downloads, customer data export
| edit                |   x   |   x   |    x    |        |  surveys, journeys, imports, invitations to customers
| manage_members      |   x   |   x   |         |        |  invite, change roles, remove (never an owner, unless owner)
| manage_api_keys     |   x   |   x   |         |        |
| manage_organization |   x   |   x   |         |        |  name, time zone, language, metric thresholds
| erase_customer      |   x   |   x   |         |        |  privacy erasure
| manage_owners       |   x   |       |         |        |  grant or remove the owner role, delete the organization
| view_audit          |   x   |   x   |         |        |  the audit trail (API keys too: a security tool reads it)
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    ADMIN = "admin", _("Admin")
    ANALYST = "analyst", _("Analyst")
    VIEWER = "viewer", _("Viewer")


_ALL = frozenset(Role.values)
_EDITORS = frozenset({Role.OWNER, Role.ADMIN, Role.ANALYST})
_ADMINS = frozenset({Role.OWNER, Role.ADMIN})

PERMISSIONS: dict[str, frozenset[str]] = {
    "view": _ALL,
    "export": _EDITORS,
    "edit": _EDITORS,
    "manage_members": _ADMINS,
    "manage_api_keys": _ADMINS,
    "manage_organization": _ADMINS,
    "erase_customer": _ADMINS,
    "manage_owners": frozenset({Role.OWNER}),
    "view_audit": _ADMINS,
}

# What an API key may do: a read-only key views and exports; a read-write key also edits.
API_KEY_PERMISSIONS: dict[bool, frozenset[str]] = {
    True: frozenset({"view", "export", "view_audit"}),
    False: frozenset({"view", "export", "edit", "view_audit"}),
}


def role_allows(role: str | None, permission: str) -> bool:
    if permission not in PERMISSIONS:
        raise KeyError(f"unknown permission {permission!r}")
    return role is not None and role in PERMISSIONS[permission]
