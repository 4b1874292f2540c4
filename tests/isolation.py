"""The registry the cross-organization test walks: every route that takes an object id, and how to
make such an object in another organization.

Add an entry for every new route with a URL parameter (the test fails for a route that has none),
and list the tenant-owned models each entry covers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cxm.tenancy.models import Organization


@dataclass
class RouteCase:
    make: Callable[
        [Organization], dict[str, Any]
    ]  # creates an object in the given organization, returns URL kwargs
    models: tuple[str, ...] = ()  # "app_label.ModelName" this route exposes
    methods: tuple[str, ...] = ("GET",)
    extra: dict[str, Any] = field(default_factory=dict)


ROUTES: dict[str, RouteCase] = {}
# Routes whose parameter is not a tenant object id (public tokens, admin, docs), with the reason.
EXEMPT_ROUTES: dict[str, str] = {}
# Tenant-owned models no route exposes directly, with the reason.
EXEMPT_MODELS: dict[str, str] = {}


def register(name: str, case: RouteCase) -> None:
    ROUTES[name] = case


def _membership(org: Organization) -> dict[str, Any]:
    from tests.factories import MembershipFactory

    return {"pk": MembershipFactory(organization=org).pk}


def _api_key(org: Organization) -> dict[str, Any]:
    from cxm.tenancy.services import api_key_create

    key, _plaintext = api_key_create(organization=org, name="theirs")
    return {"pk": key.pk}


register("settings-member-update", RouteCase(_membership, methods=("POST",)))
register("settings-api-key-revoke", RouteCase(_api_key, models=("tenancy.ApiKey",), methods=("POST",)))
EXEMPT_ROUTES.update(
    {
        "accept_invitation": "public token; an unknown token is a 404 for everyone",
        "password_reset_confirm": "Django's signed reset token, not tenant data",
    }
)
EXEMPT_MODELS.update({"tenancy.MemberInvitation": "reached only by its secret token (accept_invitation)"})

# Each app registers its routes in tests/<app>/isolation_cases.py, imported here.
for _module in (
    "tests.audit.isolation_cases",
    "tests.sso.isolation_cases",
    "tests.journeys.isolation_cases",
    "tests.surveys.isolation_cases",
    "tests.feedback.isolation_cases",
    "tests.metrics.isolation_cases",
    "tests.delighted.isolation_cases",
    "tests.loop.isolation_cases",
):
    __import__(_module)
