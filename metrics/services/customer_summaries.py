"""Per-customer purchase summaries (models.CustomerSummary): refreshed for the customers an ingest
batch touched (a task right after the batch commits), rebuilt in full in SQL, one statement per
range of customer ids (INSERT … SELECT on PostgreSQL; elsewhere the same summary from pandas per
range, written in one executemany).

The definitions are those of computations.value.customer_purchase_summary (METRICS.md): purchases
are amounts ≥ 0, refunds are netted in money but never purchases, days are local days, money is in
the organization's currency with the transactions without a rate left out and counted."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from django.db import connection, connections, transaction
from django.db.models import Count, Exists, Max, OuterRef, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from cxm.tenancy.models import Organization
from journeys.models import Customer, Interaction, Transaction
from journeys.selectors import transaction_value

from ..computations.value import customer_purchase_summary
from ..models import CustomerSummary, RecomputePart

# Customers per statement of a full rebuild (bounds each statement's sort and hash memory).
REBUILD_CHUNK = 50_000
# Customers per statement of a refresh of named customers.
REFRESH_CHUNK = 5_000
# Where the highest transaction and interaction ids a rebuild or a catch-up has read are kept.
WATERMARK_KEY = "summaries:watermark"

_COLUMNS = [
    "organization_id",
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
    "first_day_spend",
    "repeat_spend",
    "repeat_spend_days",
    "median_gap_days",
    "gap_days",
    "unconverted",
    "last_interaction_at",
    "refreshed_at",
]


def customer_summaries_refresh(
    *, organization: Organization, customer_ids: Iterable[int] | None = None, chunk_size: int | None = None
) -> int:
    """Recompute the summaries of `customer_ids` (every customer of the organization when None: the
    full rebuild) from their transactions and interactions; customers that no longer exist lose
    theirs. Returns the number of summaries written."""
    if customer_ids is None:
        return _rebuild(organization=organization, chunk_size=chunk_size or REBUILD_CHUNK)
    ids = sorted({int(i) for i in customer_ids})
    written = 0
    size = chunk_size or REFRESH_CHUNK
    for start in range(0, len(ids), size):
        part = ids[start : start + size]
        with without_jit():
            CustomerSummary.objects.for_organization(organization).filter(customer_id__in=part).delete()
            written += _write(organization=organization, customers=Q(id__in=part))
    return written


@contextmanager
def without_jit(using: str = "default") -> Iterator[None]:
    """A transaction on `using` with PostgreSQL's JIT compilation off (and 64 MB per sort). The statements over one part
    of the customers are estimated expensive (the per-row exchange-rate subplan) and would each spend
    seconds compiling, more than they run. Elsewhere nothing: SQLite's transactions begin IMMEDIATE
    (a write lock), which a read on a mirror connection must not take."""
    if connections[using].vendor != "postgresql":
        yield
        return
    with transaction.atomic(using=using):
        with connections[using].cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")
            # The sorts of a part (per customer and day) fit in memory instead of spilling.
            cursor.execute("SET LOCAL work_mem = '64MB'")
        yield


def customer_summaries_complete(*, organization: Organization) -> int:
    """Build the summaries of the customers that have none (an organization whose data predates
    the summaries, or a customer created without a signal); returns how many were written."""
    summary = CustomerSummary.objects.for_organization(organization).filter(customer_id=OuterRef("pk"))
    missing = (
        Customer.objects.for_organization(organization).filter(~Exists(summary)).values_list("id", flat=True)
    )
    ids = list(missing[: 10 * REBUILD_CHUNK])
    if not ids:
        return 0
    if len(ids) == 10 * REBUILD_CHUNK:
        return _rebuild(organization=organization, chunk_size=REBUILD_CHUNK)
    return customer_summaries_refresh(organization=organization, customer_ids=ids)


def customer_summaries_catch_up(*, organization: Organization) -> dict[str, int]:
    """What an incremental recompute does instead of a rebuild, in proportion to what was written.

    Ingest refreshes the summaries of the customers it touched (a task right after each batch); a
    write that sent no signal would leave them behind. So: the summaries of deleted customers go;
    the customers without one get one; the customers with a transaction or interaction stored after
    their summary was written are refreshed, looking only at the rows above the ids the last rebuild
    or catch-up had read (a primary-key range, not all history); and when the totals still disagree
    (a purchase deleted or changed without a signal: the purchases counted in the summaries against
    those in the table), everything is rebuilt. Returns what was done, as counts."""
    marks = (
        RecomputePart.objects.for_organization(organization)
        .filter(key=WATERMARK_KEY)
        .values_list("value", flat=True)
        .first()
    )
    if not marks:
        return {"rebuilt": _rebuild(organization=organization, chunk_size=REBUILD_CHUNK)}
    upto = _high_ids(organization)
    report = {"rebuilt": 0, "refreshed": 0, "removed": 0}
    with without_jit():
        customer = Customer.objects.filter(pk=OuterRef("customer_id"))
        report["removed"], _ = (
            CustomerSummary.objects.for_organization(organization).filter(~Exists(customer)).delete()
        )
        summary = CustomerSummary.objects.for_organization(organization).filter(customer_id=OuterRef("pk"))
        stale = set(
            Customer.objects.for_organization(organization)
            .filter(~Exists(summary))
            .values_list("id", flat=True)
        )
        for model, kind in ((Transaction, "transactions"), (Interaction, "interactions")):
            current = CustomerSummary.objects.for_organization(organization).filter(
                customer_id=OuterRef("customer_id"), refreshed_at__gte=OuterRef("created_at")
            )
            stale.update(
                model.objects.for_organization(organization)
                .filter(id__gt=int(marks.get(kind, 0)), id__lte=upto[kind])
                .filter(~Exists(current))
                .order_by()
                .values_list("customer_id", flat=True)
                .distinct()
            )
    if stale:
        report["refreshed"] = customer_summaries_refresh(organization=organization, customer_ids=stale)
    if not _totals_agree(organization):
        report["rebuilt"] = _rebuild(organization=organization, chunk_size=REBUILD_CHUNK)
        return report
    _store_watermark(organization, upto)
    return report


def _high_ids(organization: Organization) -> dict[str, int]:
    return {
        kind: model.objects.for_organization(organization).aggregate(high=Max("id"))["high"] or 0
        for model, kind in ((Transaction, "transactions"), (Interaction, "interactions"))
    }


def _store_watermark(organization: Organization, marks: dict[str, int]) -> None:
    RecomputePart.objects.update_or_create(
        organization=organization,
        key=WATERMARK_KEY,
        defaults={"fingerprint": "", "value": marks, "computed_at": timezone.now()},
    )


def _totals_agree(organization: Organization) -> bool:
    """One summary per customer, and as many purchases in the summaries as in the table."""
    summaries = CustomerSummary.objects.for_organization(organization).aggregate(
        n=Count("id"), purchases=Sum("purchase_count")
    )
    customers = Customer.objects.for_organization(organization).count()
    purchases = Transaction.objects.for_organization(organization).filter(amount__gte=0).count()
    return summaries["n"] == customers and (summaries["purchases"] or 0) == purchases


def _rebuild(*, organization: Organization, chunk_size: int) -> int:
    """Replace every summary of the organization, one range of customer ids per statement, in one
    transaction (readers see the old summaries until the commit), and keep the highest ids it read
    as the watermark of the next catch-up."""
    written = 0
    with without_jit():
        _store_watermark(organization, _high_ids(organization))
        CustomerSummary.objects.for_organization(organization).delete()
        for low, high in _id_ranges(organization=organization, chunk_size=chunk_size):
            written += _write(organization=organization, customers=Q(id__gte=low, id__lte=high))
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {CustomerSummary._meta.db_table}")
    return written


def _id_ranges(*, organization: Organization, chunk_size: int) -> Iterator[tuple[int, int]]:
    """Consecutive (first, last) customer ids holding `chunk_size` customers each (keyset paging)."""
    customers = Customer.objects.for_organization(organization).order_by("id").values_list("id", flat=True)
    after = 0
    while True:
        ids = list(customers.filter(id__gt=after)[:chunk_size])
        if not ids:
            return
        yield ids[0], ids[-1]
        after = ids[-1]


def _write(*, organization: Organization, customers: Q) -> int:
    if connection.vendor == "postgresql":
        return _write_sql(organization=organization, customers=customers)
    return _write_frame(organization=organization, customers=customers)


def _customer_filter(customers: Q) -> Q:
    """The customer condition on a table's `customer_id` (the condition is written on Customer.id)."""
    children = []
    for child in customers.children:
        assert isinstance(child, tuple)
        name, value = child
        children.append((name.replace("id", "customer_id", 1), value))
    return Q(*children)


