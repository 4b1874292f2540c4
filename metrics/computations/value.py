"""Customer value (METRICS.md, "Customer value"): the per-customer purchase summary every value,
segment and CLV computation starts from. Aggregated in SQL, one row per customer."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import numpy as np
import pandas as pd
from django.db.models import Count, DecimalField, Max, Min, Q, QuerySet, Sum
from django.db.models.functions import TruncDate

from cxm.tenancy.models import Organization
from journeys.models import Transaction
from journeys.selectors import transaction_value

# METRICS.md, "Transactions": an amount ≥ 0 is a purchase (a free order is still an order); < 0 a refund.
PURCHASE = Q(amount__gte=0)
REFUND = Q(amount__lt=0)

# Sums of money in the organization's currency (0 where a customer has none).
MONEY_COLUMNS = (
    "gross",
    "refunds",
    "historical_value",
    "trailing_revenue",
    "first_day_spend",
    "repeat_spend",
)
SUMMARY_COLUMNS = [
    "customer_id",
    "first_purchase_at",
    "last_purchase_at",
    "first_purchase_day",
    "last_purchase_day",
    "purchase_days",
    "purchase_count",
    *MONEY_COLUMNS,
    "repeat_spend_days",
    "median_gap_days",
    "unconverted",
    "trailing_unconverted",
]
_PER_CUSTOMER = [
    "customer_id",
    "first_purchase_at",
    "last_purchase_at",
    "purchase_count",
    "gross",
    "refunds",
    "historical_value",
    "trailing_revenue",
    "unconverted",
    "trailing_unconverted",
]


def customer_purchase_summary(
    *,
    organization: Organization,
    using: str,
    until: datetime | None = None,
    now: datetime | None = None,
    transactions: Q | None = None,
    with_gaps: bool = False,
) -> pd.DataFrame:
    """One row per customer with transactions (before `until`, if given).

    - purchases are amounts ≥ 0; refunds (negative amounts) are netted in value but never counted as
      purchases (frequency, recency, first/last purchase, the CLV models);
    - every "day" is a local day in the organization's zone: purchase_days counts distinct local
      days with a purchase (same-day purchases merged), first/last_purchase_day are local dates;
    - money is in the organization's currency (journeys.selectors.transaction_value); a transaction
      without a rate is left out of every sum and counted in `unconverted` (`trailing_unconverted`
      for those of the trailing 365 days);
    - historical_value = Σ amounts net of refunds (historical CLV);
    - trailing_revenue = Σ amounts (net) over the 365 local days up to `now`, today included (from
      local midnight 364 days before; `now` defaults to `until`, else the current time);
    - first_day_spend = purchases on the first local purchase day;
    - repeat_spend / repeat_spend_days = the spend and number of the repeat purchase days (after the
      first) whose purchases all converted: the mean repeat spend is their ratio;
    - median_gap_days = the median of the gaps between consecutive purchase days (NaN for one day).

    `transactions` narrows the transactions read (e.g. to some customers); `with_gaps` adds
    `gap_days`, the list of a customer's gaps between consecutive purchase days.
    `frame.attrs["organization_median_gap_days"]` holds the median of all those gaps in the
    organization (the typical gap of a one-time buyer, METRICS.md lifecycle)."""
    from django.utils import timezone

    now = now or until or timezone.now()
    local_today = now.astimezone(organization.tzinfo).date()
    trailing_since = datetime.combine(local_today - timedelta(days=364), time.min, tzinfo=organization.tzinfo)
    rows = Transaction.objects.using(using).for_organization(organization)
    if until is not None:
        rows = rows.filter(occurred_at__lt=until)
    if transactions is not None:
        rows = rows.filter(transactions)
    value = transaction_value(organization=organization)
    money = DecimalField(max_digits=30, decimal_places=10)
    grouped = (
        rows.alias(value=value)
        .values("customer_id")
        .annotate(
            first_purchase_at=Min("occurred_at", filter=PURCHASE),
            last_purchase_at=Max("occurred_at", filter=PURCHASE),
            purchase_count=Count("id", filter=PURCHASE),
            gross=Sum("value", filter=PURCHASE, output_field=money),
            refunds=Sum("value", filter=REFUND, output_field=money),
            historical_value=Sum("value", output_field=money),
            trailing_revenue=Sum(
                "value", filter=Q(occurred_at__gte=trailing_since, occurred_at__lte=now), output_field=money
            ),
            unconverted=Count("id", filter=Q(value__isnull=True)),
            trailing_unconverted=Count(
                "id", filter=Q(value__isnull=True, occurred_at__gte=trailing_since, occurred_at__lte=now)
            ),
        )
        .order_by()
        .values_list(*_PER_CUSTOMER)
    )
    frame = pd.DataFrame.from_records(list(grouped), columns=_PER_CUSTOMER)
    days = purchase_days(rows=rows, organization=organization, with_gaps=with_gaps)
    frame = frame.merge(days, on="customer_id", how="left")
    frame["purchase_days"] = frame["purchase_days"].fillna(0).astype(int)
    frame["repeat_spend_days"] = frame["repeat_spend_days"].fillna(0).astype(int)
    for column in MONEY_COLUMNS:
        frame[column] = frame[column].map(lambda v: float(v) if v is not None and not pd.isna(v) else 0.0)
    for column in ("first_purchase_day", "last_purchase_day"):
        frame[column] = pd.to_datetime(frame[column])
    frame = frame[[*SUMMARY_COLUMNS, "gap_days"] if with_gaps else SUMMARY_COLUMNS]
    if with_gaps:
        frame["gap_days"] = [gaps if isinstance(gaps, list) else [] for gaps in frame["gap_days"]]
    frame.attrs["organization_median_gap_days"] = days.attrs.get("organization_median_gap_days")
    return frame


def purchase_days(
    *, rows: QuerySet[Any], organization: Organization, with_gaps: bool = False
) -> pd.DataFrame:
    """Per customer from one GROUP BY (customer, local day) of the purchases in `rows`: the number of
    purchase days, the first and last local day, the spend of the first day, and the median gap in
    days between consecutive purchase days."""
    money = DecimalField(max_digits=30, decimal_places=10)
    per_day = (
        rows.filter(PURCHASE)
        .alias(value=transaction_value(organization=organization))
        .annotate(day=TruncDate("occurred_at", tzinfo=organization.tzinfo))
        .values("customer_id", "day")
        .annotate(
            spend=Sum("value", output_field=money),
            unconverted=Count("id", filter=Q(value__isnull=True)),
        )
        .order_by()
        .values_list("customer_id", "day", "spend", "unconverted")
    )
    days = pd.DataFrame.from_records(list(per_day), columns=["customer_id", "day", "spend", "unconverted"])
    columns = [
        "customer_id",
        "purchase_days",
        "first_purchase_day",
        "last_purchase_day",
        "first_day_spend",
        "repeat_spend",
        "repeat_spend_days",
    ]
    if days.empty:
        empty = pd.DataFrame(columns=[*columns, "median_gap_days", *(["gap_days"] if with_gaps else [])])
        empty.attrs["organization_median_gap_days"] = None
        return empty
    days["day"] = pd.to_datetime(days["day"])
    days["spend"] = days["spend"].map(lambda v: float(v) if v is not None and not pd.isna(v) else 0.0)
    days = days.sort_values(["customer_id", "day"], kind="mergesort")
    days["gap"] = days.groupby("customer_id")["day"].diff().dt.days
    # Repeat days whose every purchase converted into the organization's currency: the mean repeat
    # spend is taken over these only (a day with a transaction left out has no known spend).
    priced_repeat = days["gap"].notna() & (days["unconverted"] == 0)
    days["repeat_spend"] = days["spend"].where(priced_repeat, 0.0)
    days["repeat_spend_day"] = priced_repeat.astype(int)
    by = days.groupby("customer_id", sort=False)
    result = pd.DataFrame(
        {
            "purchase_days": by.size(),
            "first_purchase_day": by["day"].first(),
            "last_purchase_day": by["day"].last(),
            "first_day_spend": by["spend"].first(),
            "repeat_spend": by["repeat_spend"].sum(),
            "repeat_spend_days": by["repeat_spend_day"].sum(),
            "median_gap_days": by["gap"].median(),
        }
    )
    if with_gaps:
        result["gap_days"] = by["gap"].apply(lambda gaps: [int(g) for g in gaps.dropna()])
    result = result.reset_index()
    gaps = days["gap"].dropna()
    result.attrs["organization_median_gap_days"] = float(gaps.median()) if len(gaps) else None
    return result


def historical_clv(summary: pd.DataFrame) -> pd.Series:
    """Historical CLV: the sum of a customer's transaction amounts to date, net of refunds."""
    return summary.set_index("customer_id")["historical_value"]


def mean_repeat_spend(summary: pd.DataFrame) -> pd.Series:
    """Mean spend per repeat purchase day (same-day purchases merged, the first day excluded), over
    the repeat days whose purchases all converted into the organization's currency; NaN without one."""
    days = summary["repeat_spend_days"].astype(float)
    values = summary["repeat_spend"].astype(float) / days.where(days > 0)
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
