"""No tenant ever sees another's data: every route with an object id answers 404 for another
organization's object, and every tenant-owned model is reached by a route that is checked."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from cxm.tenancy.models import TenantModel
from cxm.tenancy.roles import Role

from .isolation import EXEMPT_MODELS, EXEMPT_ROUTES, ROUTES


def _walk(patterns, prefix=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            if getattr(entry, "app_name", None) == "admin" or str(entry.pattern).startswith("admin/"):
                continue
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry


def parameterised_routes():
    routes = {}
    for route, pattern in _walk(get_resolver().url_patterns):
        if pattern.pattern.converters or "<" in route or "(?P<" in route:
            if pattern.name and not route.startswith(("api/v1/schema", "api/docs")):
                routes[pattern.name] = route
    return routes


def test_every_parameterised_route_is_registered():
    missing = sorted(set(parameterised_routes()) - set(ROUTES) - set(EXEMPT_ROUTES))
    assert not missing, (
        f"register these routes in tests/isolation.py or an app's isolation_cases.py: {missing}"
    )


def test_every_tenant_model_is_covered():
    tenant_models = {
        f"{m._meta.app_label}.{m.__name__}" for m in apps.get_models() if issubclass(m, TenantModel)
    }
    covered = {name for case in ROUTES.values() for name in case.models} | set(EXEMPT_MODELS)
    missing = sorted(tenant_models - covered)
    assert not missing, f"no isolation case covers {missing}"
    for model in apps.get_models():
        if issubclass(model, TenantModel):
            field = model._meta.get_field("organization")
            assert not field.null, f"{model.__name__}.organization must be non-null"


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(ROUTES))
def test_other_organizations_object_is_404(
    name, client, api_client, organization, other_organization, make_member
):
    case = ROUTES[name]
    kwargs = case.make(other_organization)
    url = reverse(name, kwargs=kwargs)
    is_api = url.startswith("/api/")
    if not is_api:
        client.force_login(make_member(organization, Role.OWNER))
    http = api_client if is_api else client
    for method in case.methods:
        response = getattr(http, method.lower())(
            url, **({"data": {}, "format": "json"} if is_api and method != "GET" else {})
        )
        assert response.status_code == 404, (
            f"{method} {url} answered {response.status_code} to another organization"
        )
        if is_api:
            assert response.json()["error"]["code"] == "not_found"
