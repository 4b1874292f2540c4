"""The one sanctioned way to reach tenant data from a request.

Pages use `OrganizationRequiredMixin` (or `@organization_required`) and `scoped(request, Model)`;
API views use `cxm.api.mixins.OrganizationScopedMixin`. Both go through
`Model.objects.for_organization(...)`, so an object of another organization is a 404, never data.
Code that must cross tenants (a management command, a public survey page resolving a public id)
says so with `Model.objects.unscoped()`; the strict default manager refuses anything else.

Permissions: `Tenant.allows` (cxm/tenancy/tenant.py) decides; `check_permission`, the decorator,
the mixin and the DRF permission only adapt it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, render

from .tenant import request_tenant, tenant_allows

M = TypeVar("M", bound=Model)


def scoped(request: HttpRequest, model_or_queryset: type[M] | QuerySet[M]) -> QuerySet[M]:
    """Rows of the request's organization only."""
    tenant = request_tenant(request)
    queryset = (
        model_or_queryset
        if isinstance(model_or_queryset, QuerySet)
        else model_or_queryset._default_manager.all()
    )
    if tenant is None:
        return queryset.none()
    return queryset.for_organization(tenant.organization)  # type: ignore[attr-defined,no-any-return]


def scoped_get_or_404(request: HttpRequest, model_or_queryset: type[M] | QuerySet[M], **lookup: Any) -> M:
    return get_object_or_404(scoped(request, model_or_queryset), **lookup)


def unscoped_queryset(model: type[M]) -> QuerySet[M]:
    """Every organization's rows. Only for code that has no tenant yet (public ids, commands)."""
    return model._default_manager.unscoped()  # type: ignore[attr-defined,no-any-return]


def check_permission(request: HttpRequest, permission: str) -> None:
    if not tenant_allows(request_tenant(request), permission):
        raise PermissionDenied


def _page_guard(request: HttpRequest, permission: str) -> HttpResponse | None:
    """What the decorator and the mixin both do: sign in, have an organization, be allowed."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if request_tenant(request) is None:
        return render(request, "tenancy/no_organization.html", status=403)
    check_permission(request, permission)
    return None


V = TypeVar("V", bound=Callable[..., HttpResponseBase])


def organization_required(permission: str = "view") -> Callable[[V], V]:
    """For function views: signed in, a member of an organization, and allowed `permission`."""

    def decorator(view: V) -> V:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            refused = _page_guard(request, permission)
            return refused if refused is not None else view(request, *args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


class OrganizationRequiredMixin(LoginRequiredMixin):
    """For class-based views: the same rule as `organization_required`."""

    permission = "view"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        refused = _page_guard(request, self.permission)
        if refused is not None:
            return refused
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc,return-value]
