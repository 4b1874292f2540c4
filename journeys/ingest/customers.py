"""Customers in bulk: the upsert of customer records, and the resolution of the customers events name.

Both run inside the batch's transaction. Lists travel to the database as one parameter per column
(PostgreSQL: arrays read with `unnest`; other databases: one JSON array read with `json_each`), so
every step is one set-based statement whatever the batch size.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.db import connection
from django.utils import timezone

from .cleaning import CUSTOMER_TEXT_FIELDS
from .encoding import copy_rows
from .result import IngestResult

_STAGE_CUSTOMERS = "journeys_stage_customers"
_BLANK_TEXT = ", ".join(["''"] * len(CUSTOMER_TEXT_FIELDS))


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def db_moment(value: datetime) -> Any:
    """A time as a query parameter: an ISO string for PostgreSQL (cheaper for psycopg2 to adapt than
    a datetime), the backend's own text for the others."""
    return value.isoformat() if is_postgres() else connection.ops.adapt_datetimefield_value(value)


def rows_source(
    alias: str, columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[Any]]
) -> tuple[str, list]:
    """A FROM item reading `rows` as a table `alias(column, …)`; columns are (name, PostgreSQL type)."""
    if is_postgres():
        arrays = ", ".join(f"%s::{pg_type}[]" for _name, pg_type in columns)
        names = ", ".join(name for name, _pg_type in columns)
        return f"unnest({arrays}) AS {alias}({names})", [
            [row[i] for row in rows] for i in range(len(columns))
        ]
    picks = ", ".join(f"json_extract(value, '$[{i}]') AS {name}" for i, (name, _pg) in enumerate(columns))
    return f"(SELECT {picks} FROM json_each(%s)) AS {alias}", [json.dumps([list(row) for row in rows])]  # noqa: S608  (SQL from model metadata and constants; values are parameters)


def _locked_ids(cursor: Any, organization_id: int, external_ids: Sequence[str]) -> dict[str, int]:
    """The organization's customers by external id, locked (FOR KEY SHARE) until commit: a concurrent
    delete of one of them waits for this transaction, and then cascades to what it wrote."""
    if is_postgres():
        cursor.execute(
            """SELECT c.external_id, c.id FROM journeys_customer c
               WHERE c.organization_id = %s AND c.external_id = ANY(%s::text[]) FOR KEY SHARE OF c""",
            [organization_id, list(external_ids)],
        )
        return dict(cursor.fetchall())
    source, params = rows_source("wanted", [("external_id", "text")], [(e,) for e in external_ids])
    cursor.execute(
        f"""SELECT c.external_id, c.id FROM journeys_customer c JOIN {source}
                ON c.organization_id = %s AND c.external_id = wanted.external_id""",  # noqa: S608  (SQL from model metadata and constants; values are parameters)
        [*params, organization_id],
    )
    return dict(cursor.fetchall())


def _move_seen(cursor: Any, organization_id: int, spans: Sequence[tuple[str, Any, Any]]) -> dict[str, int]:
    """Moves first/last seen of the organization's customers whose span (external id, first, last)
    grows; returns their ids. The update's row lock conflicts with a delete, like FOR KEY SHARE."""
    least, greatest = ("LEAST", "GREATEST") if is_postgres() else ("MIN", "MAX")
    source, params = rows_source(
        "b", [("ext", "text"), ("first_seen", "timestamptz"), ("last_seen", "timestamptz")], spans
    )
    wanted, wanted_params = _external_ids_in(spans)
    # Only the customers whose first/last seen moves are written (HOT updates: no index on either).
    cursor.execute(
        f"""UPDATE journeys_customer AS c SET
               first_seen_at = {least}(COALESCE(c.first_seen_at, b.first_seen), b.first_seen),
               last_seen_at = {greatest}(COALESCE(c.last_seen_at, b.last_seen), b.last_seen)
           FROM {source}
           WHERE c.organization_id = %s AND c.external_id = b.ext{wanted}
             AND (c.first_seen_at IS NULL OR c.last_seen_at IS NULL
                  OR b.first_seen < c.first_seen_at OR b.last_seen > c.last_seen_at)
           RETURNING external_id, id""",  # noqa: S608  (SQL from model metadata and constants; values are parameters)
        [*params, organization_id, *wanted_params],
    )
    return dict(cursor.fetchall())


