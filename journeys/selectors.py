"""Reads of the journeys app. Aggregates (funnel, paths) run in SQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import (
    Case,
    Count,
    DateTimeField,
    DecimalField,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    When,
)
from django.db.models.functions import Cast, TruncDate

from cxm.tenancy.models import Organization

from .models import Customer, ExchangeRate, ImportJob, Interaction, Journey, Stage, Touchpoint, Transaction


def journey_list(*, organization: Organization) -> QuerySet[Journey]:
    return Journey.objects.for_organization(organization).annotate(
        stage_count=Count("stages", distinct=True),
        touchpoint_count=Count("stages__touchpoints", distinct=True),
    )


@dataclass
class JourneyMap:
    journey: Journey
    stages: list[Stage]
    touchpoints_by_stage: dict[int, list[Touchpoint]]


def journey_map(*, journey: Journey, channel: str | None = None) -> JourneyMap:
    """The journey's stages in order, each with its touchpoints (optionally of one channel). Two queries."""
    stages = list(
        Stage.objects.for_organization(journey.organization_id)
        .filter(journey=journey)
        .order_by("position", "id")
    )
    touchpoints = (
        Touchpoint.objects.for_organization(journey.organization_id)
        .filter(stage__journey=journey)
        .order_by("position", "id")
    )
    if channel:
        touchpoints = touchpoints.filter(channel=channel)
    by_stage: dict[int, list[Touchpoint]] = {stage.pk: [] for stage in stages}
    for touchpoint in touchpoints:
        by_stage.setdefault(touchpoint.stage_id, []).append(touchpoint)  # type: ignore[arg-type]
    return JourneyMap(journey, stages, by_stage)


def stage_list(*, organization: Organization, filters: dict[str, Any] | None = None) -> QuerySet[Stage]:
    """Stages, of one `journey` when given."""
    filters = filters or {}
    stages = Stage.objects.for_organization(organization)
    if filters.get("journey"):
        stages = stages.filter(journey=filters["journey"])
    return stages


def touchpoint_list(
    *, organization: Organization, filters: dict[str, Any] | None = None
) -> QuerySet[Touchpoint]:
    """Touchpoints matching `filters`: stage, journey (id), channel, key."""
    filters = filters or {}
    touchpoints = Touchpoint.objects.for_organization(organization)
    if filters.get("stage"):
        touchpoints = touchpoints.filter(stage=filters["stage"])
    if filters.get("journey"):
        touchpoints = touchpoints.filter(stage__journey=filters["journey"])
    for name in ("channel", "key"):
        if filters.get(name):
            touchpoints = touchpoints.filter(**{name: filters[name]})
    return touchpoints


def unassigned_touchpoints(*, organization: Organization) -> QuerySet[Touchpoint]:
    return Touchpoint.objects.for_organization(organization).filter(stage__isnull=True).order_by("name")


def customer_search(q: str) -> Q:
    """Matches an external id (exact or prefix), or part of a name, email or phone number."""
    q = q.strip()
    return (
        Q(external_id__iexact=q)
        | Q(external_id__istartswith=q)
        | Q(name__icontains=q)
        | Q(email__icontains=q)
        | Q(phone__icontains=q)
    )


def customer_list(*, organization: Organization, filters: dict[str, Any] | None = None) -> QuerySet[Customer]:
    """Customers matching `filters`: q (external id, name, email, phone), city, gender, age_band,
    unsubscribed, erased, seen_after, seen_before."""
    filters = filters or {}
    customers = Customer.objects.for_organization(organization)
    q = (filters.get("q") or "").strip()
    if q:
        customers = customers.filter(customer_search(q))
    for name in ("city", "gender", "age_band"):
        if filters.get(name):
            customers = customers.filter(**{f"{name}__iexact": filters[name]})
    if filters.get("unsubscribed") is not None and filters.get("unsubscribed") != "":
        customers = customers.filter(unsubscribed=filters["unsubscribed"] in (True, "true", "1", "yes"))
    if filters.get("erased") is not None and filters.get("erased") != "":
        customers = customers.filter(erased_at__isnull=filters["erased"] not in (True, "true", "1", "yes"))
    if filters.get("seen_after"):
        customers = customers.filter(last_seen_at__gte=filters["seen_after"])
    if filters.get("seen_before"):
        customers = customers.filter(last_seen_at__lt=filters["seen_before"])
    return customers


def customer_cities(*, organization: Organization) -> list[str]:
    return list(
        Customer.objects.for_organization(organization)
        .exclude(city="")
        .values_list("city", flat=True)
        .distinct()
        .order_by("city")[:200]
    )


