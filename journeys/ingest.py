"""Bulk ingest of customers, interactions and transactions: one code path for the API and CSV import.

A batch is validated in Python (one pass, no per-record queries), staged into a temporary table
(PostgreSQL: COPY; other databases: one executemany) and written with set-based SQL:
customers are resolved (and created when new) by external id in SQL, and rows are inserted with
`INSERT … SELECT … ON CONFLICT DO NOTHING`, so re-sending a batch creates nothing new.
Invalid records are reported with their index and reason; the valid ones are kept.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any, cast

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cxm.core.jsonsafe import JsonRejected, loads_strict, text_problem, unstorable
from cxm.tenancy.models import Organization

from .models import Channel, Touchpoint
from .signals import customer_data_changed

MAX_RECORDS = 10_000
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
MAX_JSON_BYTES = 16_384
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_TRUE = {"1", "true", "yes", "y", "t"}
_FALSE = {"0", "false", "no", "n", "f", ""}
_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)

# (field, max length) of the customer's text fields.
CUSTOMER_TEXT_FIELDS: dict[str, int] = {
    "email": 254,
    "phone": 64,
    "name": 255,
    "age_band": 32,
    "gender": 32,
    "city": 128,
    "occupation": 128,
}
CUSTOMER_FIELDS = (
    "external_id",
    *CUSTOMER_TEXT_FIELDS,
    "attributes",
    "first_seen_at",
    "last_seen_at",
    "unsubscribed",
)
INTERACTION_FIELDS = ("id", "customer_external_id", "touchpoint", "kind", "occurred_at", "properties")
TRANSACTION_FIELDS = (
    "order_id",
    "customer_external_id",
    "occurred_at",
    "amount",
    "currency",
    "touchpoint",
    "properties",
)
FIELDS_BY_KIND = {
    "customers": CUSTOMER_FIELDS,
    "interactions": INTERACTION_FIELDS,
    "transactions": TRANSACTION_FIELDS,
}
REQUIRED_BY_KIND = {
    "customers": ("external_id",),
    "interactions": ("customer_external_id", "occurred_at"),
    "transactions": ("order_id", "customer_external_id", "occurred_at", "amount"),
}


def _driver() -> Any:
    """The DB-API module under Django's connection (psycopg2 or sqlite3): its own error classes."""
    return cast(Any, connection).Database


class RecordInvalid(Exception):
    def __init__(self, field: str | None, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


@dataclass
class IngestResult:
    received: int = 0
    created: int = 0
    updated: int = 0
    duplicates: int = 0
    customers_created: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "created": self.created,
            "updated": self.updated,
            "duplicates": self.duplicates,
            "customers_created": self.customers_created,
            "rejected": len(self.errors),
            "errors": self.errors,
        }


@dataclass
class CleanContext:
    """What validation needs to know about the organization, loaded once per batch (or file)."""

    organization: Organization
    touchpoints: dict[str, int]
    tz: tzinfo
    now: datetime
    from_csv: bool = False

    @classmethod
    def load(cls, organization: Organization, *, from_csv: bool = False) -> CleanContext:
        touchpoints = dict(Touchpoint.objects.for_organization(organization).values_list("key", "id"))
        return cls(organization, touchpoints, organization.tzinfo, timezone.now(), from_csv)


# --- Field cleaners --------------------------------------------------------------------------


def _text(record: dict[str, Any], name: str, max_length: int, *, required: bool = False) -> str | None:
    value = record.get(name)
    if type(value) is str and 0 < len(value) <= max_length and "\x00" not in value and value.isascii():
        stripped = value.strip()
        if stripped or not required:
            return stripped
    if value is None or value == "":
        if required:
            raise RecordInvalid(name, _("%(field)s is required") % {"field": name})
        return None if value is None else ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise RecordInvalid(name, _("%(field)s must be a string") % {"field": name})
    value = str(value).strip()
    if required and not value:
        raise RecordInvalid(name, _("%(field)s is required") % {"field": name})
    if len(value) > max_length:
        raise RecordInvalid(
            name, _("%(field)s is longer than %(n)d characters") % {"field": name, "n": max_length}
        )
    if "\x00" in value:
        raise RecordInvalid(name, _("%(field)s contains a NUL character") % {"field": name})
    if text_problem(value):
        raise RecordInvalid(name, _("%(field)s contains a lone surrogate") % {"field": name})
    return value


