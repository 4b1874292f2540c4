"""Reads for dashboards and other layers' pages. Aggregates run in SQL; math lives in computations."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db.models import Avg, Case, Count, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from cxm.core.routers import read_alias
from cxm.tenancy.models import Organization
from surveys.models import Response
from surveys.scoring import nps_category

from .computations.aggregates import csat_top_two, nps_counts, responses_for, score_summary
from .computations.scores import nps_from_counts, wilson_interval
from .dashboards.common import period_comparison
from .filters import MetricFilters
from .models import CustomerValue, RecomputeState, Snapshot
from .policy import recompute_policy
from .tables import LIFECYCLE_LABELS, SEGMENT_LABELS, TIER_LABELS

TouchpointScores = dict[int, dict[str, Any]]


def touchpoint_scores_by_period(
    *,
    organization: Organization,
    periods: Sequence[tuple[datetime | None, datetime | None]],
    touchpoint_id: int | None = None,
) -> list[TouchpointScores]:
    """For each period [start, end) (the periods must not overlap), per touchpoint id: NPS, CSAT
    (% top boxes, each answer on its survey's scale) and CES (mean) with n. Only `touchpoint_id`
    when given.

    One query grouped by period and touchpoint, after the small query for the CSAT scales."""
    if not periods:
        return []
    using = read_alias()
    rows = Response.objects.using(using).for_organization(organization).filter(score__isnull=False)
    rows = (
        rows.filter(touchpoint_id=touchpoint_id) if touchpoint_id else rows.filter(touchpoint__isnull=False)
    )
    starts, ends = [start for start, _end in periods], [end for _start, end in periods]
    if None not in starts:
        rows = rows.filter(submitted_at__gte=min(starts))  # type: ignore[type-var]
    if None not in ends:
        rows = rows.filter(submitted_at__lt=max(ends))  # type: ignore[type-var]
    if len(periods) > 1:
        whens = []
        for index, (start, end) in enumerate(periods):
            within = Q()
            if start is not None:
                within &= Q(submitted_at__gte=start)
            if end is not None:
                within &= Q(submitted_at__lt=end)
            whens.append(When(within, then=Value(index)))
        rows = rows.annotate(period=Case(*whens, default=None, output_field=IntegerField()))
        rows = rows.filter(period__isnull=False)
    else:
        rows = rows.annotate(period=Value(0, output_field=IntegerField()))
    csat = Q(score_kind="csat")
    aggregates = rows.values("period", "touchpoint_id").annotate(
        **nps_counts(),
        csat_n=Count("id", filter=csat),
        csat_top2=Count("id", filter=csat & csat_top_two(organization=organization, using=using)),
        ces_n=Count("id", filter=Q(score_kind="ces")),
        ces_mean=Avg("score", filter=Q(score_kind="ces")),
    )
    result: list[TouchpointScores] = [{} for _period in periods]
    for row in aggregates:
        nps = nps_from_counts(
            promoters=row["promoters"], passives=row["passives"], detractors=row["detractors"]
        )
        csat_low, csat_high = wilson_interval(row["csat_top2"], row["csat_n"])
        result[row["period"]][row["touchpoint_id"]] = {
            "nps": nps.as_dict(),
            "csat": {
                "n": row["csat_n"],
                "top2_pct": 100 * row["csat_top2"] / row["csat_n"] if row["csat_n"] else None,
                "ci_low": csat_low,
                "ci_high": csat_high,
            },
            "ces": {"n": row["ces_n"], "mean": row["ces_mean"]},
            "n": nps.n + row["csat_n"] + row["ces_n"],
        }
    return result


def touchpoint_scores(
    *, organization: Organization, start: datetime | None = None, end: datetime | None = None
) -> TouchpointScores:
    """Per touchpoint id: NPS, CSAT (% top-two-box) and CES (mean) with n, over [start, end).

    One query, grouped by touchpoint. Used by the journey map and the journey dashboard.
    """
    return touchpoint_scores_by_period(organization=organization, periods=[(start, end)])[0]


def customer_segment(*, organization: Organization, customer: Any) -> dict[str, Any]:
    """One customer's values from the last recompute: RFM scores and segment, value tier, lifecycle
    stage, latest NPS answer, historical and predictive CLV, P(alive) and expected transactions.
    Every key is present; values are None (or "") before the first recompute. One query."""
    customer_id = getattr(customer, "pk", customer)
    row = (
        CustomerValue.objects.using(read_alias())
        .for_organization(organization)
        .filter(customer_id=customer_id)
        .first()
    )
    if row is None:
        return {
            "computed_at": None,
            "rfm": {"r": None, "f": None, "m": None, "segment": ""},
            "value_tier": "",
            "lifecycle_stage": "",
            "latest_nps": {"score": None, "category": None, "submitted_at": None},
            "historical_clv": None,
            "predicted_clv": None,
            "p_alive": None,
            "expected_transactions": None,
            "purchase_count": None,
            "recency_days": None,
        }
    return {
        "computed_at": row.computed_at,
        "rfm": {"r": row.r_score, "f": row.f_score, "m": row.m_score, "segment": row.rfm_segment},
        "value_tier": row.value_tier,
        "lifecycle_stage": row.lifecycle_stage,
        "labels": {
            "rfm_segment": SEGMENT_LABELS.get(row.rfm_segment, row.rfm_segment),
            "value_tier": TIER_LABELS.get(row.value_tier, row.value_tier),
            "lifecycle_stage": LIFECYCLE_LABELS.get(row.lifecycle_stage, row.lifecycle_stage),
        },
        "latest_nps": {
            "score": row.latest_nps_score,
            "category": nps_category(row.latest_nps_score),
            "submitted_at": row.latest_nps_at,
        },
        "historical_clv": row.historical_value,
        "predicted_clv": row.predicted_clv,
        "p_alive": row.p_alive,
        "expected_transactions": row.expected_transactions,
        "purchase_count": row.purchase_count,
        "recency_days": row.recency_days,
    }


# The list filters of customer values: parameter → (field, lookup).
CUSTOMER_VALUE_FILTERS = {
    "customer": "customer__external_id",
    "segment": "rfm_segment",
    "tier": "value_tier",
    "lifecycle": "lifecycle_stage",
    "min_clv": "historical_value__gte",
    "max_clv": "historical_value__lte",
    "min_predicted_clv": "predicted_clv__gte",
    "max_predicted_clv": "predicted_clv__lte",
}


def customer_value_list(*, organization: Organization, filters: dict[str, Any]) -> QuerySet[CustomerValue]:
    """Per-customer values of the last recompute with their customer (read from the replica when
    there is one), narrowed by `filters`: customer (external id), segment, tier, lifecycle,
    min_clv/max_clv (historical), min_predicted_clv/max_predicted_clv (both ends included)."""
    rows = CustomerValue.objects.using(read_alias()).for_organization(organization).select_related("customer")
    lookups = {
        CUSTOMER_VALUE_FILTERS[name]: value
        for name, value in filters.items()
        if name in CUSTOMER_VALUE_FILTERS
    }
    return rows.filter(**lookups)


def recompute_status(*, organization: Organization) -> dict[str, Any]:
    """Whether the organization's dashboards are stale or being recomputed (reads the primary: the
    lock row must be current)."""
    state = RecomputeState.objects.for_organization(organization).first()
    if state is None:
        return {
            "running": False,
            "stale": False,
            "queued": False,
            "requested_at": None,
            "finished_at": None,
            "last_error": "",
        }
    now = timezone.now()
    running = (
        state.running_since is not None
        and (now - state.running_since).total_seconds() < recompute_policy().stale_run_seconds
    )
    return {
        "running": running,
        "stale": state.stale_since is not None,
        # A run was asked for and has not started yet (a run clears the request when it claims the lock).
        "queued": state.requested_at is not None,
        "requested_at": state.requested_at,
        "finished_at": state.finished_at,
        "last_error": state.last_error,
    }


def dashboard_snapshot(*, organization: Organization, dashboard: str, filters_key: str) -> Any:
    """The stored snapshot of a dashboard for a filters key, or None (reads the primary)."""
    return (
        Snapshot.objects.for_organization(organization)
        .filter(dashboard=dashboard, filters_key=filters_key)
        .first()
    )


def metric_summary(*, organization: Organization, filters: MetricFilters) -> dict[str, Any]:
    """NPS, CSAT, CES and ratings under the filters, with the previous same-length window and the
    significance of the change (API)."""
    using = read_alias()
    current = score_summary(organization=organization, filters=filters, using=using)
    previous = score_summary(organization=organization, filters=filters.previous(organization), using=using)
    resolved = filters.resolved(organization)
    return {
        "window": {"start": resolved.start, "end": resolved.end, "time_zone": organization.time_zone},
        "current": current,
        "previous": previous,
        "comparison": period_comparison(current, previous),
    }


SEGMENT_FIELDS = ("rfm_segment", "value_tier", "lifecycle_stage")


def segment_choices() -> list[tuple[str, str]]:
    """Every customer segment as ("<field>:<code>", "<kind>: <label>"), in the active language:
    RFM segments, value tiers and lifecycle stages of the last recompute."""
    return (
        [("rfm_segment:" + k, _("RFM") + ": " + str(v)) for k, v in SEGMENT_LABELS.items()]
        + [("value_tier:" + k, _("Value tier") + ": " + str(v)) for k, v in TIER_LABELS.items()]
        + [("lifecycle_stage:" + k, _("Lifecycle") + ": " + str(v)) for k, v in LIFECYCLE_LABELS.items()]
    )


def segment_customer_ids(*, organization: Organization, segment: str) -> Any:
    """The ids of the customers in `segment` ("rfm_segment:at_risk", "value_tier:high", …) as a
    subquery; an unknown segment matches nobody. Reads the primary so the subquery joins its query."""
    field, _sep, code = segment.partition(":")
    if field not in SEGMENT_FIELDS or not code:
        return CustomerValue.objects.none().values("customer_id")
    return CustomerValue.objects.for_organization(organization).filter(**{field: code}).values("customer_id")


def nps_between(
    *, organization: Organization, since: datetime, until: datetime, survey: int | None = None
) -> dict[str, Any]:
    """NPS of the organization's answers submitted in [since, until) (exact instants, not local days),
    optionally of one survey: the dashboards' own responses, counts and formula (`nps_from_counts`)."""
    rows = responses_for(
        organization=organization, filters=MetricFilters(survey=survey), using=read_alias(), windowed=False
    ).filter(submitted_at__gte=since, submitted_at__lt=until)
    counts = rows.aggregate(**nps_counts())
    return nps_from_counts(
        promoters=counts["promoters"], passives=counts["passives"], detractors=counts["detractors"]
    ).as_dict()
