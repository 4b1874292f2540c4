"""Drivers: key drivers of NPS (relative weights, correlations, performance) per analysis."""

from __future__ import annotations

from typing import Any

from cxm.tenancy.models import Organization

from ..computations.aggregates import responses_for
from ..computations.drivers import key_drivers
from ..filters import MetricFilters
from .common import _window_payload


def build_drivers(
    *, organization: Organization, filters: MetricFilters, using: str, context: dict[str, Any]
) -> dict[str, Any]:
    start, end = filters.window(organization)
    responses = responses_for(organization=organization, filters=filters, using=using)
    return {
        "window": _window_payload(organization, filters),
        **key_drivers(organization=organization, responses=responses, using=using, start=start, end=end),
    }
