"""Bulk ingest of customers and events (interactions, transactions, …): one code path for the API,
the CSV imports and the management commands.

- `cleaning.py`: a record in, a clean row out (or `RecordInvalid` with its field); no queries.
- `spec.py`: the event tables, declared once (model, accepted fields, cleaner, columns); a new kind
  of event is one `EventTable` and one cleaner.
- `encoding.py`: the one COPY encoder, chosen per column from the model field.
- `customers.py`, `writer.py`: the set-based writes, one transaction per batch.

Invalid records are reported with their index and reason; the valid ones are kept. Re-sending a
batch creates nothing new (`ON CONFLICT DO NOTHING` on the table's unique key).

Referential integrity without per-row foreign-key checks
--------------------------------------------------------
The event tables have no foreign-key constraints on their organization, customer and touchpoint
(three checks per row at commit halved a COPY into them). Every stored row still names a customer and
a touchpoint (or none) that exist and belong to its organization, by construction:

1. Ids are never taken from the record. In the batch's transaction the writer resolves the customers
   by (organization, external id) and checks the touchpoints by (organization, id) in two set-based
   statements; the rows are written with those ids only, so another organization's customer or
   touchpoint can never be named. A touchpoint deleted since the batch was cleaned is written as NULL,
   what its deletion does to the rows already stored.
2. Those statements lock the rows they return `FOR KEY SHARE` (and the organization's row), the lock a
   foreign-key check takes: a concurrent `DELETE` of one of them waits until the batch commits or
   rolls back; customers the batch creates are its own until commit.
3. Deletes cascade in the database, after the deleted row: statement triggers on `journeys_customer`
   (delete its interactions and transactions) and `journeys_touchpoint` (set theirs to NULL), migration
   0008. They run once the delete got its lock, i.e. after a concurrent batch committed, and see its
   rows (READ COMMITTED: each statement of the trigger takes a new snapshot). Deleting an
   organization deletes its customers, so it reaches their events the same way.
   The reverse order is safe too: a batch that resolves a customer after its delete committed does
   not find it and creates a new customer under the same external id.

tests/journeys/test_ingest_integrity.py proves each of these on PostgreSQL with two connections.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError

from cxm.tenancy.models import Organization

from .cleaning import (
    CUSTOMER_FIELDS,
    CUSTOMER_REQUIRED,
    MAX_RECORDS,
    CleanContext,
    Cleaner,
    RecordInvalid,
    clean_customer,
    clean_records,
    parse_datetime_value,
)
from .customers import merge_customer_records
from .result import IngestResult
from .spec import EVENT_TABLES, EventTable, event_table_register, event_table_unregister
from .writer import notify_customer_data_changed, write_clean_rows

__all__ = [
    "CLEANERS",
    "EVENT_TABLES",
    "FIELDS_BY_KIND",
    "MAX_RECORDS",
    "REQUIRED_BY_KIND",
    "CleanContext",
    "EventTable",
    "IngestResult",
    "RecordInvalid",
    "clean_records",
    "cleaner_for",
    "event_table_register",
    "event_table_unregister",
    "merge_customer_records",
    "notify_customer_data_changed",
    "parse_datetime_value",
    "records_ingest",
    "write_clean_rows",
]

# The built-in kinds, for the CSV imports (their kinds are fixed by ImportKind).
CLEANERS: dict[str, Cleaner] = {
    "customers": clean_customer,
    **{kind: table.clean for kind, table in EVENT_TABLES.items()},
}
FIELDS_BY_KIND: dict[str, Sequence[str]] = {
    "customers": CUSTOMER_FIELDS,
    **{kind: table.fields for kind, table in EVENT_TABLES.items()},
}
REQUIRED_BY_KIND: dict[str, Sequence[str]] = {
    "customers": CUSTOMER_REQUIRED,
    **{kind: table.required for kind, table in EVENT_TABLES.items()},
}


def cleaner_for(kind: str) -> Cleaner:
    if kind == "customers":
        return clean_customer
    if kind in EVENT_TABLES:
        return EVENT_TABLES[kind].clean
    raise ValueError(f"unknown kind {kind!r}")


def records_ingest(*, organization: Organization, kind: str, records: Sequence[Any]) -> IngestResult:
    """Validates and writes up to MAX_RECORDS records; invalid ones come back as errors with their index."""
    cleaner = cleaner_for(kind)
    if len(records) > MAX_RECORDS:
        raise ValidationError(f"At most {MAX_RECORDS} records per request.")
    ctx = CleanContext.load(organization)
    valid, errors = clean_records(cleaner, records, ctx)
    result = IngestResult(received=len(records), errors=errors)
    write_clean_rows(organization=organization, kind=kind, rows=[row for _i, row in valid], result=result)
    return result