def parse_datetime_value(value: Any, tz: tzinfo) -> datetime:
    """ISO 8601 date or date-time; a time without offset is in the organization's time zone."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        text = value.strip()
        if len(text) == 10:
            parsed = datetime.combine(date.fromisoformat(text), datetime.min.time())
        else:
            parsed = datetime.fromisoformat(text)
    else:
        raise ValueError("not a string")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed.astimezone(UTC)


def _datetime(
    record: dict[str, Any], name: str, ctx: CleanContext, *, required: bool = False
) -> datetime | None:
    value = record.get(name)
    if value is None or value == "":
        if required:
            raise RecordInvalid(name, _("%(field)s is required") % {"field": name})
        return None
    try:
        parsed = parse_datetime_value(value, ctx.tz)
    except (ValueError, TypeError, OverflowError):
        raise RecordInvalid(name, _("%(field)s is not an ISO 8601 date-time") % {"field": name})
    if parsed < _EARLIEST:
        raise RecordInvalid(name, _("%(field)s is before 1970") % {"field": name})
    if parsed > ctx.now + timedelta(days=1):
        raise RecordInvalid(name, _("%(field)s is in the future") % {"field": name})
    return parsed


def _json_object(record: dict[str, Any], name: str, ctx: CleanContext) -> str | None:
    value = record.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, str) and ctx.from_csv:
        try:
            value = loads_strict(value)
        except JsonRejected:
            raise RecordInvalid(name, _("%(field)s is not valid JSON") % {"field": name})
    if not isinstance(value, dict):
        raise RecordInvalid(name, _("%(field)s must be a JSON object") % {"field": name})
    problem = unstorable(value)
    if problem and "NUL" in problem:
        raise RecordInvalid(name, _("%(field)s contains a NUL character") % {"field": name})
    if problem and "surrogate" in problem:
        raise RecordInvalid(name, _("%(field)s contains a lone surrogate") % {"field": name})
    if problem:
        raise RecordInvalid(name, _("%(field)s is not valid JSON") % {"field": name})
    text = _JSON.encode(value)
    if len(text) > MAX_JSON_BYTES:
        raise RecordInvalid(
            name, _("%(field)s is larger than %(n)d bytes") % {"field": name, "n": MAX_JSON_BYTES}
        )
    if "\\u0000" in text:
        raise RecordInvalid(name, _("%(field)s contains a NUL character") % {"field": name})
    return text


def _bool(record: dict[str, Any], name: str) -> bool | None:
    value = record.get(name)
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, str | int):
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return None if text == "" else False
    raise RecordInvalid(name, _("%(field)s must be true or false") % {"field": name})


def _touchpoint(record: dict[str, Any], ctx: CleanContext) -> int | None:
    key = _text(record, "touchpoint", 100)
    if not key:
        return None
    touchpoint_id = ctx.touchpoints.get(key)
    if touchpoint_id is None:
        raise RecordInvalid("touchpoint", _("unknown touchpoint key %(key)r") % {"key": key})
    return touchpoint_id


_ALLOWED: dict[Sequence[str], frozenset[str]] = {}


def _check_fields(record: Any, allowed: Sequence[str]) -> dict[str, Any]:
    if type(record) is not dict:
        raise RecordInvalid(None, _("a record must be a JSON object"))
    names = _ALLOWED.get(allowed)
    if names is None:
        names = _ALLOWED[allowed] = frozenset(allowed)
    if not names.issuperset(record):
        unknown = next(name for name in record if name not in names)
        raise RecordInvalid(unknown, _("unknown field %(name)r") % {"name": unknown})
    return record


# --- Record cleaners: a record in, a tuple for the staging table out ---------------------------


def clean_customer(record: Any, ctx: CleanContext) -> dict[str, Any]:
    record = _check_fields(record, CUSTOMER_FIELDS)
    clean: dict[str, Any] = {"external_id": _text(record, "external_id", 255, required=True)}
    for name, max_length in CUSTOMER_TEXT_FIELDS.items():
        if name in record:
            clean[name] = _text(record, name, max_length) or ""
    if clean.get("email"):
        try:
            validate_email(clean["email"])
        except ValidationError:
            raise RecordInvalid("email", _("email is not a valid address"))
    if "attributes" in record:
        clean["attributes"] = _json_object(record, "attributes", ctx) or "{}"
    for name in ("first_seen_at", "last_seen_at"):
        if record.get(name) not in (None, ""):
            clean[name] = _datetime(record, name, ctx)
    unsubscribed = _bool(record, "unsubscribed")
    if unsubscribed is not None:
        clean["unsubscribed"] = unsubscribed
    return clean


def clean_interaction(record: Any, ctx: CleanContext) -> tuple[Any, ...]:
    record = _check_fields(record, INTERACTION_FIELDS)
    return (
        _text(record, "id", 255) or None,
        _text(record, "customer_external_id", 255, required=True),
        _touchpoint(record, ctx),
        _text(record, "kind", 64) or "",
        _datetime(record, "occurred_at", ctx, required=True),
        _json_object(record, "properties", ctx) or "{}",
    )


def clean_transaction(record: Any, ctx: CleanContext) -> tuple[Any, ...]:
    record = _check_fields(record, TRANSACTION_FIELDS)
    order_id = _text(record, "order_id", 255, required=True)
    customer_external_id = _text(record, "customer_external_id", 255, required=True)
    occurred_at = _datetime(record, "occurred_at", ctx, required=True)
    raw_amount = record.get("amount")
    if raw_amount is None or raw_amount == "" or isinstance(raw_amount, bool):
        raise RecordInvalid("amount", _("amount is required"))
    try:
        amount = Decimal(str(raw_amount).strip())
    except InvalidOperation:
        raise RecordInvalid("amount", _("amount is not a number"))
    if not amount.is_finite():
        raise RecordInvalid("amount", _("amount is not a number"))
    if amount.as_tuple().exponent < -2:  # type: ignore[operator]
        raise RecordInvalid("amount", _("amount has more than 2 decimal places"))
    if abs(amount) >= Decimal("1e12"):
        raise RecordInvalid("amount", _("amount is too large"))
    currency = (_text(record, "currency", 3) or "USD").upper()
    if not _CURRENCY.match(currency):
        raise RecordInvalid("currency", _("currency must be a 3-letter ISO 4217 code"))
    return (
        order_id,
        customer_external_id,
        occurred_at,
        amount,
        currency,
        _touchpoint(record, ctx),
        _json_object(record, "properties", ctx) or "{}",
    )


CLEANERS: dict[str, Callable[[Any, CleanContext], Any]] = {
    "customers": clean_customer,
    "interactions": clean_interaction,
    "transactions": clean_transaction,
}


def clean_records(
    kind: str, records: Iterable[Any], ctx: CleanContext
) -> tuple[list[tuple[int, Any]], list[dict[str, Any]]]:
    """(index, clean row) for the valid records and {index, field, reason} for the others."""
    cleaner = CLEANERS[kind]
    valid: list[tuple[int, Any]] = []
    errors: list[dict[str, Any]] = []
    for index, record in enumerate(records):
        try:
            valid.append((index, cleaner(record, ctx)))
        except RecordInvalid as exc:
            errors.append({"index": index, "field": exc.field, "reason": exc.reason})
    return valid, errors


# --- Staging and set-based writes ------------------------------------------------------------


def _is_postgres() -> bool:
    return connection.vendor == "postgresql"


def _copy_text(value: Any) -> str:
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, datetime):
        return value.isoformat()
    text = str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _stage(
    cursor: Any, table: str, columns: Sequence[tuple[str, str, str]], rows: Sequence[Sequence[Any]]
) -> None:
    """Creates a temporary table (name, PostgreSQL type, SQLite type) and loads `rows` into it."""
    postgres = _is_postgres()
    cursor.execute(f"DROP TABLE IF EXISTS {table}")
    definition = ", ".join(f"{name} {pg if postgres else lite}" for name, pg, lite in columns)
    cursor.execute(f"CREATE TEMP TABLE {table} ({definition})")
    names = ", ".join(name for name, _pg, _lite in columns)
    raw = getattr(cursor, "cursor", cursor)
    if postgres and hasattr(raw, "copy_expert"):
        buffer = io.StringIO()
        buffer.write("".join("\t".join(map(_copy_text, row)) + "\n" for row in rows))
        buffer.seek(0)
        raw.copy_expert(f"COPY {table} ({names}) FROM STDIN", buffer)
        return
    adapt = connection.ops.adapt_datetimefield_value
    prepared = [[adapt(value) if isinstance(value, datetime) else value for value in row] for row in rows]
    placeholders = ", ".join(["%s"] * len(columns))
    cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({placeholders})", prepared)


def _db_now() -> Any:
    now = timezone.now()
    return now if _is_postgres() else connection.ops.adapt_datetimefield_value(now)


def _least_greatest() -> tuple[str, str]:
    return ("LEAST", "GREATEST") if _is_postgres() else ("MIN", "MAX")


_STAGE_EVENTS = "journeys_stage_events"
_STAGE_CUSTOMERS = "journeys_stage_customers"


def _ensure_customers(cursor: Any, organization_id: int) -> int:
    """Creates the customers the staged events name and moves their first/last seen; returns how many were new."""
    least, greatest = _least_greatest()
    cursor.execute(
        f"""SELECT COUNT(*) FROM (SELECT DISTINCT customer_external_id FROM {_STAGE_EVENTS}) s
            WHERE NOT EXISTS (SELECT 1 FROM journeys_customer c
                              WHERE c.organization_id = %s AND c.external_id = s.customer_external_id)""",
        [organization_id],
    )
    new_customers = cursor.fetchone()[0]
    now = _db_now()
    # Sorted by external id so concurrent batches lock customer rows in the same order.
    cursor.execute(
        f"""INSERT INTO journeys_customer (organization_id, external_id, email, phone, name, age_band, gender,
                city, occupation, attributes, first_seen_at, last_seen_at, unsubscribed, created_at, updated_at)
            SELECT %s, customer_external_id, '', '', '', '', '', '', '', '{{}}', MIN(occurred_at),
                   MAX(occurred_at), false, %s, %s
            FROM {_STAGE_EVENTS} WHERE true GROUP BY customer_external_id ORDER BY customer_external_id
            ON CONFLICT (organization_id, external_id) DO UPDATE SET
              first_seen_at = {least}(COALESCE(journeys_customer.first_seen_at, excluded.first_seen_at),
                                      excluded.first_seen_at),
              last_seen_at = {greatest}(COALESCE(journeys_customer.last_seen_at, excluded.last_seen_at),
                                        excluded.last_seen_at)
            WHERE journeys_customer.first_seen_at IS NULL OR journeys_customer.last_seen_at IS NULL
               OR excluded.first_seen_at < journeys_customer.first_seen_at
               OR excluded.last_seen_at > journeys_customer.last_seen_at""",
        [organization_id, now, now],
    )
    return new_customers


# --- PostgreSQL fast path: resolve customers in SQL, COPY new rows straight into the table -----


def _pg_resolve_customers(
    cursor: Any, organization_id: int, seen: dict[str, tuple[datetime, datetime]], result: IngestResult
) -> dict[str, int]:
    """Customer id per external id, creating the missing customers; moves first/last seen."""
    external_ids = sorted(seen)
    cursor.execute(
        "SELECT external_id, id FROM journeys_customer WHERE organization_id = %s AND external_id = ANY(%s)",
        [organization_id, external_ids],
    )
    ids = dict(cursor.fetchall())
    missing = [external_id for external_id in external_ids if external_id not in ids]
    created: dict[str, int] = {}
    if missing:
        now = timezone.now()
        cursor.execute(
            """INSERT INTO journeys_customer (organization_id, external_id, email, phone, name, age_band, gender,
                    city, occupation, attributes, first_seen_at, last_seen_at, unsubscribed, created_at, updated_at)
               SELECT %s, m.external_id, '', '', '', '', '', '', '', '{}', m.first_seen, m.last_seen, false, %s, %s
               FROM unnest(%s::text[], %s::timestamptz[], %s::timestamptz[]) AS m(external_id, first_seen, last_seen)
               ORDER BY m.external_id
               ON CONFLICT (organization_id, external_id) DO NOTHING
               RETURNING external_id, id""",
            [
                organization_id,
                now,
                now,
                missing,
                [seen[e][0].isoformat() for e in missing],
                [seen[e][1].isoformat() for e in missing],
            ],
        )
        created = dict(cursor.fetchall())
        result.customers_created += len(created)
        ids.update(created)
        raced = [external_id for external_id in missing if external_id not in ids]
        if raced:  # created by a concurrent batch a moment ago
            cursor.execute(
                "SELECT external_id, id FROM journeys_customer WHERE organization_id = %s AND external_id = ANY(%s)",
                [organization_id, raced],
            )
            ids.update(cursor.fetchall())
    # Timestamps travel as ISO strings: psycopg2 adapts strings much faster than datetimes.
    existing = sorted(
        (ids[e], seen[e][0].isoformat(), seen[e][1].isoformat()) for e in external_ids if e not in created
    )
    if existing:
        # Rows are locked in id order (the unnest is sorted), so concurrent batches do not deadlock.
        cursor.execute(
            """UPDATE journeys_customer AS c SET
                   first_seen_at = LEAST(COALESCE(c.first_seen_at, b.first_seen), b.first_seen),
                   last_seen_at = GREATEST(COALESCE(c.last_seen_at, b.last_seen), b.last_seen)
               FROM unnest(%s::bigint[], %s::timestamptz[], %s::timestamptz[]) AS b(id, first_seen, last_seen)
               WHERE c.id = b.id AND (c.first_seen_at IS NULL OR c.last_seen_at IS NULL
                                      OR b.first_seen < c.first_seen_at OR b.last_seen > c.last_seen_at)""",
            [[row[0] for row in existing], [row[1] for row in existing], [row[2] for row in existing]],
        )
    return ids


def _escape(text: str) -> str:
    """A value for COPY's text format."""
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return text


