"""Per-customer values: the rows a recompute stores, computed a part of the customers at a time from
the purchase summaries and written per part (COPY on PostgreSQL, one executemany elsewhere), then
ranked in SQL."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from django.db import connection

from cxm.core.routers import read_alias
from cxm.tenancy.models import Organization

from ..models import CustomerValue


def _customer_value_rows(organization: Organization, frame: pd.DataFrame, now: datetime) -> pd.DataFrame:
    """The CustomerValue columns from the per-customer frame, vectorised (NaN/NaT → NULL)."""

    def ints(column: str) -> pd.Series:
        if column not in frame:
            return pd.Series(pd.NA, index=frame.index, dtype="Int64")
        return pd.to_numeric(frame[column], errors="coerce").round().astype("Int64")

    def floats(column: str) -> pd.Series:
        values = pd.to_numeric(frame[column], errors="coerce").astype(float)
        return values.where(np.isfinite(values))

    def stamps(column: str) -> pd.Series:
        return pd.to_datetime(frame[column], utc=True)

    def texts(column: str) -> pd.Series:
        return frame[column].fillna("").astype(str) if column in frame else pd.Series("", index=frame.index)

    return pd.DataFrame(
        {
            "organization_id": organization.pk,
            "customer_id": frame["customer_id"].astype(int),
            "first_purchase_at": stamps("first_purchase_at"),
            "last_purchase_at": stamps("last_purchase_at"),
            "purchase_count": frame["purchase_count"].fillna(0).astype(int),
            "historical_value": frame["historical_value"].astype(float).round(2),
            "recency_days": ints("recency_days"),
            "r_score": ints("r_score"),
            "f_score": ints("f_score"),
            "m_score": ints("m_score"),
            "rfm_segment": texts("rfm_segment"),
            "value_tier": texts("value_tier"),
            "lifecycle_stage": texts("lifecycle_stage"),
            "expected_transactions": floats("expected_transactions"),
            "p_alive": floats("p_alive"),
            "predicted_clv": floats("predicted_clv"),
            "transactions_left_out": frame["unconverted"].fillna(0).astype(int)
            if "unconverted" in frame
            else 0,
            "latest_nps_score": ints("latest_nps_score"),
            "latest_nps_at": stamps("latest_nps_at"),
            "computed_at": pd.Timestamp(now),
        }
    )


def _insert_tuples(rows: pd.DataFrame) -> list[tuple[Any, ...]]:
    """Rows as tuples of the values Django's SQLite backend stores (UTC text for datetimes, text
    for decimals, None for missing values), converted a column at a time. 40,000 rows: well under a
    second, against ten times that through bulk_create."""
    columns: list[list[Any]] = []
    for name in rows.columns:
        column = rows[name]
        if pd.api.types.is_datetime64_any_dtype(column):
            # As Django writes them (str() of the naive UTC value): no fraction when it is zero.
            text = (
                pd.to_datetime(column, utc=True)
                .dt.strftime("%Y-%m-%d %H:%M:%S.%f")
                .str.replace(r"\.000000$", "", regex=True)
            )
            columns.append(text.astype(object).where(column.notna(), None).tolist())
        elif name == "historical_value":
            columns.append([f"{value:.2f}" for value in column.tolist()])
        else:
            values = column.astype(object).where(column.notna(), None).tolist()
            columns.append([int(v) if isinstance(v, np.integer) else v for v in values])
    return list(zip(*columns, strict=True))


def _copy_customer_values(rows: pd.DataFrame, table: str | None = None) -> None:
    """PostgreSQL COPY: 100k rows in about a second. Columns are converted to text with numpy
    (DataFrame.to_csv formats element by element and took ten times longer)."""
    import csv
    import io

    null = "\\N"
    columns: list[list[Any]] = []
    for name in rows.columns:
        column = rows[name]
        if pd.api.types.is_datetime64_any_dtype(column):
            utc = pd.to_datetime(column, utc=True).dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
            text = np.char.add(np.datetime_as_string(utc, unit="us"), "+00:00").astype(object)
            text[np.isnat(utc)] = null
            columns.append(text.tolist())
        else:
            columns.append(
                [
                    null
                    if value is None or value is pd.NA or (isinstance(value, float) and value != value)
                    else value
                    for value in column.astype(object).tolist()
                ]
            )
    buffer = io.StringIO()
    csv.writer(buffer).writerows(zip(*columns, strict=True))
    buffer.seek(0)
    table = table or CustomerValue._meta.db_table
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(
            f"COPY {table} ({', '.join(rows.columns)}) FROM STDIN WITH (FORMAT csv, NULL '\\N')", buffer
        )


# Customers per part of the per-customer pass (bounds its memory: a few KB per customer).
VALUES_CHUNK = 20_000


def customer_values_store(
    *,
    organization: Organization,
    now: datetime,
    model: Any | None,
    settings: dict[str, Any],
    chunk_size: int | None = None,
) -> dict[str, Any]:
    """Replace the organization's per-customer values (CustomerValue) from the purchase summaries,
    a part of the customers at a time (never a frame of every customer): recency, CLV predictions
    and lifecycle stage per part in pandas, then the RFM scores, segments and value tiers, which rank
    every customer against the others, in one UPDATE with window functions. One transaction:
    readers see the old values until the commit. Summaries missing for some customers are built
    first (customer_summaries_complete). Returns the revenue at risk (computations.money), summed
    over the parts."""
    from ..computations.customers import customer_values_part
    from ..computations.money import revenue_at_risk
    from .customer_summaries import customer_summaries_complete, organization_median_gap, without_jit

    customer_summaries_complete(organization=organization)
    today = now.astimezone(organization.tzinfo).date()
    size = chunk_size or VALUES_CHUNK
    organization_gap = organization_median_gap(organization=organization)
    fallback = _mean_repeat_spend(organization)
    risk = {"revenue": 0.0, "customers_with_revenue": 0, "detractors": 0, "transactions_left_out": 0}
    postgres = connection.vendor == "postgresql"
    with without_jit():
        CustomerValue.objects.for_organization(organization).delete()
        if postgres:
            # The parts go to a staging table; one INSERT … SELECT adds the ranks (no UPDATE pass).
            with connection.cursor() as cursor:
                cursor.execute(f"DROP TABLE IF EXISTS {_STAGE}")
                cursor.execute(
                    f"CREATE TEMP TABLE {_STAGE} ON COMMIT DROP AS SELECT * "  # noqa: S608
                    f"FROM {CustomerValue._meta.db_table} WITH NO DATA"
                )
        after = 0
        columns: list[str] = []
        while True:
            frame = _summary_part(organization, after=after, size=size, now=now)
            if frame.empty:
                break
            for key, value in revenue_at_risk(frame).items():
                risk[key] += value
            after = int(frame["customer_id"].iloc[-1])
            part = customer_values_part(
                frame,
                organization=organization,
                today=today,
                model=model,
                settings=settings,
                organization_gap=organization_gap,
                fallback_spend=fallback,
            )
            rows = _customer_value_rows(organization, part, now)
            if postgres:
                _copy_customer_values(rows, _STAGE)
                columns = list(rows.columns)
            else:
                _insert_customer_values(list(rows.columns), _insert_tuples(rows))
        if postgres:
            if after:
                _analyze(_STAGE)
                _insert_ranked(organization, columns)
            _analyze(CustomerValue._meta.db_table)
        else:
            _rank_customer_values(organization)
    return risk


_STAGE = "metrics_customervalue_stage"
_RANKED = ("r_score", "f_score", "m_score", "rfm_segment", "value_tier")


def _analyze(table: str) -> None:
    """Fresh planner statistics for a table just filled (the joins over it plan as hash joins)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {table}")