def _write_sql(*, organization: Organization, customers: Q) -> int:
    """One INSERT … SELECT: the organization's transactions of these customers with their value in
    its currency and their local day (the ORM's own SQL for both), grouped per customer and per
    customer and day (the gaps between purchase days from a window), joined to every customer of
    the range and to their last interaction."""
    tz = organization.tzinfo
    on_customer = _customer_filter(customers)
    rows = (
        Transaction.objects.for_organization(organization)
        .filter(on_customer)
        .annotate(value=transaction_value(organization=organization), day=TruncDate("occurred_at", tzinfo=tz))
        .order_by()
        .values("customer_id", "occurred_at", "amount", "value", "day")
    )
    rows_sql, rows_params = rows.query.sql_with_params()
    seen = (
        Interaction.objects.for_organization(organization)
        .filter(on_customer)
        .order_by()
        .values("customer_id")
        .annotate(last_interaction_at=Max("occurred_at"))
    )
    seen_sql, seen_params = seen.query.sql_with_params()
    people = Customer.objects.for_organization(organization).filter(customers).order_by().values("id")
    people_sql, people_params = people.query.sql_with_params()
    # Two refreshes of one customer at once (two ingest batches): the later write wins, no error.
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in _COLUMNS[2:])
    sql = f"""
WITH t AS ({rows_sql}),
per_day AS (
    SELECT customer_id, day, SUM(value) AS spend, COUNT(*) FILTER (WHERE value IS NULL) AS unconverted
    FROM t WHERE amount >= 0 GROUP BY customer_id, day
),
gapped AS (
    SELECT customer_id, day, spend, unconverted,
           day - LAG(day) OVER (PARTITION BY customer_id ORDER BY day) AS gap
    FROM per_day
),
days AS (
    SELECT customer_id,
           COUNT(*) AS purchase_days,
           MIN(day) AS first_day,
           MAX(day) AS last_day,
           COALESCE(SUM(spend) FILTER (WHERE gap IS NULL), 0) AS first_day_spend,
           COALESCE(SUM(spend) FILTER (WHERE gap IS NOT NULL AND unconverted = 0), 0) AS repeat_spend,
           COUNT(*) FILTER (WHERE gap IS NOT NULL AND unconverted = 0) AS repeat_spend_days,
           PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY gap) AS median_gap,
           COALESCE(JSONB_AGG(gap ORDER BY day) FILTER (WHERE gap IS NOT NULL), '[]'::jsonb) AS gaps
    FROM gapped GROUP BY customer_id
),
money AS (
    SELECT customer_id,
           MIN(occurred_at) FILTER (WHERE amount >= 0) AS first_at,
           MAX(occurred_at) FILTER (WHERE amount >= 0) AS last_at,
           COUNT(*) FILTER (WHERE amount >= 0) AS purchase_count,
           COALESCE(SUM(value) FILTER (WHERE amount >= 0), 0) AS gross,
           COALESCE(SUM(value) FILTER (WHERE amount < 0), 0) AS refunds,
           COALESCE(SUM(value), 0) AS historical_value,
           COUNT(*) FILTER (WHERE value IS NULL) AS unconverted
    FROM t GROUP BY customer_id
),
seen AS ({seen_sql}),
people AS ({people_sql})
INSERT INTO {CustomerSummary._meta.db_table} ({", ".join(_COLUMNS)})
SELECT %s, p.id, m.first_at, m.last_at, d.first_day, d.last_day,
       COALESCE(d.purchase_days, 0), COALESCE(m.purchase_count, 0),
       COALESCE(m.gross, 0), COALESCE(m.refunds, 0), COALESCE(m.historical_value, 0),
       COALESCE(d.first_day_spend, 0), COALESCE(d.repeat_spend, 0), COALESCE(d.repeat_spend_days, 0),
       d.median_gap, COALESCE(d.gaps, '[]'::jsonb), COALESCE(m.unconverted, 0),
       s.last_interaction_at, %s
FROM people p
LEFT JOIN money m ON m.customer_id = p.id
LEFT JOIN days d ON d.customer_id = p.id
LEFT JOIN seen s ON s.customer_id = p.id
ON CONFLICT (organization_id, customer_id) DO UPDATE SET {updates}
"""  # noqa: S608  (SQL from the ORM and model metadata; values are parameters)
    params = (*rows_params, *seen_params, *people_params, organization.pk, timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.rowcount)


