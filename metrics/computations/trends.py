"""Scores over time and by dimension (METRICS.md: "Time buckets (day, week, month) are taken in the
organization's time zone"). Truncation happens in SQL with the organization's tzinfo."""

from __future__ import annotations

from typing import Any

from django.db.models import F
from django.db.models.functions import TruncDay, TruncMonth, TruncWeek

from cxm.tenancy.models import Organization

from ..filters import MetricFilters
from .aggregates import csat_scale_filters, responses_for, score_aggregates, scores_from_row

TRUNC = {"day": TruncDay, "week": TruncWeek, "month": TruncMonth}

# Breakdown dimensions: name → (group-by field, label field).
DIMENSIONS: dict[str, tuple[str, str]] = {
    "survey": ("survey_id", "survey__name"),
    "touchpoint": ("touchpoint_id", "touchpoint__name"),
    "stage": ("touchpoint__stage_id", "touchpoint__stage__name"),
    "channel": ("touchpoint__channel", "touchpoint__channel"),
    "locale": ("locale", "locale"),
    "rfm_segment": ("customer__metrics_value__rfm_segment", "customer__metrics_value__rfm_segment"),
    "value_tier": ("customer__metrics_value__value_tier", "customer__metrics_value__value_tier"),
    "lifecycle_stage": (
        "customer__metrics_value__lifecycle_stage",
        "customer__metrics_value__lifecycle_stage",
    ),
}


def score_trend(
    *, organization: Organization, filters: MetricFilters, using: str, bucket: str | None = None
) -> list[dict[str, Any]]:
    """NPS (with its adjusted-Wald interval), CSAT, CES and volume per day, week (starting Monday) or
    month, the bucket being the local calendar period of the organization's time zone."""
    bucket = bucket or filters.bucket
    trunc = TRUNC[bucket]("submitted_at", tzinfo=organization.tzinfo)
    rows = (
        responses_for(organization=organization, filters=filters, using=using)
        .annotate(bucket=trunc)
        .values("bucket")
        .annotate(**score_aggregates(csat_scale_filters(organization=organization, using=using)))
        .order_by("bucket")
    )
    result = []
    for row in rows:
        period = row["bucket"]
        if hasattr(period, "astimezone"):
            period = period.astimezone(organization.tzinfo)
        result.append(
            {
                "period": period.date().isoformat() if hasattr(period, "date") else str(period),
                **scores_from_row(row),
            }
        )
    return result


def score_breakdown(
    *, organization: Organization, filters: MetricFilters, using: str, dimension: str
) -> list[dict[str, Any]]:
    """NPS, CSAT and CES per survey, touchpoint, stage, channel, language or customer segment."""
    key_field, label_field = DIMENSIONS[dimension]
    rows = (
        responses_for(organization=organization, filters=filters, using=using)
        .annotate(key=F(key_field), label=F(label_field))
        .values("key", "label")
        .annotate(**score_aggregates(csat_scale_filters(organization=organization, using=using)))
        .order_by("key")
    )
    return [
        {
            "key": row["key"],
            "label": row["label"] if row["label"] not in (None, "") else None,
            **scores_from_row(row),
        }
        for row in rows
    ]