_SUMMARY_PART_COLUMNS = [
    "customer_id",
    "first_purchase_at",
    "last_purchase_at",
    "first_purchase_day",
    "last_purchase_day",
    "purchase_days",
    "purchase_count",
    "historical_value",
    "repeat_spend",
    "repeat_spend_days",
    "median_gap_days",
    "unconverted",
    "last_interaction_at",
]


def _summary_part(organization: Organization, *, after: int, size: int, now: datetime) -> pd.DataFrame:
    """The next `size` customers (by id, after `after`): their summary, latest NPS answer and
    revenue of the trailing 365 local days (with the count of its transactions left out)."""
    from ..models import CustomerSummary

    table = CustomerSummary._meta.db_table
    columns = [
        f"CAST({name} AS DOUBLE PRECISION)" if name in ("historical_value", "repeat_spend") else name
        for name in _SUMMARY_PART_COLUMNS
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(columns)} FROM {table} "  # noqa: S608  (SQL from model metadata and constants)
            "WHERE organization_id = %s AND customer_id > %s ORDER BY customer_id LIMIT %s",
            [organization.pk, after, size],
        )
        rows = cursor.fetchall()
    frame = pd.DataFrame.from_records(rows, columns=_SUMMARY_PART_COLUMNS)
    if frame.empty:
        return frame
    for column in ("first_purchase_at", "last_purchase_at", "last_interaction_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    for column in ("first_purchase_day", "last_purchase_day"):
        frame[column] = pd.to_datetime(frame[column])
    frame["median_gap_days"] = pd.to_numeric(frame["median_gap_days"], errors="coerce")
    low, high = int(frame["customer_id"].iloc[0]), int(frame["customer_id"].iloc[-1])
    frame = frame.merge(_latest_nps(organization, low=low, high=high), on="customer_id", how="left")
    trailing = _trailing_revenue(organization, low=low, high=high, now=now)
    frame = frame.merge(trailing, on="customer_id", how="left")
    frame["trailing_revenue"] = frame["trailing_revenue"].fillna(0.0)
    frame["trailing_unconverted"] = frame["trailing_unconverted"].fillna(0).astype(int)
    return frame


def _trailing_revenue(organization: Organization, *, low: int, high: int, now: datetime) -> pd.DataFrame:
    """Per customer low … high: revenue (net, in the organization's currency) over the 365 local days
    to `now`, today included, and its transactions without a rate (computations.value's definition)."""
    from datetime import time, timedelta

    from django.db.models import Count, DecimalField, Q, Sum

    from journeys.models import Transaction
    from journeys.selectors import transaction_value

    local_today = now.astimezone(organization.tzinfo).date()
    since = datetime.combine(local_today - timedelta(days=364), time.min, tzinfo=organization.tzinfo)
    from .customer_summaries import without_jit

    using = read_alias()
    rows = (
        Transaction.objects.using(using)
        .for_organization(organization)
        .filter(customer_id__gte=low, customer_id__lte=high, occurred_at__gte=since, occurred_at__lte=now)
        .alias(value=transaction_value(organization=organization))
        .values("customer_id")
        .annotate(
            total=Sum("value", output_field=DecimalField(max_digits=30, decimal_places=10)),
            left_out=Count("id", filter=Q(value__isnull=True)),
        )
        .order_by()
        .values_list("customer_id", "total", "left_out")
    )
    with without_jit(using):
        found = [(c, float(t) if t is not None else 0.0, n) for c, t, n in rows]
    return pd.DataFrame.from_records(
        found,
        columns=["customer_id", "trailing_revenue", "trailing_unconverted"],
    )


def _latest_nps(organization: Organization, *, low: int, high: int) -> pd.DataFrame:
    """Each customer's latest NPS answer (ties broken by id) for the customers low … high."""
    from surveys.models import Response

    from .customer_summaries import without_jit

    using = read_alias()
    answers = (
        Response.objects.using(using)
        .for_organization(organization)
        .filter(customer_id__gte=low, customer_id__lte=high, score_kind="nps", score__isnull=False)
        .order_by("customer_id", "-submitted_at", "-id")
    )
    if connection.vendor == "postgresql":
        with without_jit(using):
            rows = list(answers.distinct("customer_id").values_list("customer_id", "score", "submitted_at"))
    else:
        seen: set[int] = set()
        rows = []
        for customer_id, score, submitted_at in answers.values_list("customer_id", "score", "submitted_at"):
            if customer_id not in seen:
                seen.add(customer_id)
                rows.append((customer_id, score, submitted_at))
    return pd.DataFrame.from_records(rows, columns=["customer_id", "latest_nps_score", "latest_nps_at"])


def _mean_repeat_spend(organization: Organization) -> float:
    """The mean over buyers of their mean repeat spend (the spend given to a customer without a usable
    one when no Gamma-Gamma model is fitted), 0 without any."""
    from django.db.models import Avg, ExpressionWrapper, F, FloatField

    from ..models import CustomerSummary

    mean = (
        CustomerSummary.objects.for_organization(organization)
        .filter(purchase_days__gt=0, repeat_spend_days__gt=0)
        .aggregate(
            mean=Avg(
                ExpressionWrapper(F("repeat_spend") * 1.0 / F("repeat_spend_days"), output_field=FloatField())
            )
        )["mean"]
    )
    return float(mean) if mean is not None else 0.0


def _insert_customer_values(columns: list[str], tuples: list[tuple[Any, ...]]) -> None:
    if tuples:
        with connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {CustomerValue._meta.db_table} ({', '.join(columns)}) "  # noqa: S608  (SQL from model metadata and constants; values are parameters)
                f"VALUES ({', '.join(['%s'] * len(columns))})",
                tuples,
            )