_NULL = "\\N"


def _pg_copy_events(
    *,
    organization_id: int,
    table: str,
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    key_index: int,
    customer_index: int,
    time_index: int,
    line: Callable[[tuple[Any, ...], int], str],
    result: IngestResult,
) -> bool:
    """Writes events with COPY, optimistically: new client ids are the common case. Returns False
    (having written nothing) when one of the ids is already stored, so the caller falls back to
    INSERT … ON CONFLICT DO NOTHING."""
    seen: dict[str, tuple[datetime, datetime]] = {}
    for row in rows:
        external_id, moment = row[customer_index], row[time_index]
        bounds = seen.get(external_id)
        if bounds is None:
            seen[external_id] = (moment, moment)
        elif moment < bounds[0] or moment > bounds[1]:
            seen[external_id] = (min(moment, bounds[0]), max(moment, bounds[1]))
    with connection.cursor() as cursor:
        customer_ids = _pg_resolve_customers(cursor, organization_id, seen, result)
        buffer = io.StringIO()
        keys: set[str] = set()
        written = 0
        for row in rows:
            key = row[key_index]
            if key is not None:
                if key in keys:
                    continue  # a repeat within the batch: the first one wins
                keys.add(key)
            buffer.write(line(row, customer_ids[row[customer_index]]))
            written += 1
        buffer.seek(0)
        try:
            with transaction.atomic():
                raw = getattr(cursor, "cursor", cursor)
                raw.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", buffer)
        except (IntegrityError, _driver().IntegrityError):
            return False
    result.created += written
    return True


