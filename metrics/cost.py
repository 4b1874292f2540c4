"""What a dashboard view costs before it is computed: the rows its queries would scan.

The on-demand rule of the dashboard pages is based on this estimate, not on a response count: a
one-day window of the value page reads the stored per-customer values and a day of responses, the
retention page reads the transactions of its months whatever the survey filter says. On PostgreSQL
the estimate is the planner's row estimate (`EXPLAIN`, no rows are read); elsewhere (SQLite, the
embedded default: small organizations) an indexed `COUNT(*)`.
"""

from __future__ import annotations

import json
from typing import Any

from django.db import connections
from django.db.models import QuerySet

from cxm.tenancy.models import Organization
from journeys.models import Interaction, Transaction

from .computations.aggregates import responses_for
from .filters import MetricFilters


def estimated_rows(queryset: QuerySet[Any]) -> int:
    """The rows `queryset` would return: the planner's estimate on PostgreSQL (one EXPLAIN, cheap at
    any size), an exact count elsewhere."""
    if connections[queryset.db].vendor == "postgresql":
        plan = json.loads(queryset.order_by().explain(format="json"))
        return int(plan[0]["Plan"]["Plan Rows"])
    return int(queryset.count())


def dashboard_cost(*, organization: Organization, dashboard: str, filters: MetricFilters, using: str) -> int:
    """Estimated rows a dashboard reads under `filters`: the responses under the filters (twice for
    the overview: it compares with the previous window) and the interactions or transactions of the
    window its other queries scan. The value page reads the stored per-customer values (never every
    customer's history again) plus the transactions its lifecycle history groups."""
    start, end = filters.window(organization)
    responses = estimated_rows(responses_for(organization=organization, filters=filters, using=using))
    if dashboard == "overview":
        previous = filters.previous(organization)
        return responses + estimated_rows(
            responses_for(organization=organization, filters=previous, using=using)
        )
    if dashboard == "journey":
        return responses + estimated_rows(
            Interaction.objects.using(using)
            .for_organization(organization)
            .filter(occurred_at__gte=start, occurred_at__lt=end)
        )
    if dashboard in ("retention", "value"):
        # Cohorts, retention and the lifecycle history group every transaction up to the window's end.
        history = estimated_rows(
            Transaction.objects.using(using).for_organization(organization).filter(occurred_at__lt=end)
        )
        return history + (responses if dashboard == "value" else 0)
    if dashboard == "text":
        # The comments of the window and of the window before (emerging terms compare them), and the
        # theme mentions the themes table and the themes over time group.
        from feedback import page_selectors
        from feedback import selectors as text_selectors

        current = page_selectors.text_filters_from_metric(organization=organization, filters=filters)
        before = page_selectors.text_filters_from_metric(
            organization=organization, filters=filters.previous(organization)
        )
        return (
            estimated_rows(text_selectors.analyses(organization=organization, filters=current))
            + estimated_rows(text_selectors.analyses(organization=organization, filters=before))
            + estimated_rows(text_selectors.mentions(organization=organization, filters=current))
        )
    return responses