def _ranked_sql(values: str) -> tuple[str, str]:
    """The SELECT of the RFM scores (r, f, m) and value tier (tier) of every buyer in `values` (a
    table of per-customer values) joined to their summaries, and the CASE of the named segment:
    METRICS.md, "Segments": percentile = (customers strictly worse + ½ × customers equal, itself
    included) / n and score = min(5, 1 + ⌊5 × percentile⌋) for recency (fewer days is better),
    frequency (purchase days) and monetary (net value); value tier by the customers strictly above
    (predictive CLV where there is one, else historical): high under 20 % of n, medium under 50 %,
    ties sharing the higher tier. Floating-point operations in the order of computations.segments,
    so the scores are the same. Parameters: the organization, twice."""
    from ..computations.segments import RFM_GRID
    from ..models import CustomerSummary

    postgres = connection.vendor == "postgresql"
    dp = "DOUBLE PRECISION"

    def score(column: str, worse_first: str) -> str:
        percentile = (
            f"((CAST(RANK() OVER (ORDER BY {column} {worse_first}) - 1 AS {dp}) "
            f"+ CAST(0.5 AS {dp}) * CAST(COUNT(*) OVER (PARTITION BY {column}) AS {dp})) "
            f"/ CAST(COUNT(*) OVER () AS {dp}))"
        )
        scaled = f"CAST(5 AS {dp}) * {percentile}"
        floor = f"FLOOR({scaled})" if postgres else f"CAST({scaled} AS INTEGER)"
        return f"CAST(CASE WHEN {floor} >= 4 THEN 5 ELSE {floor} + 1 END AS INTEGER)"

    position = f"CAST(RANK() OVER (ORDER BY value DESC) - 1 AS {dp})"
    buyers = f"CAST(COUNT(*) OVER () AS {dp})"
    segment = " ".join(
        f"WHEN ranked.r = {r} AND ranked.f = {f} THEN '{name}'"
        for r, names in RFM_GRID.items()
        for f, name in enumerate(names, start=1)
    )
    summaries = CustomerSummary._meta.db_table
    ranked = f"""
    SELECT customer_id,
           {score("recency", "DESC")} AS r,
           {score("frequency", "ASC")} AS f,
           {score("monetary", "ASC")} AS m,
           CASE WHEN {position} < CAST(0.2 AS {dp}) * {buyers} THEN 'high'
                WHEN {position} < CAST(0.5 AS {dp}) * {buyers} THEN 'medium'
                ELSE 'low' END AS tier
    FROM (
        SELECT v.customer_id, v.recency_days AS recency, s.purchase_days AS frequency,
               s.historical_value AS monetary,
               COALESCE(v.predicted_clv, CAST(s.historical_value AS {dp})) AS value
        FROM {values} v JOIN {summaries} s ON s.customer_id = v.customer_id
        WHERE v.organization_id = %s AND s.organization_id = %s AND s.purchase_days > 0
    ) buyers
"""  # noqa: S608  (SQL from model metadata and constants; values are parameters)
    return ranked, f"CASE {segment} ELSE '' END"


