from __future__ import annotations

from typing import Any

from django.db.models import QuerySet


class OrganizationScopedMixin:
    """The one way an API view reaches tenant data: its queryset filtered by the request's organization.

    `get_object` goes through `get_queryset`, so another organization's id is a 404.
    Writes get the organization from `perform_create`.
    """

    queryset: QuerySet[Any]
    request: Any

    def get_queryset(self) -> QuerySet[Any]:
        return super().get_queryset().filter(organization=self.request.organization)  # type: ignore[misc]

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()  # type: ignore[misc]
        context["organization"] = self.request.organization
        return context

    def perform_create(self, serializer: Any) -> None:
        serializer.save(organization=self.request.organization)
