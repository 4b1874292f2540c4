from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation

from .models import Membership, UserPreference
from .tenant import Tenant, bind_tenant

SESSION_ORG_KEY = "organization_id"


class UserLanguageMiddleware:
    """A signed-in user's chosen language wins over the cookie and the browser's."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated and not request.path.startswith("/api/"):
            language = request.session.get("user_language")
            if language is None:
                preference = (
                    UserPreference.objects.filter(user=user).values_list("language", flat=True).first()
                )
                language = preference or ""
                request.session["user_language"] = language
            if language:
                translation.activate(language)
                request.LANGUAGE_CODE = language
        return self.get_response(request)


def resolve_membership(request: HttpRequest) -> Membership | None:
    """The signed-in user's membership in the organization chosen in their session (or their first)."""
    user = request.user
    if not user.is_authenticated:
        return None
    # Cross-tenant by design: this is how the tenant is found.
    memberships = Membership.objects.unscoped().filter(user=user).select_related("organization")
    chosen = request.session.get(SESSION_ORG_KEY)
    membership = None
    if chosen is not None:
        membership = memberships.filter(organization_id=chosen).first()
    if membership is None:
        membership = memberships.order_by("organization__name").first()
        if membership is not None:
            request.session[SESSION_ORG_KEY] = membership.organization_id
    return membership


class CurrentOrganizationMiddleware:
    """Binds the request's `Tenant` (`tenant_of(request)`) for signed-in page requests, and makes the
    organization's time zone the current one, so every page shows a moment in the same local time.

    API requests get theirs from the API authentication classes instead (a key or the session), and
    keep answering in UTC (ISO 8601 with its offset).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        tenant = None
        if not request.path.startswith(("/api/", "/static/", "/healthz", "/readyz")):
            membership = resolve_membership(request)
            if membership is not None:
                tenant = Tenant(organization=membership.organization, membership=membership)
        bind_tenant(request, tenant)
        if tenant is None:
            return self.get_response(request)
        timezone.activate(tenant.organization.tzinfo)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