def _insert_ranked(organization: Organization, columns: list[str]) -> None:
    """CustomerValue rows from the staging table with their ranks (PostgreSQL)."""
    ranked, segment = _ranked_sql(_STAGE)
    plain = [c for c in columns if c not in _RANKED]
    chosen = {
        "r_score": "ranked.r",
        "f_score": "ranked.f",
        "m_score": "ranked.m",
        "rfm_segment": f"COALESCE({segment}, '')",
        "value_tier": "COALESCE(ranked.tier, '')",
    }
    sql = (
        f"INSERT INTO {CustomerValue._meta.db_table} ({', '.join([*plain, *chosen])}) "  # noqa: S608
        f"SELECT {', '.join([*(f'st.{c}' for c in plain), *chosen.values()])} "
        f"FROM {_STAGE} st LEFT JOIN ({ranked}) ranked ON ranked.customer_id = st.customer_id"
    )
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute(sql, [organization.pk] * 2)


def _rank_customer_values(organization: Organization) -> None:
    """The ranks of `_ranked_sql` written over the stored rows (databases other than PostgreSQL)."""
    values = CustomerValue._meta.db_table
    ranked, segment = _ranked_sql(values)
    sql = f"""
UPDATE {values} SET r_score = ranked.r, f_score = ranked.f, m_score = ranked.m,
    rfm_segment = {segment}, value_tier = ranked.tier
FROM ({ranked}) ranked
WHERE {values}.organization_id = %s AND {values}.customer_id = ranked.customer_id
"""  # noqa: S608  (SQL from model metadata and constants; values are parameters)
    with connection.cursor() as cursor:
        cursor.execute(sql, [organization.pk] * 3)