def _write_frame(*, organization: Organization, customers: Q) -> int:
    """The same rows from computations.value.customer_purchase_summary (pandas) for the range:
    databases without the SQL above (SQLite), and the reference the SQL is tested against."""
    rows = summary_rows(organization=organization, customers=customers)
    if not rows:
        return 0
    # An upsert, as the SQL path: a refresh of the same customers may have written them meanwhile
    # (the embedded default runs the refresh task and a rebuild on two background threads).
    updates = ", ".join(
        f"{column} = excluded.{column}"
        for column in _COLUMNS
        if column not in ("organization_id", "customer_id")
    )
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {CustomerSummary._meta.db_table} ({', '.join(_COLUMNS)}) "  # noqa: S608
            f"VALUES ({', '.join(['%s'] * len(_COLUMNS))}) "
            f"ON CONFLICT (organization_id, customer_id) DO UPDATE SET {updates}",
            [_adapt(row) for row in rows],
        )
    return len(rows)


def summary_rows(*, organization: Organization, customers: Q) -> list[dict[str, Any]]:
    """Summary rows (column → value) of the customers under `customers`, from pandas."""
    import math

    import pandas as pd

    on_customer = _customer_filter(customers)
    # The primary, as the SQL path: summaries are maintained incrementally and must not be built from
    # a replica that lags behind the writes that triggered the refresh.
    using = "default"
    summary = customer_purchase_summary(
        organization=organization, using=using, transactions=on_customer, with_gaps=True
    )
    by_customer = {int(row["customer_id"]): row for row in summary.to_dict("records")}
    seen = dict(
        Interaction.objects.using(using)
        .for_organization(organization)
        .filter(on_customer)
        .order_by()
        .values("customer_id")
        .annotate(last=Max("occurred_at"))
        .values_list("customer_id", "last")
    )
    now = timezone.now()
    result = []
    for customer_id in (
        Customer.objects.for_organization(organization).filter(customers).values_list("id", flat=True)
    ):
        row = by_customer.get(customer_id)

        def day(name: str, row: dict[str, Any] | None = row) -> Any:
            value = None if row is None else row[name]
            return None if value is None or pd.isna(value) else value.date()

        def stamp(name: str, row: dict[str, Any] | None = row) -> Any:
            value = None if row is None else row[name]
            return None if value is None or pd.isna(value) else value

        def number(name: str, row: dict[str, Any] | None = row) -> Any:
            return 0 if row is None else row[name]

        median = None if row is None else row["median_gap_days"]
        result.append(
            {
                "organization_id": organization.pk,
                "customer_id": customer_id,
                "first_purchase_at": stamp("first_purchase_at"),
                "last_purchase_at": stamp("last_purchase_at"),
                "first_purchase_day": day("first_purchase_day"),
                "last_purchase_day": day("last_purchase_day"),
                "purchase_days": int(number("purchase_days")),
                "purchase_count": int(number("purchase_count")),
                "gross": number("gross"),
                "refunds": number("refunds"),
                "historical_value": number("historical_value"),
                "first_day_spend": number("first_day_spend"),
                "repeat_spend": number("repeat_spend"),
                "repeat_spend_days": int(number("repeat_spend_days")),
                "median_gap_days": None
                if median is None or (isinstance(median, float) and math.isnan(median))
                else float(median),
                "gap_days": [] if row is None else list(row["gap_days"]),
                "unconverted": int(number("unconverted")),
                "last_interaction_at": seen.get(customer_id),
                "refreshed_at": now,
            }
        )
    return result


