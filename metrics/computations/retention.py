"""Customers over time (METRICS.md): cohorts, retention and churn, repeat purchases, lifecycle history.

Each function is one SQL query: a GROUP BY customer of the transactions, aggregated again in the
database (Django wraps annotated aggregates in a subquery), so no transaction reaches Python.
Purchases are amounts ≥ 0 (a free order is an order); refunds never make a customer active or a purchase.
Every day and month is local to the organization's zone.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, Exists, Max, Min, OuterRef, Q, QuerySet
from django.db.models.functions import TruncDate

from cxm.tenancy.models import Organization
from journeys.models import Interaction, Transaction


def month_start(day: date, tz: Any) -> datetime:
    return datetime.combine(day.replace(day=1), time.min, tzinfo=tz)


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _activity_source(organization: Organization, using: str) -> tuple[QuerySet[Any], Q, str]:
    """Transactions (purchases) when the organization tracks any; else interactions."""
    transactions = Transaction.objects.using(using).for_organization(organization)
    if transactions.exists():
        return transactions, Q(amount__gte=0), "transactions"
    return Interaction.objects.using(using).for_organization(organization), Q(), "interactions"


def cohort_table(
    *, organization: Organization, using: str, first_month: date, last_month: date, max_offset: int = 12
) -> list[dict[str, Any]]:
    """Cohort = calendar month (organization's zone) of a customer's first purchase;
    retention(c, k) = customers of cohort c with ≥ 1 purchase in month c + k / size of c."""
    tz = organization.tzinfo
    months: list[date] = []
    current = first_month.replace(day=1)
    while current <= last_month:
        months.append(current)
        current = add_months(current, 1)
    if not months:
        return []
    purchase = Q(amount__gte=0)
    per_customer: dict[str, Any] = {"first_at": Min("occurred_at", filter=purchase)}
    calendar = [add_months(months[0], i) for i in range(len(months) + max_offset)]
    calendar = [m for m in calendar if m <= months[-1]]
    for i, month in enumerate(calendar):
        start, end = month_start(month, tz), month_start(add_months(month, 1), tz)
        per_customer[f"m{i}"] = Count("id", filter=purchase & Q(occurred_at__gte=start, occurred_at__lt=end))
    rows = (
        Transaction.objects.using(using)
        .for_organization(organization)
        .filter(occurred_at__gte=month_start(months[0], tz))
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
    # A customer whose first purchase ever is earlier than the window must not join a cohort. An
    # anti-join (NOT EXISTS): PostgreSQL runs `NOT IN (subquery)` as a per-row scan once the
    # subquery outgrows its hash memory, quadratic in the history.
    earlier = (
        Transaction.objects.using(using)
        .for_organization(organization)
        .filter(
            customer_id=OuterRef("customer_id"), amount__gte=0, occurred_at__lt=month_start(months[0], tz)
        )
    )
    rows = rows.filter(~Exists(earlier))
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
    """For each period [start, end] (local days): S = customers active at start, E = active at end.
    Customer retention rate = |S ∩ E| / S; churn rate = 1 − retention = |S \\ E| / S (they always sum
    to 100 %). Reported beside them as counts, never inside the rates: reactivated (in E, not in S,
    first purchase before start) and new (first purchase in the period). Active = ≥ 1 purchase in the
    trailing activity window (default 90 local days; interactions where no transactions are tracked)."""
    tz = organization.tzinfo
    source, active_q, _kind = _activity_source(organization, using)
    annotations: dict[str, Any] = {"first_at": Min("occurred_at", filter=active_q)}
    bounds = []
    for i, (start, end) in enumerate(periods):
        start_at = datetime.combine(start, time.min, tzinfo=tz)
        end_at = datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz)
        # Aware datetime arithmetic in the zone is wall-clock: local midnight `activity_days` days back.
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
        in_s, in_e = Q(**{f"s{i}__gt": 0}), Q(**{f"e{i}__gt": 0})
        outer[f"S{i}"] = Count("customer_id", filter=in_s)
        outer[f"E{i}"] = Count("customer_id", filter=in_e)
        outer[f"kept{i}"] = Count("customer_id", filter=in_s & in_e)
        outer[f"lost{i}"] = Count("customer_id", filter=in_s & ~in_e)
        outer[f"N{i}"] = Count("customer_id", filter=Q(first_at__gte=start_at, first_at__lt=end_at))
        outer[f"R{i}"] = Count("customer_id", filter=in_e & ~in_s & Q(first_at__lt=start_at))
    totals = source.values("customer_id").annotate(**annotations).aggregate(**outer) if periods else {}
    result = []
    for i, (start, end) in enumerate(periods):
        S, kept, lost = totals[f"S{i}"], totals[f"kept{i}"], totals[f"lost{i}"]
        result.append(
            {
                "start": start.isoformat(),
                "end": end.isoformat(),
                "active_at_start": S,
                "active_at_end": totals[f"E{i}"],
                "retained": kept,
                "churned": lost,
                "new": totals[f"N{i}"],
                "reactivated": totals[f"R{i}"],
                "retention_rate": kept / S if S else None,
                "churn_rate": lost / S if S else None,
            }
        )
    return result


def repeat_purchase_rate(
    *, organization: Organization, using: str, start: datetime, end: datetime
) -> dict[str, Any]:
    """Customers with ≥ 2 purchase days / customers with ≥ 1, purchases in [start, end); same-day
    purchases merged (local days, as in the CLV summary)."""
    totals = (
        Transaction.objects.using(using)
        .for_organization(organization)
        .filter(amount__gte=0, occurred_at__gte=start, occurred_at__lt=end)
        .values("customer_id")
        .annotate(days=Count(TruncDate("occurred_at", tzinfo=organization.tzinfo), distinct=True))
        .aggregate(buyers=Count("customer_id"), repeaters=Count("customer_id", filter=Q(days__gte=2)))
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
    P(alive) values are not kept), in the precedence of METRICS.md: churned = no purchase within the
    churn window; new = first purchase within `new_days`; at risk = last purchase between the
    activity and churn windows; active = a purchase in the activity window. Windows in local days."""
    tz = organization.tzinfo
    annotations: dict[str, Any] = {"first_at": Min("occurred_at")}
    ends = [datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz) for day in month_ends]
    for i, end_at in enumerate(ends):
        annotations[f"last{i}"] = Max("occurred_at", filter=Q(occurred_at__lt=end_at))
    outer: dict[str, Any] = {}
    for i, end_at in enumerate(ends):
        known = Q(first_at__lt=end_at)
        within_churn = Q(**{f"last{i}__gte": end_at - timedelta(days=churn_days)})
        new = known & within_churn & Q(first_at__gte=end_at - timedelta(days=new_days))
        recent = Q(**{f"last{i}__gte": end_at - timedelta(days=activity_days)})
        outer[f"new{i}"] = Count("customer_id", filter=new)
        outer[f"active{i}"] = Count("customer_id", filter=known & ~new & recent & within_churn)
        outer[f"at_risk{i}"] = Count("customer_id", filter=known & ~new & ~recent & within_churn)
        outer[f"churned{i}"] = Count("customer_id", filter=known & ~within_churn)
    if not month_ends:
        return []
    totals = (
        Transaction.objects.using(using)
        .for_organization(organization)
        .filter(amount__gte=0, occurred_at__lt=ends[-1])
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