def _write_interactions(organization_id: int, rows: Sequence[tuple[Any, ...]], result: IngestResult) -> None:
    if _is_postgres():
        head = f"{organization_id}\t"
        tail = f"\t{timezone.now().isoformat()}\n"

        def interaction_line(row: tuple[Any, ...], customer_id: int) -> str:
            # row: id, customer external id, touchpoint id, kind, occurred at, properties
            key, touchpoint_id = row[0], row[2]
            return (
                f"{head}{customer_id}\t{_NULL if touchpoint_id is None else touchpoint_id}\t{_escape(row[3])}\t"
                f"{row[4].isoformat()}\t{_escape(row[5])}\t{_NULL if key is None else _escape(key)}{tail}"
            )

        done = _pg_copy_events(
            organization_id=organization_id,
            table="journeys_interaction",
            columns=(
                "organization_id",
                "customer_id",
                "touchpoint_id",
                "kind",
                "occurred_at",
                "properties",
                "external_id",
                "created_at",
            ),
            rows=rows,
            key_index=0,
            customer_index=1,
            time_index=4,
            line=interaction_line,
            result=result,
        )
        if done:
            return
    with connection.cursor() as cursor:
        _stage(
            cursor,
            _STAGE_EVENTS,
            [
                ("idx", "integer", "integer"),
                ("external_id", "text", "text"),
                ("customer_external_id", "text", "text"),
                ("touchpoint_id", "bigint", "integer"),
                ("kind", "text", "text"),
                ("occurred_at", "timestamptz", "text"),
                ("properties", "jsonb", "text"),
            ],
            [(index, *row) for index, row in enumerate(rows)],
        )
        result.customers_created += _ensure_customers(cursor, organization_id)
        cursor.execute(
            f"""INSERT INTO journeys_interaction (organization_id, customer_id, touchpoint_id, kind, occurred_at,
                    properties, external_id, created_at)
                SELECT %s, c.id, s.touchpoint_id, s.kind, s.occurred_at, s.properties, s.external_id, %s
                FROM {_STAGE_EVENTS} s
                JOIN journeys_customer c ON c.organization_id = %s AND c.external_id = s.customer_external_id
                WHERE true ORDER BY s.idx
                ON CONFLICT (organization_id, external_id) WHERE external_id IS NOT NULL DO NOTHING""",
            [organization_id, _db_now(), organization_id],
        )
        result.created += max(cursor.rowcount, 0)
        cursor.execute(f"DROP TABLE {_STAGE_EVENTS}")


