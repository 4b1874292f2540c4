"""Per-customer values: the rows a recompute stores, prepared before its transaction and written in it
(COPY on PostgreSQL, one executemany elsewhere)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeAlias

import numpy as np
import pandas as pd
from django.db import connection

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


PreparedValues: TypeAlias = pd.DataFrame | tuple[list[str], list[tuple[Any, ...]]]


def _customer_values_prepare(
    organization: Organization, frame: pd.DataFrame, now: datetime
) -> PreparedValues:
    """The rows to store, built before the write transaction opens, so that on SQLite (one writer at
    a time) the transaction holds only the DELETE and the INSERTs. PostgreSQL takes the frame (COPY)."""
    rows = _customer_value_rows(organization, frame, now)
    if connection.vendor == "postgresql":
        return rows
    return list(rows.columns), _insert_tuples(rows)


def _store_customer_values(organization: Organization, prepared: PreparedValues) -> None:
    """Replace the organization's per-customer values (inside the recompute's transaction)."""
    CustomerValue.objects.for_organization(organization).delete()
    if isinstance(prepared, pd.DataFrame):
        if not prepared.empty:
            _copy_customer_values(prepared)
        return
    columns, tuples = prepared
    if tuples:
        with connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {CustomerValue._meta.db_table} ({', '.join(columns)}) "  # noqa: S608  (SQL from model metadata and constants; values are parameters)
                f"VALUES ({', '.join(['%s'] * len(columns))})",
                tuples,
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


def _copy_customer_values(rows: pd.DataFrame) -> None:
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
    table = CustomerValue._meta.db_table
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(
            f"COPY {table} ({', '.join(rows.columns)}) FROM STDIN WITH (FORMAT csv, NULL '\\N')", buffer
        )