def _adapt(row: dict[str, Any]) -> tuple[Any, ...]:
    """A row as the values Django's SQLite backend stores (UTC text for datetimes)."""
    from django.db.models import DateTimeField

    field = DateTimeField()
    values = []
    for name in _COLUMNS:
        value = row[name]
        if name == "gap_days":
            value = json.dumps(value)
        elif isinstance(value, datetime):
            value = field.get_db_prep_value(value, connection)
        elif value is not None and hasattr(value, "isoformat"):
            value = value.isoformat()
        elif value is not None and not isinstance(value, int | float):
            value = str(value)
        values.append(value)
    return tuple(values)


def organization_median_gap(*, organization: Organization) -> float | None:
    """The median of all gaps between consecutive purchase days in the organization (the typical gap
    of a one-time buyer, METRICS.md lifecycle), from the summaries."""
    table = CustomerSummary._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"SELECT PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY g::float8) FROM {table} s, "  # noqa: S608
                "JSONB_ARRAY_ELEMENTS_TEXT(s.gap_days) AS g WHERE s.organization_id = %s",
                [organization.pk],
            )
            value = cursor.fetchone()[0]
            return None if value is None else float(value)
        cursor.execute(
            f"SELECT CAST(g.value AS REAL) FROM {table} s, JSON_EACH(s.gap_days) g "  # noqa: S608
            "WHERE s.organization_id = %s ORDER BY 1",
            [organization.pk],
        )
        gaps = [row[0] for row in cursor.fetchall()]
    if not gaps:
        return None
    middle = len(gaps) // 2
    return float(gaps[middle]) if len(gaps) % 2 else (gaps[middle - 1] + gaps[middle]) / 2