def _external_ids_in(rows: Sequence[Sequence[Any]]) -> tuple[str, list]:
    """On PostgreSQL, the batch's external ids as an array condition on the customers too: the join
    then reads only those customers (by index or by a hashed filter) instead of hashing all of the
    organization's."""
    if not is_postgres():
        return "", []
    return " AND c.external_id = ANY(%s::text[])", [[row[0] for row in rows]]


def customers_resolve(
    cursor: Any, organization_id: int, seen: dict[str, tuple[datetime, datetime]], result: IngestResult
) -> dict[str, int]:
    """Customer id per external id in `seen` (external id -> first and last time of the batch), for the
    organization only, creating the missing customers; moves first/last seen. Every id returned is
    of a customer that exists and stays until commit (locked, or created by this transaction)."""
    moment = (lambda value: value.isoformat()) if is_postgres() else connection.ops.adapt_datetimefield_value
    spans = {}
    for external_id, (first, last) in sorted(seen.items()):
        # Most customers appear once in a batch: their first and last are one time, converted once.
        start = moment(first)
        spans[external_id] = (external_id, start, start if last is first else moment(last))
    # Most customers of a stream of new events move: one statement resolves, moves and locks them.
    ids = _move_seen(cursor, organization_id, list(spans.values()))
    rest = [external_id for external_id in spans if external_id not in ids]
    if rest:
        ids.update(_locked_ids(cursor, organization_id, rest))
    created: dict[str, int] = {}
    missing = [external_id for external_id in rest if external_id not in ids]
    now = db_moment(timezone.now())
    for _attempt in range(5):
        if not missing:
            break
        source, params = rows_source(
            "m",
            [("external_id", "text"), ("first_seen", "timestamptz"), ("last_seen", "timestamptz")],
            [spans[e] for e in missing],
        )
        # Sorted by external id so concurrent batches lock customer rows in the same order.
        cursor.execute(
            f"""INSERT INTO journeys_customer (organization_id, external_id, {", ".join(CUSTOMER_TEXT_FIELDS)},
                    attributes, first_seen_at, last_seen_at, unsubscribed, created_at, updated_at)
                SELECT %s, m.external_id, {_BLANK_TEXT}, '{{}}', m.first_seen, m.last_seen, false, %s, %s
                FROM {source} WHERE true ORDER BY m.external_id
                ON CONFLICT (organization_id, external_id) DO NOTHING
                RETURNING external_id, id""",  # noqa: S608  (SQL from model metadata and constants; values are parameters)
            [organization_id, now, now, *params],
        )
        new = dict(cursor.fetchall())
        created.update(new)
        ids.update(new)
        raced = [external_id for external_id in missing if external_id not in ids]
        if raced:  # created by a concurrent batch a moment ago
            ids.update(_move_seen(cursor, organization_id, [spans[e] for e in raced]))
            ids.update(_locked_ids(cursor, organization_id, [e for e in raced if e not in ids]))
        # Still missing: created and deleted again by others meanwhile; create it once more.
        missing = [external_id for external_id in raced if external_id not in ids]
    if missing:  # pragma: no cover - five concurrent create/delete rounds on the same ids
        raise RuntimeError("customers kept changing concurrently")
    result.customers_created += len(created)
    return ids


