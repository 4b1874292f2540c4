"""Query-string filters shared by the API's list endpoints."""

from __future__ import annotations

from datetime import UTC
from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django_filters.fields import IsoDateTimeField
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema_field

from cxm.tenancy.models import TenantQuerySet
from cxm.tenancy.tenant import organization_of, request_tenant

from .limits import MAX_ID


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": MAX_ID})
class IdFilter(django_filters.NumberFilter):
    """A primary key: a whole number that fits the database (else a 400, never an overflow)."""

    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 date-time, in UTC: PostgreSQL refuses offsets beyond ±15:59 (`+18:48` was a 500)."""

    def to_python(self, value: Any) -> Any:
        parsed = super().to_python(value)
        if parsed is None:
            return None
        try:
            return parsed.astimezone(UTC)
        except (OverflowError, ValueError):
            raise forms.ValidationError(_("Enter a date and time that exists in UTC."), code="invalid")


class DateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


class SelectorFilterSet(django_filters.FilterSet):
    """Parses and validates a list endpoint's query string (a bad value is a 400, and the schema
    documents every parameter); the filtering itself belongs to the app's selector, which gets the
    request's organization and the parsed values: `selector(organization=…, filters={name: value})`.
    Parameters left out or empty are not passed; `renamed` maps a parameter to the selector's name."""

    renamed: dict[str, str] = {}

    @staticmethod
    def selector(*, organization: Any, filters: dict[str, Any]) -> QuerySet[Any]:
        raise NotImplementedError

    def filter_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        filters = {
            self.renamed.get(name, name): value
            for name, value in self.form.cleaned_data.items()
            if value not in (None, "")
        }
        return self.selector(organization=organization_of(self.request), filters=filters)


class TenantFilterBackend(DjangoFilterBackend):
    """django-filter, with the choices of every related-object filter (`?survey=`, `?journey=`)
    limited to the request's organization: another organization's id is an invalid choice (a 400),
    and the strict manager is never asked for an unscoped list of choices."""

    def get_filterset(self, request: Any, queryset: Any, view: Any) -> Any:
        filterset = super().get_filterset(request, queryset, view)
        tenant = request_tenant(request)
        if filterset is None:
            return None
        for filter_ in filterset.filters.values():
            choices = getattr(filter_, "queryset", None)
            if isinstance(choices, TenantQuerySet) and choices.tenant_scope is None:
                filter_.queryset = (
                    choices.for_organization(tenant.organization) if tenant is not None else choices.none()
                )
        return filterset
