"""The one writer: a batch of clean rows of any kind, in one transaction, retried on deadlock.

Event rows (any `EventTable` of `spec.py`) are written by `events_write`; customer records by
`customers.customers_write`. See the package docstring for how event rows stay tied to real
customers and touchpoints of their organization without per-row foreign-key checks.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from cxm.tenancy.models import Organization

from ..signals import customer_data_changed
from .customers import customers_resolve, customers_write, is_postgres, merge_customer_records, rows_source
from .encoding import copy_rows
from .result import IngestResult
from .spec import EVENT_TABLES, EventTable

_STAGE_EVENTS = "journeys_stage_events"


def _driver() -> Any:
    """The DB-API module under Django's connection (psycopg2 or sqlite3): its own error classes."""
    return cast(Any, connection).Database


def _lock_organization(cursor: Any, organization_id: int) -> None:
    """Deleting the organization waits for this batch (PostgreSQL), so it also deletes what it wrote."""
    if is_postgres():
        cursor.execute("SELECT id FROM tenancy_organization WHERE id = %s FOR KEY SHARE", [organization_id])
        if cursor.fetchone() is None:
            raise IntegrityError(f"organization {organization_id} no longer exists")


def _live_touchpoints(cursor: Any, organization_id: int, touchpoint_ids: set[int]) -> set[int]:
    """Which of the ids are touchpoints of the organization now, locked against deletion until commit
    (PostgreSQL); a touchpoint deleted since the batch was cleaned is left out."""
    if not touchpoint_ids:
        return set()
    source, params = rows_source("wanted", [("id", "bigint")], [(i,) for i in sorted(touchpoint_ids)])
    lock = " FOR KEY SHARE OF t" if is_postgres() else ""
    cursor.execute(
        f"SELECT t.id FROM journeys_touchpoint t JOIN {source} ON t.organization_id = %s AND t.id = wanted.id{lock}",  # noqa: S608  (SQL from model metadata and constants; values are parameters)
        [*params, organization_id],
    )
    return {row[0] for row in cursor.fetchall()}


def _first_and_last(
    table: EventTable, rows: Sequence[tuple[Any, ...]]
) -> dict[str, tuple[datetime, datetime]]:
    seen: dict[str, tuple[datetime, datetime]] = {}
    customer, time = table.customer_index, table.time_index
    for row in rows:
        external_id, moment = row[customer], row[time]
        bounds = seen.get(external_id)
        if bounds is None:
            seen[external_id] = (moment, moment)
        elif moment < bounds[0] or moment > bounds[1]:
            seen[external_id] = (min(moment, bounds[0]), max(moment, bounds[1]))
    return seen


def _resolved_rows(
    table: EventTable, rows: Sequence[tuple[Any, ...]], customer_ids: dict[str, int], live: set[int] | None
) -> list[list[Any]]:
    """The rows to write: customer ids in place of external ids, a vanished touchpoint as NULL, and a
    key repeated within the batch kept once (the first wins)."""
    customer, touchpoint, key = table.customer_index, table.touchpoint_index, table.key_index
    keys: set[Any] = set()
    out = []
    for row in rows:
        if key is not None and row[key] is not None:
            if row[key] in keys:
                continue
            keys.add(row[key])
        values = list(row)
        values[customer] = customer_ids[values[customer]]
        if touchpoint is not None and values[touchpoint] is not None and values[touchpoint] not in live:  # type: ignore[operator]
            values[touchpoint] = None
        out.append(values)
    return out


def events_write(
    table: EventTable, organization_id: int, rows: Sequence[tuple[Any, ...]], result: IngestResult
) -> list[int]:
    """Writes clean event rows; returns the ids of the customers they name."""
    now = timezone.now()
    with connection.cursor() as cursor:
        _lock_organization(cursor, organization_id)
        live = None
        if table.touchpoint_index is not None:
            wanted = {row[table.touchpoint_index] for row in rows} - {None}
            live = _live_touchpoints(cursor, organization_id, wanted)
        customer_ids = customers_resolve(cursor, organization_id, _first_and_last(table, rows), result)
        values = _resolved_rows(table, rows, customer_ids, live)
        columns = ", ".join(table.db_columns)
        conflict = f" ON CONFLICT {table.conflict_target} DO NOTHING" if table.conflict_target else ""
        if is_postgres():
            result.created += _pg_copy(cursor, table, organization_id, now, values, columns, conflict)
        else:
            adapters = table.adapters
            now_param = connection.ops.adapt_datetimefield_value(now)
            params = [
                [
                    organization_id,
                    *(adapt(value) for adapt, value in zip(adapters, row, strict=True)),
                    now_param,
                ]
                for row in values
            ]
            placeholders = ", ".join(["%s"] * len(table.db_columns))
            cursor.executemany(
                f"INSERT INTO {table.table} ({columns}) VALUES ({placeholders}){conflict}",  # noqa: S608  (SQL from model metadata and constants; values are parameters)
                params,
            )
            result.created += max(cursor.rowcount, 0)
    return sorted(set(customer_ids.values()))


