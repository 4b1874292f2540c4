"""Reads behind the dashboard pages and the metrics API: the filter choices, the progress of a view
being computed, the API's figures under filters and the CLV model. The pages and the API read
through here (and `selectors`), never the computations or the models themselves."""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.db.models import Count

from cxm.core.routers import read_alias
from cxm.tenancy.models import Organization
from cxm.tenancy.selectors import organization_setting, organization_settings
from journeys.models import Channel, Stage, Touchpoint
from surveys.models import Survey

from .computations.aggregates import responses_for
from .computations.drivers import key_drivers
from .computations.money import monetized_nps
from .computations.trends import DIMENSIONS, score_breakdown, score_trend
from .filters import MetricFilters
from .models import ClvModel, CustomerValue

__all__ = [
    "DIMENSIONS",
    "clv_model_summary",
    "current_clv_model",
    "dashboard_filter_options",
    "drivers_report",
    "monetized_nps_report",
    "retention_report",
    "score_breakdown_rows",
    "score_trend_rows",
    "segment_counts",
    "snapshot_job",
]


def dashboard_filter_options(*, organization: Organization) -> dict[str, Any]:
    """The choices of the dashboards' filter form."""

    from .selectors import segment_choices

    return {
        "surveys": list(Survey.objects.for_organization(organization).order_by("name").values("id", "name")),
        "touchpoints": list(
            Touchpoint.objects.for_organization(organization).order_by("name").values("id", "name")
        ),
        "stages": list(
            Stage.objects.for_organization(organization).order_by("position", "id").values("id", "name")
        ),
        "channels": Channel.choices,
        "segments": segment_choices(),
    }


def snapshot_job(*, organization: Organization, dashboard: str, filters_key: str) -> dict[str, Any] | None:
    """The state and progress of a view being computed on a worker, or None."""
    from .tasks import job_cache_key

    return cache.get(job_cache_key(organization.pk, dashboard, filters_key))


def score_trend_rows(*, organization: Organization, filters: MetricFilters) -> list[dict[str, Any]]:
    return score_trend(organization=organization, filters=filters, using=read_alias())


def score_breakdown_rows(
    *, organization: Organization, filters: MetricFilters, dimension: str
) -> list[dict[str, Any]]:
    return score_breakdown(
        organization=organization, filters=filters, using=read_alias(), dimension=dimension
    )


def retention_report(*, organization: Organization, filters: MetricFilters) -> dict[str, Any]:
    """The retention dashboard's numbers under any filters, computed now."""

    from .dashboards.retention import build_retention

    return build_retention(
        organization=organization,
        filters=filters,
        using=read_alias(),
        context={"settings": organization_settings(organization=organization)},
    )


def segment_counts(*, organization: Organization) -> dict[str, dict[str, int]]:
    """Customers per RFM segment, value tier and lifecycle stage (last recompute)."""
    rows = CustomerValue.objects.using(read_alias()).for_organization(organization)
    return {
        dimension: {
            row[dimension]: row["n"]
            for row in rows.values(dimension).annotate(n=Count("id")).order_by(dimension)
            if row[dimension]
        }
        for dimension in ("rfm_segment", "value_tier", "lifecycle_stage")
    }


def drivers_report(*, organization: Organization, filters: MetricFilters) -> dict[str, Any]:
    start, end = filters.window(organization)
    responses = responses_for(organization=organization, filters=filters, using=read_alias())
    return key_drivers(
        organization=organization, responses=responses, using=read_alias(), start=start, end=end
    )


def monetized_nps_report(*, organization: Organization, filters: MetricFilters) -> dict[str, Any]:
    """Revenue and repeat purchases per NPS category over the organization's N days after each answer."""

    days = int(organization_setting(organization=organization, name="monetized_nps_days"))
    responses = responses_for(organization=organization, filters=filters, using=read_alias())
    return monetized_nps(organization=organization, responses=responses, using=read_alias(), days=days)


def current_clv_model(*, organization: Organization) -> ClvModel | None:
    return ClvModel.objects.for_organization(organization).order_by("-fitted_at", "-id").first()


def clv_model_summary(*, organization: Organization) -> dict[str, Any] | None:
    """The latest fitted CLV model as the API shows it, or None before the first fit."""
    from .services.clv import clv_model_payload

    return clv_model_payload(current_clv_model(organization=organization))