def _write_transactions(organization_id: int, rows: Sequence[tuple[Any, ...]], result: IngestResult) -> None:
    if _is_postgres():
        head = f"{organization_id}\t"
        tail = f"\t{timezone.now().isoformat()}\n"

        def transaction_line(row: tuple[Any, ...], customer_id: int) -> str:
            # row: order id, customer external id, occurred at, amount, currency, touchpoint id, properties
            touchpoint_id = row[5]
            return (
                f"{head}{customer_id}\t{_escape(row[0])}\t{row[2].isoformat()}\t{row[3]}\t{_escape(row[4])}\t"
                f"{_NULL if touchpoint_id is None else touchpoint_id}\t{_escape(row[6])}{tail}"
            )

        done = _pg_copy_events(
            organization_id=organization_id,
            table="journeys_transaction",
            columns=(
                "organization_id",
                "customer_id",
                "order_id",
                "occurred_at",
                "amount",
                "currency",
                "touchpoint_id",
                "properties",
                "created_at",
            ),
            rows=rows,
            key_index=0,
            customer_index=1,
            time_index=2,
            line=transaction_line,
            result=result,
        )
        if done:
            return
    with connection.cursor() as cursor:
        _stage(
            cursor,
            _STAGE_EVENTS,
            [
                ("idx", "integer", "integer"),
                ("order_id", "text", "text"),
                ("customer_external_id", "text", "text"),
                ("occurred_at", "timestamptz", "text"),
                ("amount", "numeric(14, 2)", "text"),
                ("currency", "text", "text"),
                ("touchpoint_id", "bigint", "integer"),
                ("properties", "jsonb", "text"),
            ],
            [(index, *row[:3], str(row[3]), *row[4:]) for index, row in enumerate(rows)],
        )
        result.customers_created += _ensure_customers(cursor, organization_id)
        cursor.execute(
            f"""INSERT INTO journeys_transaction (organization_id, customer_id, order_id, occurred_at, amount,
                    currency, touchpoint_id, properties, created_at)
                SELECT %s, c.id, s.order_id, s.occurred_at, s.amount, s.currency, s.touchpoint_id, s.properties, %s
                FROM {_STAGE_EVENTS} s
                JOIN journeys_customer c ON c.organization_id = %s AND c.external_id = s.customer_external_id
                WHERE true ORDER BY s.idx
                ON CONFLICT (organization_id, order_id) DO NOTHING""",
            [organization_id, _db_now(), organization_id],
        )
        result.created += max(cursor.rowcount, 0)
        cursor.execute(f"DROP TABLE {_STAGE_EVENTS}")


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