def _pg_copy(
    cursor: Any,
    table: EventTable,
    organization_id: int,
    now: datetime,
    values: list[list[Any]],
    columns: str,
    conflict: str,
) -> int:
    """COPY straight into the table, optimistically (new keys are the common case); when one key is
    already stored, the same rows go through a staging table and `INSERT … ON CONFLICT DO NOTHING`."""

    def buffer() -> Any:
        return copy_rows(values, table.encoders, head=(organization_id,), tail=(now,))

    raw = getattr(cursor, "cursor", cursor)
    if _copy_into_table(raw, table.table, columns, buffer()):
        return len(values)
    cursor.execute(f"DROP TABLE IF EXISTS {_STAGE_EVENTS}")
    cursor.execute(f"CREATE TEMP TABLE {_STAGE_EVENTS} AS SELECT {columns} FROM {table.table} WITH NO DATA")  # noqa: S608  (SQL from model metadata and constants; values are parameters)
    raw.copy_expert(f"COPY {_STAGE_EVENTS} ({columns}) FROM STDIN", buffer())
    cursor.execute(f"INSERT INTO {table.table} ({columns}) SELECT {columns} FROM {_STAGE_EVENTS}{conflict}")  # noqa: S608  (SQL from model metadata and constants; values are parameters)
    created = max(cursor.rowcount, 0)
    cursor.execute(f"DROP TABLE {_STAGE_EVENTS}")
    return created


def _copy_into_table(raw: Any, table: str, columns: str, buffer: Any) -> bool:
    """COPY, undone (to a savepoint) when a row breaks a unique constraint; whether it was written."""
    try:
        with transaction.atomic():
            raw.copy_expert(f"COPY {table} ({columns}) FROM STDIN", buffer)
        return True
    except (IntegrityError, _driver().IntegrityError):
        return False


def write_clean_rows(
    *, organization: Organization, kind: str, rows: Sequence[Any], result: IngestResult, notify: bool = True
) -> None:
    """Writes already-cleaned rows (from `clean_records`) in one transaction; higher layers hear of it
    after commit (a CSV import passes notify=False and tells them once, at the end)."""
    if not rows:
        return
    for attempt in range(3):
        try:
            _write_clean_rows_once(
                organization=organization, kind=kind, rows=rows, result=result, notify=notify
            )
            return
        except (OperationalError, _driver().OperationalError) as exc:
            # Two batches touching the same customers in another order: retry, the loser's work was rolled back.
            if attempt == 2 or "deadlock" not in str(exc):
                raise


def _write_clean_rows_once(
    *, organization: Organization, kind: str, rows: Sequence[Any], result: IngestResult, notify: bool
) -> None:
    snapshot = (result.created, result.updated, result.duplicates, result.customers_created)
    try:
        with transaction.atomic():
            _write_batch(organization=organization, kind=kind, rows=rows, result=result, notify=notify)
    except (OperationalError, _driver().OperationalError):
        result.created, result.updated, result.duplicates, result.customers_created = snapshot
        raise


def _write_batch(
    *, organization: Organization, kind: str, rows: Sequence[Any], result: IngestResult, notify: bool
) -> None:
    before = result.created + result.updated
    if kind == "customers":
        merged = merge_customer_records(rows)
        result.duplicates += len(rows) - len(merged)
        customer_ids = customers_write(organization.pk, merged, result)
    else:
        created_before = result.created
        customer_ids = events_write(EVENT_TABLES[kind], organization.pk, rows, result)
        result.duplicates += len(rows) - (result.created - created_before)
    if notify and (result.created + result.updated > before or result.customers_created):
        notify_customer_data_changed(organization_id=organization.pk, kind=kind, customer_ids=customer_ids)


def notify_customer_data_changed(
    *, organization_id: int, kind: str, customer_ids: list[int] | None = None
) -> None:
    """Sends `customer_data_changed` after commit (see journeys/signals.py for its arguments)."""
    transaction.on_commit(
        lambda: customer_data_changed.send(
            sender=IngestResult, organization_id=organization_id, kind=kind, customer_ids=customer_ids
        )
    )
