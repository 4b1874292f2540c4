"""The event tables ingest writes, declared once: a new kind of event is one `EventTable` and one cleaner.

An entry names the model, the record fields it accepts, its cleaner and the model fields the
cleaner's tuple fills, in order. Everything else is derived from the model: the table, the column
names, how each column is encoded for COPY (by field type, `encoding.encoder_for`), the unique
constraint that makes a re-sent record a duplicate. Two foreign keys are resolved by the writer,
never trusted from the record: the customer (the cleaner yields the organization's external id; the
writer resolves it, creating new customers) and the touchpoint (the cleaner yields an id from the
organization's keys; the writer checks it again in the write transaction). The organization is the
batch's, and `created_at` the write's time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from django.db import models

from ..models import Interaction, Transaction
from . import cleaning
from .encoding import Encode, adapter_for, encoder_for


@dataclass(frozen=True)
class EventTable:
    kind: str
    model: type[models.Model]
    # The record fields accepted (the CSV header's columns) and those required.
    fields: Sequence[str]
    required: Sequence[str]
    clean: Callable[[Any, cleaning.CleanContext], tuple[Any, ...]]
    # The model fields the cleaner's tuple fills, in its order.
    columns: Sequence[str]
    # The field whose value makes a re-sent record a duplicate (unique per organization), if any.
    key: str | None = None
    # The customer foreign key (resolved from the external id the cleaner yields) and the time that
    # moves the customer's first/last seen.
    customer: str = "customer"
    time: str = "occurred_at"
    # The touchpoint foreign key (an id the cleaner looked up by key), if the table has one.
    touchpoint: str | None = "touchpoint"
    label: Any = field(default=None, compare=False)

    def _field(self, name: str) -> models.Field:
        return self.model._meta.get_field(name)  # type: ignore[return-value]

    @cached_property
    def table(self) -> str:
        return self.model._meta.db_table

    @cached_property
    def db_columns(self) -> tuple[str, ...]:
        """What is written: the organization, the cleaner's columns, the write's time."""
        return ("organization_id", *(str(self._field(name).column) for name in self.columns), "created_at")

    @cached_property
    def encoders(self) -> tuple[Encode, ...]:
        return tuple(encoder_for(self._field(name)) for name in self.columns)

    @cached_property
    def adapters(self) -> tuple[Callable[[Any], Any], ...]:
        return tuple(adapter_for(self._field(name)) for name in self.columns)

    @cached_property
    def customer_index(self) -> int:
        return list(self.columns).index(self.customer)

    @cached_property
    def time_index(self) -> int:
        return list(self.columns).index(self.time)

    @cached_property
    def touchpoint_index(self) -> int | None:
        return None if self.touchpoint is None else list(self.columns).index(self.touchpoint)

    @cached_property
    def key_index(self) -> int | None:
        return None if self.key is None else list(self.columns).index(self.key)

    @cached_property
    def conflict_target(self) -> str:
        """The `ON CONFLICT` target: the model's unique constraint on (organization, key)."""
        if self.key is None:
            return ""
        for constraint in self.model._meta.constraints:
            if isinstance(constraint, models.UniqueConstraint) and list(constraint.fields) == [
                "organization",
                self.key,
            ]:
                column = self._field(self.key).column
                partial = f" WHERE {column} IS NOT NULL" if constraint.condition is not None else ""
                return f"(organization_id, {column}){partial}"
        raise LookupError(f"{self.model.__name__} has no unique constraint on (organization, {self.key})")


EVENT_TABLES: dict[str, EventTable] = {}


def event_table_register(table: EventTable) -> EventTable:
    """Registers an event kind; another app (above journeys) may register its own tables."""
    EVENT_TABLES[table.kind] = table
    return table


def event_table_unregister(kind: str) -> None:
    EVENT_TABLES.pop(kind, None)


event_table_register(
    EventTable(
        kind="interactions",
        model=Interaction,
        fields=cleaning.INTERACTION_FIELDS,
        required=cleaning.INTERACTION_REQUIRED,
        clean=cleaning.clean_interaction,
        columns=("external_id", "customer", "touchpoint", "kind", "occurred_at", "properties"),
        key="external_id",
    )
)
event_table_register(
    EventTable(
        kind="transactions",
        model=Transaction,
        fields=cleaning.TRANSACTION_FIELDS,
        required=cleaning.TRANSACTION_REQUIRED,
        clean=cleaning.clean_transaction,
        columns=("order_id", "customer", "occurred_at", "amount", "currency", "touchpoint", "properties"),
        key="order_id",
    )
)
