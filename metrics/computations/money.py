"""From experience to money (METRICS.md): monetized NPS, revenue at risk, uplift estimate."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import (
    Avg,
    Count,
    DateTimeField,
    DecimalField,
    Exists,
    ExpressionWrapper,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import Coalesce

from cxm.tenancy.models import Organization

CATEGORIES = ("promoter", "passive", "detractor")
CATEGORY_Q = {
    "promoter": Q(score__gte=9),
    "passive": Q(score__gte=7, score__lte=8),
    "detractor": Q(score__lte=6),
}


def _latest_nps_responses(responses: QuerySet[Any]) -> QuerySet[Any]:
    """Each customer's latest NPS answer among `responses` (ties broken by id)."""
    latest = (
        responses.filter(customer_id=OuterRef("customer_id"))
        .order_by("-submitted_at", "-id")
        .values("id")[:1]
    )
    return responses.filter(customer__isnull=False).filter(id=Subquery(latest))


def monetized_nps(
    *, organization: Organization, responses: QuerySet[Any], using: str, days: int = 180
) -> dict[str, Any]:
    """For each NPS category: average revenue per customer and repeat-purchase rate over the N days
    after their response (default 180), from each customer's latest NPS answer in the window.
    Revenue is net of refunds; a repeat purchase is any purchase (positive amount) in those N days.
    Also the uplift estimate: (revenue per passive − revenue per detractor) × detractor count."""
    from journeys.models import Transaction

    window_end = ExpressionWrapper(
        OuterRef("submitted_at") + timedelta(days=days), output_field=DateTimeField()
    )
    after = Transaction.objects.using(using).filter(
        organization=organization,
        customer_id=OuterRef("customer_id"),
        occurred_at__gt=OuterRef("submitted_at"),
        occurred_at__lte=window_end,
    )
    revenue = after.order_by().values("customer_id").annotate(total=Sum("amount")).values("total")
    money = DecimalField(max_digits=16, decimal_places=2)
    rows = _latest_nps_responses(responses.filter(score_kind="nps")).annotate(
        revenue=Coalesce(Subquery(revenue, output_field=money), Decimal("0"), output_field=money),
        bought=Exists(after.filter(amount__gt=0)),
    )
    aggregates: dict[str, Any] = {}
    for category, condition in CATEGORY_Q.items():
        aggregates[f"{category}_n"] = Count("id", filter=condition)
        aggregates[f"{category}_revenue"] = Avg("revenue", filter=condition)
        aggregates[f"{category}_repeat"] = Count("id", filter=condition & Q(bought=True))
    totals = rows.aggregate(**aggregates)
    table = []
    for category in CATEGORIES:
        n = totals[f"{category}_n"]
        average = totals[f"{category}_revenue"]
        table.append(
            {
                "category": category,
                "customers": n,
                "revenue_per_customer": float(average) if average is not None else None,
                "repeat_purchase_rate": totals[f"{category}_repeat"] / n if n else None,
            }
        )
    by = {row["category"]: row for row in table}
    return {"days": days, "table": table, "uplift": uplift_estimate(by["passive"], by["detractor"])}


def uplift_estimate(passive: dict[str, Any], detractor: dict[str, Any]) -> float | None:
    """Uplift = (revenue per passive − revenue per detractor) × detractor count."""
    if passive["revenue_per_customer"] is None or detractor["revenue_per_customer"] is None:
        return None
    return (passive["revenue_per_customer"] - detractor["revenue_per_customer"]) * detractor["customers"]


def revenue_at_risk(*, organization: Organization, using: str, now: datetime) -> dict[str, Any]:
    """Trailing 12-month revenue (net of refunds, 365 days to `now`) of customers whose latest NPS
    answer (ever) is a detractor."""
    from journeys.models import Customer, Transaction
    from surveys.models import Response

    nps = Response.objects.using(using).filter(
        organization=organization, score_kind="nps", score__isnull=False, submitted_at__lte=now
    )
    latest_score = nps.filter(customer_id=OuterRef("pk")).order_by("-submitted_at", "-id").values("score")[:1]
    detractors = (
        Customer.objects.using(using)
        .filter(organization=organization)
        .annotate(latest=Subquery(latest_score))
        .filter(latest__lte=6)
        .values("id")
    )
    totals = (
        Transaction.objects.using(using)
        .filter(
            organization=organization,
            customer_id__in=detractors,
            occurred_at__gt=now - timedelta(days=365),
            occurred_at__lte=now,
        )
        .aggregate(revenue=Sum("amount"), customers=Count("customer_id", distinct=True))
    )
    detractor_count = detractors.count()
    return {
        "revenue": float(totals["revenue"] or 0),
        "customers_with_revenue": totals["customers"],
        "detractors": detractor_count,
    }


__all__ = ["monetized_nps", "revenue_at_risk", "uplift_estimate"]