def _write_customers(organization_id: int, records: Sequence[dict[str, Any]], result: IngestResult) -> None:
    postgres = _is_postgres()
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
    now = _db_now()
    with connection.cursor() as cursor:
        _stage(cursor, _STAGE_CUSTOMERS, columns, rows)
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
            WHERE c.organization_id = %s AND c.external_id = s.external_id""",
            [now, now, organization_id],
        )
        result.updated += max(cursor.rowcount, 0)
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
                ON CONFLICT (organization_id, external_id) DO NOTHING""",
            [organization_id, now, now, now, organization_id],
        )
        result.created += max(cursor.rowcount, 0)
        cursor.execute(f"DROP TABLE {_STAGE_CUSTOMERS}")


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
        _write_customers(organization.pk, merged, result)
    elif kind == "interactions":
        created_before = result.created
        _write_interactions(organization.pk, rows, result)
        result.duplicates += len(rows) - (result.created - created_before)
    elif kind == "transactions":
        created_before = result.created
        _write_transactions(organization.pk, rows, result)
        result.duplicates += len(rows) - (result.created - created_before)
    else:  # pragma: no cover - guarded by callers
        raise ValueError(kind)
    if notify and (result.created + result.updated > before or result.customers_created):
        notify_customer_data_changed(organization_id=organization.pk, kind=kind)


def notify_customer_data_changed(*, organization_id: int, kind: str) -> None:
    transaction.on_commit(
        lambda: customer_data_changed.send(sender=IngestResult, organization_id=organization_id, kind=kind)
    )


def records_ingest(*, organization: Organization, kind: str, records: Sequence[Any]) -> IngestResult:
    """Validates and writes up to MAX_RECORDS records; invalid ones come back as errors with their index."""
    if kind not in CLEANERS:
        raise ValueError(f"unknown kind {kind!r}")
    if len(records) > MAX_RECORDS:
        raise ValidationError(f"At most {MAX_RECORDS} records per request.")
    ctx = CleanContext.load(organization)
    valid, errors = clean_records(kind, records, ctx)
    result = IngestResult(received=len(records), errors=errors)
    write_clean_rows(organization=organization, kind=kind, rows=[row for _i, row in valid], result=result)
    return result


CHANNEL_VALUES = frozenset(Channel.values)