def customer_summary(*, customer: Customer) -> dict[str, Any]:
    """Order count (amounts ≥ 0: a free order is an order), net value (refunds netted, in the
    organization's currency; transactions without a rate are left out and counted in
    `left_out`) and interaction count of one customer. Two queries."""
    organization = customer.organization
    money = DecimalField(max_digits=30, decimal_places=10)
    orders = (
        Transaction.objects.for_organization(customer.organization_id)
        .filter(customer=customer)
        .annotate(value=transaction_value(organization=organization))
        .aggregate(
            orders=Count("id", filter=Q(amount__gte=0)),
            refunds=Count("id", filter=Q(amount__lt=0)),
            net_value=Sum("value", output_field=money),
            left_out=Count("id", filter=Q(value__isnull=True)),
        )
    )
    orders["currency"] = organization.currency
    interactions = (
        Interaction.objects.for_organization(customer.organization_id).filter(customer=customer).count()
    )
    return {**orders, "interactions": interactions}


def customer_interactions(*, customer: Customer, limit: int = 200) -> list[Interaction]:
    return list(
        Interaction.objects.for_organization(customer.organization_id)
        .filter(customer=customer)
        .select_related("touchpoint")
        .order_by("-occurred_at")[:limit]
    )


def customer_transactions(*, customer: Customer, limit: int = 200) -> list[Transaction]:
    return list(
        Transaction.objects.for_organization(customer.organization_id)
        .filter(customer=customer)
        .select_related("touchpoint")
        .order_by("-occurred_at")[:limit]
    )


def customer_data(*, customer: Customer) -> dict[str, Any]:
    """Everything journeys holds about one customer, as JSON-ready data (an access request)."""
    return {
        "customer": {
            "external_id": customer.external_id,
            "email": customer.email,
            "phone": customer.phone,
            "name": customer.name,
            "age_band": customer.age_band,
            "gender": customer.gender,
            "city": customer.city,
            "occupation": customer.occupation,
            "attributes": customer.attributes,
            "first_seen_at": customer.first_seen_at,
            "last_seen_at": customer.last_seen_at,
            "unsubscribed": customer.unsubscribed,
            "unsubscribed_at": customer.unsubscribed_at,
            "erased_at": customer.erased_at,
            "created_at": customer.created_at,
            "updated_at": customer.updated_at,
        },
        "interactions": [
            {
                "id": i.external_id,
                "touchpoint": i.touchpoint.key if i.touchpoint else None,
                "kind": i.kind,
                "occurred_at": i.occurred_at,
                "properties": i.properties,
            }
            for i in Interaction.objects.for_organization(customer.organization_id)
            .filter(customer=customer)
            .select_related("touchpoint")
            .order_by("occurred_at", "id")
            .iterator(chunk_size=2000)
        ],
        "transactions": [
            {
                "order_id": t.order_id,
                "occurred_at": t.occurred_at,
                "amount": str(t.amount),
                "currency": t.currency,
                "touchpoint": t.touchpoint.key if t.touchpoint else None,
                "properties": t.properties,
            }
            for t in Transaction.objects.for_organization(customer.organization_id)
            .filter(customer=customer)
            .select_related("touchpoint")
            .order_by("occurred_at", "id")
            .iterator(chunk_size=2000)
        ],
    }


def _occurred_between(rows: QuerySet[Any], filters: dict[str, Any]) -> QuerySet[Any]:
    if filters.get("occurred_after"):
        rows = rows.filter(occurred_at__gte=filters["occurred_after"])
    if filters.get("occurred_before"):
        rows = rows.filter(occurred_at__lt=filters["occurred_before"])
    return rows


def interaction_list(
    *, organization: Organization, filters: dict[str, Any] | None = None
) -> QuerySet[Interaction]:
    """Interactions matching `filters`: customer (external id), touchpoint (key), kind,
    occurred_after, occurred_before."""
    filters = filters or {}
    rows = Interaction.objects.for_organization(organization).select_related("customer", "touchpoint")
    if filters.get("customer"):
        rows = rows.filter(customer__external_id=filters["customer"])
    if filters.get("touchpoint"):
        rows = rows.filter(touchpoint__key=filters["touchpoint"])
    if filters.get("kind"):
        rows = rows.filter(kind=filters["kind"])
    return _occurred_between(rows, filters)


