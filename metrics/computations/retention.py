"""Customers over time (METRICS.md): cohorts, retention and churn, repeat purchases, lifecycle history.

Each function is one SQL query: a GROUP BY customer of the transactions, aggregated again in the
database (Django wraps annotated aggregates in a subquery), so no transaction reaches Python.
Purchases are positive amounts; refunds never make a customer active or a purchase.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, Max, Min, Q, QuerySet

from cxm.tenancy.models import Organization


def month_start(day: date, tz: Any) -> datetime:
    return datetime.combine(day.replace(day=1), time.min, tzinfo=tz)


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _activity_source(organization: Organization, using: str) -> tuple[QuerySet[Any], Q, str]:
    """Transactions (purchases) when the organization tracks any; else interactions."""
    from journeys.models import Interaction, Transaction

    transactions = Transaction.objects.using(using).filter(organization=organization)
    if transactions.exists():
        return transactions, Q(amount__gt=0), "transactions"
    return Interaction.objects.using(using).filter(organization=organization), Q(), "interactions"


def cohort_table(
    *, organization: Organization, using: str, first_month: date, last_month: date, max_offset: int = 12
) -> list[dict[str, Any]]:
    """Cohort = calendar month (organization's zone) of a customer's first purchase;
    retention(c, k) = customers of cohort c with ≥ 1 purchase in month c + k / size of c."""
    from journeys.models import Transaction

    tz = organization.tzinfo
    months: list[date] = []
    current = first_month.replace(day=1)
    while current <= last_month:
        months.append(current)
        current = add_months(current, 1)
    if not months:
        return []
    purchase = Q(amount__gt=0)
    per_customer: dict[str, Any] = {"first_at": Min("occurred_at", filter=purchase)}
    calendar = [add_months(months[0], i) for i in range(len(months) + max_offset)]
    calendar = [m for m in calendar if m <= months[-1]]
    for i, month in enumerate(calendar):
        start, end = month_start(month, tz), month_start(add_months(month, 1), tz)
        per_customer[f"m{i}"] = Count("id", filter=purchase & Q(occurred_at__gte=start, occurred_at__lt=end))
    rows = (
        Transaction.objects.using(using)
        .filter(organization=organization, occurred_at__gte=month_start(months[0], tz))
        .values("customer_id")
        .annotate(**per_customer)
    )
    outer: dict[str, Any] = {}
    for ci, cohort in enumerate(months):
        start, end = month_start(cohort, tz), month_start(add_months(cohort, 1), tz)
        in_cohort = Q(first_at__gte=start, first_at__lt=end)
        # Only cohorts whose first purchase falls in the window: earlier buyers are not "new" here.
        outer[f"c{ci}_size"] = Count("customer_id", filter=in_cohort)
        for k in range(0, max_offset + 1):
            if ci + k < len(calendar):
                outer[f"c{ci}_k{k}"] = Count("customer_id", filter=in_cohort & Q(**{f"m{ci + k}__gt": 0}))
    # A customer whose first purchase ever is earlier than the window must not join a cohort.
    earlier = Transaction.objects.using(using).filter(
        organization=organization, amount__gt=0, occurred_at__lt=month_start(months[0], tz)
    )
    rows = rows.exclude(customer_id__in=earlier.values("customer_id"))
    totals = rows.aggregate(**outer)
    table = []
    for ci, cohort in enumerate(months):
        size = totals[f"c{ci}_size"]
        retained = []
        for k in range(0, max_offset + 1):
            key = f"c{ci}_k{k}"
            if key in totals:
                retained.append(
                    {"offset": k, "customers": totals[key], "rate": totals[key] / size if size else None}
                )
        table.append({"cohort": cohort.strftime("%Y-%m"), "size": size, "retention": retained})
    return table


def retention_rates(
    *, organization: Organization, using: str, periods: list[tuple[date, date]], activity_days: int = 90
) -> list[dict[str, Any]]:
    """For each period [start, end] (local days): S = active at start, E = active at end, N = new
    during the period (first purchase in it); customer retention rate = (E − N) / S; churn rate =
    churned / S with churned = active at start and not at end. Active = ≥ 1 purchase in the
    trailing activity window (default 90 days; interactions where no transactions are tracked)."""
    tz = organization.tzinfo
    source, active_q, _kind = _activity_source(organization, using)
    annotations: dict[str, Any] = {"first_at": Min("occurred_at", filter=active_q)}
    bounds = []
    for i, (start, end) in enumerate(periods):
        start_at = datetime.combine(start, time.min, tzinfo=tz)
        end_at = datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz)
        window = timedelta(days=activity_days)
        annotations[f"s{i}"] = Count(
            "id", filter=active_q & Q(occurred_at__gte=start_at - window, occurred_at__lt=start_at)
        )
        annotations[f"e{i}"] = Count(
            "id", filter=active_q & Q(occurred_at__gte=end_at - window, occurred_at__lt=end_at)
        )
        bounds.append((start_at, end_at))
    outer: dict[str, Any] = {}
    for i, (start_at, end_at) in enumerate(bounds):
        outer[f"S{i}"] = Count("customer_id", filter=Q(**{f"s{i}__gt": 0}))
        outer[f"E{i}"] = Count("customer_id", filter=Q(**{f"e{i}__gt": 0}))
        outer[f"N{i}"] = Count("customer_id", filter=Q(first_at__gte=start_at, first_at__lt=end_at))
        outer[f"C{i}"] = Count("customer_id", filter=Q(**{f"s{i}__gt": 0, f"e{i}": 0}))
    totals = source.values("customer_id").annotate(**annotations).aggregate(**outer) if periods else {}
    result = []
    for i, (start, end) in enumerate(periods):
        S, E, N, C = totals[f"S{i}"], totals[f"E{i}"], totals[f"N{i}"], totals[f"C{i}"]
        result.append(
            {
                "start": start.isoformat(),
                "end": end.isoformat(),
                "active_at_start": S,
                "active_at_end": E,
                "new": N,
                "churned": C,
                "retention_rate": (E - N) / S if S else None,
                "churn_rate": C / S if S else None,
            }
        )
    return result


def repeat_purchase_rate(
    *, organization: Organization, using: str, start: datetime, end: datetime
) -> dict[str, Any]:
    """Customers with ≥ 2 purchases / customers with ≥ 1, purchases in [start, end)."""
    from journeys.models import Transaction

    totals = (
        Transaction.objects.using(using)
        .filter(organization=organization, amount__gt=0, occurred_at__gte=start, occurred_at__lt=end)
        .values("customer_id")
        .annotate(purchases=Count("id"))
        .aggregate(buyers=Count("customer_id"), repeaters=Count("customer_id", filter=Q(purchases__gte=2)))
    )
    buyers, repeaters = totals["buyers"] or 0, totals["repeaters"] or 0
    return {"buyers": buyers, "repeat_buyers": repeaters, "rate": repeaters / buyers if buyers else None}


def lifecycle_history(
    *,
    organization: Organization,
    using: str,
    month_ends: list[date],
    new_days: int = 30,
    activity_days: int = 90,
    churn_days: int = 180,
) -> list[dict[str, Any]]:
    """Lifecycle stages of purchasing customers at past month ends, from purchase dates alone (past
    P(alive) values are not kept): new = first purchase within `new_days`; active = a purchase in the
    activity window; at risk = last purchase between the activity and churn windows; churned = none
    within the churn window."""
    from journeys.models import Transaction

    tz = organization.tzinfo
    annotations: dict[str, Any] = {"first_at": Min("occurred_at")}
    ends = [datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz) for day in month_ends]
    for i, end_at in enumerate(ends):
        annotations[f"last{i}"] = Max("occurred_at", filter=Q(occurred_at__lt=end_at))
    outer: dict[str, Any] = {}
    for i, end_at in enumerate(ends):
        known = Q(first_at__lt=end_at)
        new = known & Q(first_at__gte=end_at - timedelta(days=new_days))
        recent = Q(**{f"last{i}__gte": end_at - timedelta(days=activity_days)})
        within_churn = Q(**{f"last{i}__gte": end_at - timedelta(days=churn_days)})
        outer[f"new{i}"] = Count("customer_id", filter=new)
        outer[f"active{i}"] = Count("customer_id", filter=known & ~new & recent)
        outer[f"at_risk{i}"] = Count("customer_id", filter=known & ~new & ~recent & within_churn)
        outer[f"churned{i}"] = Count("customer_id", filter=known & ~within_churn)
    if not month_ends:
        return []
    totals = (
        Transaction.objects.using(using)
        .filter(organization=organization, amount__gt=0, occurred_at__lt=ends[-1])
        .values("customer_id")
        .annotate(**annotations)
        .aggregate(**outer)
    )
    return [
        {
            "date": day.isoformat(),
            **{stage: totals[f"{stage}{i}"] for stage in ("new", "active", "at_risk", "churned")},
        }
        for i, day in enumerate(month_ends)
    ]