def merge_customer_records(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One record per external id: later fields win, attributes are merged."""
    merged: dict[str, dict[str, Any]] = {}
    for row in rows:
        current = merged.get(row["external_id"])
        if current is None:
            merged[row["external_id"]] = dict(row)
            continue
        if "attributes" in row and "attributes" in current:
            row = {
                **row,
                "attributes": json.dumps(
                    {**json.loads(current["attributes"]), **json.loads(row["attributes"])}
                ),
            }
        current.update(row)
    return list(merged.values())


def stage(
    cursor: Any, table: str, columns: Sequence[tuple[str, str, str]], rows: Sequence[Sequence[Any]]
) -> None:
    """Creates a temporary table (name, PostgreSQL type, SQLite type) and loads `rows` into it."""
    postgres = is_postgres()
    cursor.execute(f"DROP TABLE IF EXISTS {table}")
    definition = ", ".join(f"{name} {pg if postgres else lite}" for name, pg, lite in columns)
    cursor.execute(f"CREATE TEMP TABLE {table} ({definition})")
    names = ", ".join(name for name, _pg, _lite in columns)
    raw = getattr(cursor, "cursor", cursor)
    if postgres:
        raw.copy_expert(f"COPY {table} ({names}) FROM STDIN", copy_rows(rows))
        return
    adapt = connection.ops.adapt_datetimefield_value
    prepared = [[adapt(value) if isinstance(value, datetime) else value for value in row] for row in rows]
    placeholders = ", ".join(["%s"] * len(columns))
    cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({placeholders})", prepared)  # noqa: S608  (SQL from model metadata and constants; values are parameters)


def customers_write(
    organization_id: int, records: Sequence[dict[str, Any]], result: IngestResult
) -> list[int]:
    """Upserts merged customer records; a missing field keeps the stored value, an empty one clears it.
    Returns the ids of the customers updated or created."""
    postgres = is_postgres()
    text_fields = list(CUSTOMER_TEXT_FIELDS)
    columns = [
        ("external_id", "text", "text"),
        *[(name, "text", "text") for name in text_fields],
        ("attributes", "jsonb", "text"),
        ("first_seen_at", "timestamptz", "text"),
        ("last_seen_at", "timestamptz", "text"),
        ("unsubscribed", "boolean", "integer"),
    ]
    rows = [[record.get(name) for name, _pg, _lite in columns] for record in records]
    merge = "c.attributes || s.attributes" if postgres else "json_patch(c.attributes, s.attributes)"
    now = timezone.now() if postgres else connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        stage(cursor, _STAGE_CUSTOMERS, columns, rows)
        assignments = ",\n".join(f"{name} = COALESCE(s.{name}, c.{name})" for name in text_fields)
        # A missing field (NULL in the staging table) keeps the stored value; an empty one clears it.
        cursor.execute(
            f"""UPDATE journeys_customer AS c SET
                {assignments},
                attributes = CASE WHEN s.attributes IS NULL THEN c.attributes ELSE {merge} END,
                first_seen_at = COALESCE(s.first_seen_at, c.first_seen_at),
                last_seen_at = COALESCE(s.last_seen_at, c.last_seen_at),
                unsubscribed_at = CASE WHEN s.unsubscribed IS NULL THEN c.unsubscribed_at
                                       WHEN s.unsubscribed AND NOT c.unsubscribed THEN %s
                                       WHEN s.unsubscribed THEN c.unsubscribed_at ELSE NULL END,
                unsubscribed = COALESCE(s.unsubscribed, c.unsubscribed),
                updated_at = %s
            FROM {_STAGE_CUSTOMERS} AS s
            WHERE c.organization_id = %s AND c.external_id = s.external_id
            RETURNING id""",  # noqa: S608  (SQL from model metadata and constants; values are parameters)
            [now, now, organization_id],
        )
        touched = [row[0] for row in cursor.fetchall()]
        result.updated += len(touched)
        values = ", ".join(f"COALESCE(s.{name}, '')" for name in text_fields)
        cursor.execute(
            f"""INSERT INTO journeys_customer (organization_id, external_id, {", ".join(text_fields)}, attributes,
                    first_seen_at, last_seen_at, unsubscribed, unsubscribed_at, created_at, updated_at)
                SELECT %s, s.external_id, {values}, COALESCE(s.attributes, '{{}}'), s.first_seen_at,
                       s.last_seen_at, COALESCE(s.unsubscribed, false),
                       CASE WHEN s.unsubscribed THEN %s ELSE NULL END, %s, %s
                FROM {_STAGE_CUSTOMERS} s
                WHERE NOT EXISTS (SELECT 1 FROM journeys_customer c
                                  WHERE c.organization_id = %s AND c.external_id = s.external_id)
                ORDER BY s.external_id
                ON CONFLICT (organization_id, external_id) DO NOTHING
                RETURNING id""",  # noqa: S608  (SQL from model metadata and constants; values are parameters)
            [organization_id, now, now, now, organization_id],
        )
        created = [row[0] for row in cursor.fetchall()]
        result.created += len(created)
        cursor.execute(f"DROP TABLE {_STAGE_CUSTOMERS}")
    return touched + created
