"""Customer value (METRICS.md, "Customer value"): the per-customer purchase summary every value,
segment and CLV computation starts from. Aggregated in SQL, one row per customer."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from django.db.models import (
    Count,
    DateTimeField,
    DecimalField,
    ExpressionWrapper,
    F,
    Max,
    Min,
    OuterRef,
    Q,
    Subquery,
    Sum,
)
from django.db.models.functions import Coalesce, TruncDate, TruncDay

from cxm.tenancy.models import Organization

SUMMARY_COLUMNS = [
    "customer_id",
    "first_purchase_at",
    "last_purchase_at",
    "first_purchase_day",
    "last_purchase_day",
    "purchase_days",
    "purchase_count",
    "gross",
    "refunds",
    "historical_value",
    "trailing_revenue",
    "first_day_spend",
]


def customer_purchase_summary(
    *,
    organization: Organization,
    using: str,
    until: datetime | None = None,
    now: datetime | None = None,
) -> pd.DataFrame:
    """One row per customer with transactions (before `until`, if given).

    - purchases are positive amounts only; refunds (negative amounts) are netted in value but never
      counted as purchases (frequency, recency, first/last purchase, the CLV models);
    - purchase_days counts distinct local calendar days with a purchase (same-day purchases merged);
    - historical_value = Σ amounts net of refunds (historical CLV);
    - trailing_revenue = Σ amounts (net) in the 365 days up to `now` (default: `until`, else the current time);
    - first_day_spend = purchases on the first local purchase day (for the mean repeat spend).
    """
    from django.utils import timezone

    from journeys.models import Transaction

    tz = organization.tzinfo
    now = now or until or timezone.now()
    trailing_since = now - timedelta(days=365)
    purchase = Q(amount__gt=0)
    rows = Transaction.objects.using(using).filter(organization=organization)
    if until is not None:
        rows = rows.filter(occurred_at__lt=until)
    grouped = (
        rows.values("customer_id")
        .annotate(
            first_purchase_at=Min("occurred_at", filter=purchase),
            last_purchase_at=Max("occurred_at", filter=purchase),
            first_purchase_day=Min(TruncDate("occurred_at", tzinfo=tz), filter=purchase),
            last_purchase_day=Max(TruncDate("occurred_at", tzinfo=tz), filter=purchase),
            purchase_days=Count(TruncDate("occurred_at", tzinfo=tz), filter=purchase, distinct=True),
            purchase_count=Count("id", filter=purchase),
            gross=Sum("amount", filter=purchase),
            refunds=Sum("amount", filter=Q(amount__lt=0)),
            historical_value=Sum("amount"),
            trailing_revenue=Sum("amount", filter=Q(occurred_at__gte=trailing_since, occurred_at__lte=now)),
        )
        .order_by()
        .values_list(*SUMMARY_COLUMNS[:-1])
    )
    frame = pd.DataFrame.from_records(list(grouped), columns=SUMMARY_COLUMNS[:-1])
    first_day = first_day_spend(organization=organization, using=using, until=until)
    frame = frame.merge(first_day, on="customer_id", how="left")
    for column in ("gross", "refunds", "historical_value", "trailing_revenue", "first_day_spend"):
        frame[column] = frame[column].map(lambda v: float(v) if v is not None and not pd.isna(v) else 0.0)
    for column in ("first_purchase_day", "last_purchase_day"):
        frame[column] = pd.to_datetime(frame[column])
    return frame


def first_day_spend(*, organization: Organization, using: str, until: datetime | None = None) -> pd.DataFrame:
    """Per customer: the purchases of their first local purchase day (for the mean repeat spend)."""
    from journeys.models import Customer, Transaction

    tz = organization.tzinfo
    purchases = Transaction.objects.using(using).filter(organization=organization, amount__gt=0)
    if until is not None:
        purchases = purchases.filter(occurred_at__lt=until)
    first_at = purchases.filter(customer_id=OuterRef("pk")).order_by("occurred_at").values("occurred_at")[:1]
    spend = (
        purchases.filter(
            customer_id=OuterRef("pk"),
            occurred_at__gte=OuterRef("day_start"),
            occurred_at__lt=OuterRef("day_end"),
        )
        .order_by()
        .values("customer_id")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    rows = (
        Customer.objects.using(using)
        .filter(organization=organization)
        .annotate(first_at=Subquery(first_at, output_field=DateTimeField()))
        .filter(first_at__isnull=False)
        .annotate(day_start=TruncDay("first_at", tzinfo=tz))
        .annotate(day_end=ExpressionWrapper(F("day_start") + timedelta(days=1), output_field=DateTimeField()))
        .annotate(
            first_day_spend=Coalesce(
                Subquery(spend, output_field=DecimalField(max_digits=16, decimal_places=2)), Decimal("0")
            )
        )
        .values_list("id", "first_day_spend")
    )
    return pd.DataFrame.from_records(list(rows), columns=["customer_id", "first_day_spend"])


def historical_clv(summary: pd.DataFrame) -> pd.Series:
    """Historical CLV: the sum of a customer's transaction amounts to date, net of refunds."""
    return summary.set_index("customer_id")["historical_value"]


def mean_repeat_spend(summary: pd.DataFrame) -> pd.Series:
    """Mean spend per repeat purchase day: (purchases − first-day purchases) / repeat days; NaN with no repeat."""
    repeats = summary["purchase_days"] - 1
    values = (summary["gross"] - summary["first_day_spend"]) / repeats.where(repeats > 0)
    return pd.Series(values.to_numpy(), index=summary["customer_id"])


def recency_days(summary: pd.DataFrame, as_of: date) -> pd.Series:
    """Days since the last purchase (local calendar days); NaN when the customer never purchased."""
    last = summary["last_purchase_day"]
    values = (pd.Timestamp(as_of) - last).dt.days
    return pd.Series(values.to_numpy(dtype=float), index=summary["customer_id"])


def histogram(values: pd.Series, bins: int = 20) -> dict[str, Any]:
    """Counts of values in equal-width bins (for the CLV distribution chart)."""
    data = values.dropna().to_numpy(dtype=float)
    if data.size == 0:
        return {"edges": [], "counts": []}
    counts, edges = np.histogram(data, bins=bins)
    return {"edges": [round(float(e), 2) for e in edges], "counts": [int(c) for c in counts]}