def transaction_list(
    *, organization: Organization, filters: dict[str, Any] | None = None
) -> QuerySet[Transaction]:
    """Transactions matching `filters`: customer (external id), currency, min_amount, max_amount
    (both included), occurred_after, occurred_before."""
    filters = filters or {}
    rows = Transaction.objects.for_organization(organization).select_related("customer", "touchpoint")
    if filters.get("customer"):
        rows = rows.filter(customer__external_id=filters["customer"])
    if filters.get("currency"):
        rows = rows.filter(currency__iexact=filters["currency"])
    if filters.get("min_amount") is not None:
        rows = rows.filter(amount__gte=filters["min_amount"])
    if filters.get("max_amount") is not None:
        rows = rows.filter(amount__lte=filters["max_amount"])
    return _occurred_between(rows, filters)


def exchange_rate_list(*, organization: Organization) -> QuerySet[ExchangeRate]:
    return ExchangeRate.objects.for_organization(organization).order_by("currency", "-effective_from")


def transaction_value(*, organization: Organization) -> Any:
    """A transaction's amount in the organization's currency, as a SQL expression for
    `Transaction` querysets: the amount itself in that currency; otherwise the amount × the
    organization's latest rate for the transaction's currency effective on or before the
    transaction's local day; NULL without such a rate (left out of money figures, never added raw)."""
    rate = (
        ExchangeRate.objects.for_organization(organization)
        .filter(
            currency=OuterRef("currency"),
            effective_from__lte=TruncDate(
                ExpressionWrapper(OuterRef("occurred_at"), output_field=DateTimeField()),
                tzinfo=organization.tzinfo,
            ),
        )
        .order_by("-effective_from")
        .values("rate")[:1]
    )
    money = DecimalField(max_digits=30, decimal_places=10)
    return Case(
        When(currency=organization.currency, then=Cast("amount", money)),
        default=ExpressionWrapper(F("amount") * Subquery(rate, output_field=money), output_field=money),
        output_field=money,
    )


def transactions_without_rate(*, organization: Organization, using: str = "default", **filters: Any) -> int:
    """How many of the organization's transactions (under `filters`) have no exchange rate into its
    currency and are therefore left out of money figures."""
    return (
        Transaction.objects.using(using)
        .for_organization(organization)
        .filter(**filters)
        .exclude(currency=organization.currency)
        .alias(value=transaction_value(organization=organization))
        .filter(value__isnull=True)
        .count()
    )


def import_jobs(*, organization: Organization, limit: int = 20) -> list[ImportJob]:
    return list(ImportJob.objects.for_organization(organization).order_by("-created_at")[:limit])


# --- Paths and drop-off -------------------------------------------------------------------------


def _range_sql(start: datetime | None, end: datetime | None) -> tuple[str, list[Any]]:
    sql, params = "", []
    if start is not None:
        sql += " AND i.occurred_at >= %s"
        params.append(start)
    if end is not None:
        sql += " AND i.occurred_at < %s"
        params.append(end)
    return sql, params


