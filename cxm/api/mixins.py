from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from cxm.tenancy.tenant import organization_of


class OrganizationScopedMixin:
    """The one way an API view reaches tenant data: its queryset filtered by the request's organization.

    `get_object` goes through `get_queryset`, so another organization's id is a 404.
    Writes get the organization from `perform_create`.
    """

    queryset: QuerySet[Any]
    request: Any

    def get_queryset(self) -> QuerySet[Any]:
        return super().get_queryset().for_organization(organization_of(self.request))  # type: ignore[misc]

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()  # type: ignore[misc]
        context["organization"] = organization_of(self.request)
        return context

    def perform_create(self, serializer: Any) -> None:
        serializer.save(organization=organization_of(self.request))
