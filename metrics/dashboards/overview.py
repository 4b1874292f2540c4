"""Overview: NPS, CSAT and CES with their intervals and the change from the previous window, trends,
the NPS distribution, the latest comments and scores by survey and language."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from cxm.tenancy.models import Organization

from ..computations.aggregates import responses_for, score_distribution, score_summary
from ..computations.trends import score_breakdown, score_trend
from ..filters import MetricFilters
from .common import _window_payload, period_comparison


def build_overview(
    *, organization: Organization, filters: MetricFilters, using: str, context: dict[str, Any]
) -> dict[str, Any]:
    current = score_summary(organization=organization, filters=filters, using=using)
    previous = score_summary(organization=organization, filters=filters.previous(organization), using=using)
    comments = list(
        responses_for(organization=organization, filters=filters, using=using)
        .exclude(comment="")
        .order_by("-submitted_at", "-id")
        .values("id", "score_kind", "score", "comment", "locale", "submitted_at", "survey__name")[:10]
    )
    for comment in comments:
        comment["submitted_at"] = timezone.localtime(comment["submitted_at"], organization.tzinfo).strftime(
            "%Y-%m-%d %H:%M"
        )
    return {
        "window": _window_payload(organization, filters),
        "summary": current,
        "previous": previous,
        "comparison": period_comparison(current, previous),
        "trend": score_trend(organization=organization, filters=filters, using=using),
        "distribution": score_distribution(organization=organization, filters=filters, using=using),
        "comments": comments,
        "by_survey": score_breakdown(
            organization=organization, filters=filters, using=using, dimension="survey"
        ),
        "by_locale": score_breakdown(
            organization=organization, filters=filters, using=using, dimension="locale"
        ),
    }