def journey_funnel(
    *, journey: Journey, start: datetime | None = None, end: datetime | None = None
) -> list[dict[str, Any]]:
    """Per stage, in order: customers with an interaction at the stage, customers who reached it (their
    furthest stage in the range is this one or a later one), the share of the journey's customers
    who reached it, and the drop-off to the next stage. Two grouped queries."""
    stages = list(
        Stage.objects.for_organization(journey.organization_id)
        .filter(journey=journey)
        .order_by("position", "id")
    )
    if not stages:
        return []
    rank = {stage.pk: index for index, stage in enumerate(stages)}
    range_sql, range_params = _range_sql(start, end)
    case = " ".join(f"WHEN {int(pk)} THEN {index}" for pk, index in rank.items())
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT furthest, COUNT(*) FROM (
                    SELECT i.customer_id, MAX(CASE t.stage_id {case} END) AS furthest
                    FROM journeys_interaction i JOIN journeys_touchpoint t ON t.id = i.touchpoint_id
                    WHERE i.organization_id = %s AND t.stage_id IN ({", ".join(str(int(pk)) for pk in rank)})
                    {range_sql}
                    GROUP BY i.customer_id) per_customer
                GROUP BY furthest""",  # noqa: S608  (SQL from model metadata and constants; values are parameters)
            [journey.organization_id, *range_params],
        )
        furthest = dict(cursor.fetchall())
        cursor.execute(
            f"""SELECT t.stage_id, COUNT(DISTINCT i.customer_id)
                FROM journeys_interaction i JOIN journeys_touchpoint t ON t.id = i.touchpoint_id
                WHERE i.organization_id = %s AND t.stage_id IN ({", ".join(str(int(pk)) for pk in rank)})
                {range_sql}
                GROUP BY t.stage_id""",  # noqa: S608  (SQL from model metadata and constants; values are parameters)
            [journey.organization_id, *range_params],
        )
        at_stage = dict(cursor.fetchall())
    total = sum(furthest.values())
    reached, running = [0] * len(stages), 0
    for index in range(len(stages) - 1, -1, -1):
        running += furthest.get(index, 0)
        reached[index] = running
    rows = []
    for index, stage in enumerate(stages):
        next_reached = reached[index + 1] if index + 1 < len(stages) else None
        rows.append(
            {
                "stage_id": stage.pk,
                "stage": stage.name,
                "customers_at_stage": at_stage.get(stage.pk, 0),
                "reached": reached[index],
                "share": reached[index] / total if total else None,
                "drop_off": (
                    (reached[index] - next_reached) / reached[index]
                    if next_reached is not None and reached[index]
                    else None
                ),
            }
        )
    return rows


def journey_paths(
    *,
    journey: Journey,
    start: datetime | None = None,
    end: datetime | None = None,
    steps: int = 4,
    top: int = 10,
) -> dict[str, Any]:
    """The most common touchpoint sequences of the journey's customers (first `steps` interactions in
    the range, repeats of the same touchpoint in a row collapsed), and the step-to-step flows for a
    Sankey diagram. Window functions number each customer's interactions in the database."""
    range_sql, range_params = _range_sql(start, end)
    numbered = f"""
        WITH ordered AS (
            SELECT i.customer_id, i.touchpoint_id, i.occurred_at, i.id,
                   LAG(i.touchpoint_id) OVER (PARTITION BY i.customer_id ORDER BY i.occurred_at, i.id) AS previous
            FROM journeys_interaction i JOIN journeys_touchpoint t ON t.id = i.touchpoint_id
            JOIN journeys_stage s ON s.id = t.stage_id
            WHERE i.organization_id = %s AND s.journey_id = %s {range_sql}
        ), steps AS (
            SELECT customer_id, touchpoint_id,
                   ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY occurred_at, id) AS step
            FROM ordered WHERE previous IS NULL OR previous <> touchpoint_id
        ), flows AS (
            SELECT customer_id, step, touchpoint_id,
                   LEAD(touchpoint_id) OVER (PARTITION BY customer_id ORDER BY step) AS next_touchpoint
            FROM steps WHERE step <= %s
        )"""  # noqa: S608  (SQL from model metadata and constants; values are parameters)
    params = [journey.organization_id, journey.pk, *range_params, steps]
    if connection.vendor == "postgresql":
        sequence_sql = "string_agg(CAST(touchpoint_id AS text), ',' ORDER BY step)"
        sequence_from = "flows"
    else:
        sequence_sql = "group_concat(touchpoint_id, ',')"
        sequence_from = "(SELECT * FROM flows ORDER BY customer_id, step)"
    with connection.cursor() as cursor:
        cursor.execute(
            numbered  # noqa: S608  (SQL from model metadata and constants; values are parameters)
            + """SELECT step, touchpoint_id, next_touchpoint, COUNT(*) FROM flows
                 GROUP BY step, touchpoint_id, next_touchpoint ORDER BY step, COUNT(*) DESC""",
            params,
        )
        flow_rows = cursor.fetchall()
        cursor.execute(
            numbered  # noqa: S608  (SQL from model metadata and constants; values are parameters)
            + f"""SELECT sequence, COUNT(*) AS customers FROM (
                      SELECT customer_id, {sequence_sql} AS sequence FROM {sequence_from} f GROUP BY customer_id
                  ) per_customer GROUP BY sequence ORDER BY customers DESC, sequence LIMIT %s""",  # noqa: S608  (SQL from model metadata and constants; values are parameters)
            [*params, top],
        )
        sequence_rows = cursor.fetchall()
    names = dict(Touchpoint.objects.for_organization(journey.organization_id).values_list("id", "name"))
    flows = [
        {"step": step, "source": source, "target": target, "customers": count}
        for step, source, target, count in flow_rows
        if target is not None
    ]
    entries = [
        {"step": step, "touchpoint": source, "customers": count}
        for step, source, target, count in flow_rows
        if step == 1
    ]
    sequences = [
        {
            "touchpoints": [names.get(int(pk), "?") for pk in sequence.split(",")],
            "customers": count,
        }
        for sequence, count in sequence_rows
    ]
    return {"flows": flows, "entries": entries, "sequences": sequences, "names": names}
