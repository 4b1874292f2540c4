"""From experience to money (METRICS.md): monetized NPS, revenue at risk, uplift estimate."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pandas as pd
from django.db import connections
from django.db.models import (
    Avg,
    Count,
    DateField,
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
from django.db.models.functions import Coalesce, TruncDate

from cxm.tenancy.models import Organization
from journeys.models import Transaction
from journeys.selectors import transaction_value
from surveys.scoring import NPS_CATEGORIES, NPS_DETRACTOR_MAX, nps_category_q

CATEGORIES = NPS_CATEGORIES
CATEGORY_Q = {category: nps_category_q(category) for category in NPS_CATEGORIES}


def _latest_nps_responses(responses: QuerySet[Any]) -> QuerySet[Any]:
    """Each customer's latest NPS answer among `responses` (ties broken by id). DISTINCT ON where the
    database has it (one sort), else a correlated subquery."""
    with_customer = responses.filter(customer__isnull=False)
    if connections[responses.db].vendor == "postgresql":
        latest_ids = (
            with_customer.order_by("customer_id", "-submitted_at", "-id").distinct("customer_id").values("id")
        )
        # Rows among `responses` (already scoped): the id subquery carries their organization.
        return responses.model._default_manager.unscoped().using(responses.db).filter(id__in=latest_ids)
    latest = (
        responses.filter(customer_id=OuterRef("customer_id"))
        .order_by("-submitted_at", "-id")
        .values("id")[:1]
    )
    return with_customer.filter(id=Subquery(latest))


def monetized_nps(
    *,
    organization: Organization,
    responses: QuerySet[Any],
    using: str,
    days: int = 180,
    now: datetime | None = None,
) -> dict[str, Any]:
    """For each NPS category: average revenue per customer and repeat-purchase rate over the N days
    after their response (default 180), counting only answers whose N days have fully passed by
    `now` (per customer, their latest such answer); `included` answers and those `maturing` (with a
    customer, N days not yet passed) are both reported. The N days are local days of the
    organization's zone: an answer on local day D has the window from the answer to local midnight
    at the start of D + N (a transaction of local day D + N is outside it), and it has matured once
    that midnight has passed (today ≥ D + N). Revenue is net of refunds, in the
    organization's currency (transactions without a rate are left out and counted in
    `transactions_left_out`); a repeat purchase is any purchase (amount ≥ 0) in those N days.
    Also the uplift estimate: (revenue per passive − revenue per detractor) × detractor count."""
    from django.utils import timezone

    now = now or timezone.now()
    tz = organization.tzinfo
    # Matured: answered on a local day D ≤ today − N, i.e. before local midnight of today − N + 1.
    local_today = now.astimezone(tz).date()
    matured_before = datetime.combine(local_today - timedelta(days=days - 1), time.min, tzinfo=tz)
    nps = responses.filter(score_kind="nps", customer__isnull=False)
    maturing = nps.filter(submitted_at__gte=matured_before).count()
    # In the window: after the answer, on a local day before the answer's local day + N.
    window_end_day = ExpressionWrapper(
        TruncDate(ExpressionWrapper(OuterRef("submitted_at"), output_field=DateTimeField()), tzinfo=tz)
        + timedelta(days=days),
        output_field=DateField(),
    )
    after = (
        Transaction.objects.using(using)
        .for_organization(organization)
        .filter(customer_id=OuterRef("customer_id"), occurred_at__gt=OuterRef("submitted_at"))
        .alias(local_day=TruncDate("occurred_at", tzinfo=tz))
        .filter(local_day__lt=window_end_day)
        .order_by()
        .values("customer_id")
    )
    money = DecimalField(max_digits=30, decimal_places=10)
    value = transaction_value(organization=organization)
    revenue = after.annotate(total=Sum(value, output_field=money)).values("total")
    latest = _latest_nps_responses(nps.filter(submitted_at__lt=matured_before))
    rows = latest.annotate(
        revenue=Coalesce(Subquery(revenue, output_field=money), Decimal("0"), output_field=money),
        bought=Exists(after.filter(amount__gte=0)),
    )
    # Transactions in an included answer's N days that have no rate into the organization's currency.
    in_a_window = (
        latest.filter(customer_id=OuterRef("customer_id"), submitted_at__lt=OuterRef("occurred_at"))
        .alias(
            window_end_day=ExpressionWrapper(
                TruncDate("submitted_at", tzinfo=tz) + timedelta(days=days), output_field=DateField()
            )
        )
        .filter(
            window_end_day__gt=TruncDate(
                ExpressionWrapper(OuterRef("occurred_at"), output_field=DateTimeField()), tzinfo=tz
            )
        )
    )
    left_out = (
        Transaction.objects.using(using)
        .for_organization(organization)
        .alias(value=value)
        .filter(value__isnull=True)
        .filter(Exists(in_a_window))
        .count()
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
    return {
        "days": days,
        "included": sum(row["customers"] for row in table),
        "maturing": maturing,
        "transactions_left_out": left_out,
        "currency": organization.currency,
        "table": table,
        "uplift": uplift_estimate(by["passive"], by["detractor"]),
    }


def uplift_estimate(passive: dict[str, Any], detractor: dict[str, Any]) -> float | None:
    """Uplift = (revenue per passive − revenue per detractor) × detractor count."""
    if passive["revenue_per_customer"] is None or detractor["revenue_per_customer"] is None:
        return None
    return (passive["revenue_per_customer"] - detractor["revenue_per_customer"]) * detractor["customers"]


def revenue_at_risk(customers: pd.DataFrame) -> dict[str, Any]:
    """Trailing 12-month revenue (net of refunds, the 365 local days to the computation time, today included) of customers
    whose latest NPS answer is a detractor (0–6), with `transactions_left_out` (theirs in those days
    without an exchange rate). Works on the per-customer frame
    (computations.customers.customer_values), which holds both numbers per customer."""
    scores = pd.to_numeric(customers["latest_nps_score"], errors="coerce")
    detractors = customers[scores.notna() & (scores <= NPS_DETRACTOR_MAX)]
    revenue = detractors["trailing_revenue"].astype(float)
    left_out = (
        pd.to_numeric(detractors["trailing_unconverted"], errors="coerce").fillna(0).sum()
        if "trailing_unconverted" in detractors
        else 0
    )
    return {
        "revenue": float(revenue.sum()),
        "customers_with_revenue": int((revenue != 0).sum()),
        "detractors": int(len(detractors)),
        # Their transactions of those 12 months without a rate into the organization's currency.
        "transactions_left_out": int(left_out),
    }


def revenue_at_risk_sql(*, organization: Organization, now: datetime, using: str) -> dict[str, Any]:
    """`revenue_at_risk` in SQL, without a frame of every customer: the detractors are the customers
    whose latest NPS answer is 0–6, their revenue one aggregate over their transactions of the 365
    local days to `now` (today included), read per customer a part at a time."""
    import math

    from django.db.models import IntegerField

    from surveys.models import Response

    local_today = now.astimezone(organization.tzinfo).date()
    since = datetime.combine(local_today - timedelta(days=364), time.min, tzinfo=organization.tzinfo)
    answers = (
        Response.objects.using(using)
        .for_organization(organization)
        .filter(score_kind="nps", score__isnull=False)
    )
    detractors = _latest_nps_responses(answers).filter(score__lte=NPS_DETRACTOR_MAX)
    money = DecimalField(max_digits=30, decimal_places=10)
    per_customer = (
        Transaction.objects.using(using)
        .for_organization(organization)
        .filter(
            customer_id__in=detractors.values("customer_id"),
            occurred_at__gte=since,
            occurred_at__lte=now,
        )
        .alias(value=transaction_value(organization=organization))
        .values("customer_id")
        .annotate(
            total=Sum("value", output_field=money),
            left_out=Count("id", filter=Q(value__isnull=True), output_field=IntegerField()),
        )
        .order_by()
        .values_list("total", "left_out")
    )
    totals: list[float] = []
    left_out = 0
    for total, unconverted in per_customer.iterator(chunk_size=10_000):
        totals.append(float(total) if total is not None else 0.0)
        left_out += int(unconverted)
    return {
        "revenue": math.fsum(totals),
        "customers_with_revenue": sum(1 for total in totals if total != 0),
        "detractors": detractors.count(),
        "transactions_left_out": left_out,
    }
