"""Dashboard payloads: what each page shows, as JSON, built from the computations.

Each builder reads through `using` (the replica when configured) and returns plain JSON data; the
recompute stores it as a snapshot, the page renders it, the charts read it from a data block.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
from django.db.models import Count
from django.utils import timezone

from cxm.tenancy.models import Organization

from .computations.aggregates import responses_for, score_distribution, score_summary
from .computations.drivers import key_drivers
from .computations.money import monetized_nps, revenue_at_risk
from .computations.retention import (
    add_months,
    cohort_table,
    lifecycle_history,
    repeat_purchase_rate,
    retention_rates,
)
from .computations.segments import LIFECYCLE_STAGES, RFM_SEGMENTS, VALUE_TIERS
from .computations.significance import nps_z_test, two_proportion_z_test, welch_t_test
from .computations.trends import score_breakdown, score_trend
from .computations.value import histogram
from .filters import MetricFilters

DASHBOARDS = ("overview", "journey", "retention", "value", "drivers")


def _window_payload(organization: Organization, filters: MetricFilters) -> dict[str, Any]:
    resolved = filters.resolved(organization)
    return {
        "start": resolved.start.isoformat() if resolved.start else None,
        "end": resolved.end.isoformat() if resolved.end else None,
        "bucket": filters.bucket,
        "time_zone": organization.time_zone,
    }


def period_comparison(current: dict[str, Any], previous: dict[str, Any]) -> dict[str, Any]:
    """Significance of the change from the previous same-length window to this one."""
    nps1, nps2 = current["nps"], previous["nps"]
    csat1, csat2 = current["csat"], previous["csat"]
    ces1, ces2 = current["ces"], previous["ces"]
    return {
        "nps": nps_z_test(
            nps1=nps1["nps"],
            var1=nps1["variance"],
            n1=nps1["n"],
            nps2=nps2["nps"],
            var2=nps2["variance"],
            n2=nps2["n"],
        ),
        "csat": two_proportion_z_test(
            successes1=csat1["top_two"], n1=csat1["n"], successes2=csat2["top_two"], n2=csat2["n"]
        ),
        "ces": welch_t_test(
            mean1=ces1["mean"],
            var1=ces1["variance"],
            n1=ces1["n"],
            mean2=ces2["mean"],
            var2=ces2["variance"],
            n2=ces2["n"],
        ),
    }


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


def build_journey(
    *, organization: Organization, filters: MetricFilters, using: str, context: dict[str, Any]
) -> dict[str, Any]:
    from journeys.models import Interaction, Stage, Touchpoint

    start, end = filters.window(organization)
    by_touchpoint = {
        row["key"]: row
        for row in score_breakdown(
            organization=organization, filters=filters, using=using, dimension="touchpoint"
        )
    }
    by_stage = {
        row["key"]: row
        for row in score_breakdown(organization=organization, filters=filters, using=using, dimension="stage")
    }
    reach: dict[Any, dict[str, Any]] = {
        row["touchpoint_id"]: dict(row)
        for row in Interaction.objects.using(using)
        .for_organization(organization)
        .filter(occurred_at__gte=start, occurred_at__lt=end)
        .values("touchpoint_id")
        .annotate(interactions=Count("id"), customers=Count("customer_id", distinct=True))
        .order_by()
    }
    # A customer at two touchpoints of a stage is one customer of that stage: distinct per stage.
    stage_reach = {
        row["touchpoint__stage_id"]: row["customers"]
        for row in Interaction.objects.using(using)
        .for_organization(organization)
        .filter(occurred_at__gte=start, occurred_at__lt=end, touchpoint__stage__isnull=False)
        .values("touchpoint__stage_id")
        .annotate(customers=Count("customer_id", distinct=True))
        .order_by()
    }
    touchpoints = list(
        Touchpoint.objects.using(using)
        .for_organization(organization)
        .values("id", "name", "key", "channel", "stage_id")
    )
    stages = []
    for stage in (
        Stage.objects.using(using)
        .for_organization(organization)
        .select_related("journey")
        .order_by("journey__name", "position", "id")
    ):
        items = []
        for tp in touchpoints:
            if tp["stage_id"] != stage.id:
                continue
            scores = by_touchpoint.get(tp["id"])
            items.append(
                {
                    **tp,
                    "scores": scores,
                    "interactions": reach.get(tp["id"], {}).get("interactions", 0),
                    "customers": reach.get(tp["id"], {}).get("customers", 0),
                }
            )
        stages.append(
            {
                "id": stage.id,
                "name": stage.name,
                "journey": stage.journey.name,
                "scores": by_stage.get(stage.id),
                "touchpoints": items,
                "customers": stage_reach.get(stage.id, 0),
            }
        )
    return {
        "window": _window_payload(organization, filters),
        "stages": stages,
        "by_channel": score_breakdown(
            organization=organization, filters=filters, using=using, dimension="channel"
        ),
    }


def build_retention(
    *, organization: Organization, filters: MetricFilters, using: str, context: dict[str, Any]
) -> dict[str, Any]:
    settings = context["settings"]
    resolved = filters.resolved(organization)
    assert resolved.start is not None and resolved.end is not None
    last_month = resolved.end.replace(day=1)
    first_month = max(resolved.start.replace(day=1), add_months(last_month, -11))
    months = []
    current = first_month
    while current <= last_month:
        months.append(current)
        current = add_months(current, 1)
    periods = [(m, min(add_months(m, 1) - timedelta(days=1), resolved.end)) for m in months]
    start, end = filters.window(organization)
    return {
        "window": _window_payload(organization, filters),
        "cohorts": cohort_table(
            organization=organization, using=using, first_month=first_month, last_month=last_month
        ),
        "trend": retention_rates(
            organization=organization,
            using=using,
            periods=periods,
            activity_days=int(settings["activity_window_days"]),
        ),
        "overall": retention_rates(
            organization=organization,
            using=using,
            periods=[(resolved.start, resolved.end)],
            activity_days=int(settings["activity_window_days"]),
        )[0],
        "repeat_purchase": repeat_purchase_rate(organization=organization, using=using, start=start, end=end),
        "activity_window_days": settings["activity_window_days"],
    }


def build_value(
    *, organization: Organization, filters: MetricFilters, using: str, context: dict[str, Any]
) -> dict[str, Any]:
    settings = context["settings"]
    frame: pd.DataFrame = context["customer_values"]
    model = context.get("model")
    resolved = filters.resolved(organization)
    assert resolved.end is not None
    buyers = frame[frame["purchase_days"] > 0]
    value = buyers["predicted_clv"].where(buyers["predicted_clv"].notna(), buyers["historical_value"])
    tiers = []
    for tier in VALUE_TIERS:
        members = buyers[buyers["value_tier"] == tier]
        tiers.append(
            {
                "tier": tier,
                "customers": int(len(members)),
                "historical_value": float(members["historical_value"].sum()),
                "predicted_clv": float(members["predicted_clv"].sum())
                if members["predicted_clv"].notna().any()
                else None,
            }
        )
    grid = [[0] * 5 for _ in range(5)]
    scored = buyers.dropna(subset=["r_score", "f_score"])
    for (r, f), count in scored.groupby(["r_score", "f_score"]).size().items():
        grid[int(r) - 1][int(f) - 1] = int(count)
    segments = [
        {
            "segment": name,
            "customers": int((buyers["rfm_segment"] == name).sum()),
            "historical_value": float(buyers.loc[buyers["rfm_segment"] == name, "historical_value"].sum()),
        }
        for name in RFM_SEGMENTS
    ]
    lifecycle_now = {stage: int((frame["lifecycle_stage"] == stage).sum()) for stage in LIFECYCLE_STAGES}
    month_ends = []
    month = resolved.end.replace(day=1)
    for i in range(12, 0, -1):
        month_ends.append(add_months(month, -i + 1) - timedelta(days=1))
    month_ends.append(resolved.end)
    responses = responses_for(organization=organization, filters=filters, using=using)
    return {
        "window": _window_payload(organization, filters),
        "customers": int(len(frame)),
        "buyers": int(len(buyers)),
        "clv_source": "predictive" if model is not None else "historical",
        "clv_histogram": histogram(value, bins=20),
        "historical_total": float(frame["historical_value"].sum()),
        "currency": organization.currency,
        # Transactions in another currency without a rate: left out of every money figure here.
        "transactions_left_out": int(frame["unconverted"].fillna(0).sum()) if "unconverted" in frame else 0,
        "predicted_total": float(frame["predicted_clv"].sum())
        if frame["predicted_clv"].notna().any()
        else None,
        "tiers": tiers,
        "rfm_grid": grid,
        "segments": segments,
        "lifecycle_now": lifecycle_now,
        "lifecycle_history": lifecycle_history(
            organization=organization,
            using=using,
            month_ends=month_ends,
            new_days=int(settings["new_customer_days"]),
            activity_days=int(settings["activity_window_days"]),
            churn_days=int(settings["churn_window_days"]),
        ),
        "revenue_at_risk": revenue_at_risk(frame),
        "monetized_nps": monetized_nps(
            organization=organization,
            responses=responses,
            using=using,
            days=int(settings["monetized_nps_days"]),
            now=context.get("now"),
        ),
        "model": context.get("model_payload"),
    }


def build_drivers(
    *, organization: Organization, filters: MetricFilters, using: str, context: dict[str, Any]
) -> dict[str, Any]:
    start, end = filters.window(organization)
    responses = responses_for(organization=organization, filters=filters, using=using)
    return {
        "window": _window_payload(organization, filters),
        **key_drivers(organization=organization, responses=responses, using=using, start=start, end=end),
    }


BUILDERS = {
    "overview": build_overview,
    "journey": build_journey,
    "retention": build_retention,
    "value": build_value,
    "drivers": build_drivers,
}


def json_safe(value: Any) -> Any:
    """NaN/inf become None, numpy scalars plain numbers, dates ISO strings (JSON payloads)."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return None if not np.isfinite(value) else float(value)
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "__float__") and not isinstance(value, bool | int):
        return float(value)
    return value
