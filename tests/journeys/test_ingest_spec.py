"""The event-table spec: a new kind of event is one table entry and one cleaner, written by the same
writer (COPY on PostgreSQL, the same statements elsewhere); the signal names the customers touched."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.utils.translation import gettext as _

from journeys.ingest import (
    CleanContext,
    EventTable,
    RecordInvalid,
    event_table_register,
    event_table_unregister,
    parse_datetime_value,
    records_ingest,
)
from journeys.ingest.spec import EVENT_TABLES
from journeys.models import Customer, Interaction
from journeys.signals import customer_data_changed

from .factories import CustomerFactory, TouchpointFactory

pytestmark = pytest.mark.django_db

FEEDBACK_FIELDS = ("id", "customer_external_id", "touchpoint", "at", "text")


def clean_feedback(record: Any, ctx: CleanContext) -> tuple[Any, ...]:
    """A throwaway kind: free-text feedback stored in the interaction table's shape."""
    if type(record) is not dict or not set(record) <= set(FEEDBACK_FIELDS):
        raise RecordInvalid(None, _("a record must be a JSON object"))
    text = record.get("text")
    if not isinstance(text, str) or not text.strip():
        raise RecordInvalid("text", _("%(field)s is required") % {"field": "text"})
    touchpoint = ctx.touchpoints.get(record["touchpoint"]) if record.get("touchpoint") else None
    return (
        record.get("id"),
        record["customer_external_id"],
        touchpoint,
        "feedback",
        parse_datetime_value(record["at"], ctx.tz) if record.get("at") else ctx.now,
        json.dumps({"text": text.strip()}, ensure_ascii=False),
    )


@pytest.fixture
def feedback_kind():
    table = event_table_register(
        EventTable(
            kind="feedback",
            model=Interaction,
            fields=FEEDBACK_FIELDS,
            required=("customer_external_id", "text"),
            clean=clean_feedback,
            columns=("external_id", "customer", "touchpoint", "kind", "occurred_at", "properties"),
            key="external_id",
        )
    )
    yield table
    event_table_unregister("feedback")


def test_a_new_event_kind_is_one_entry_and_one_cleaner(organization, other_organization, feedback_kind):
    assert EVENT_TABLES["feedback"] is feedback_kind
    assert feedback_kind.table == "journeys_interaction"
    assert feedback_kind.conflict_target == "(organization_id, external_id) WHERE external_id IS NOT NULL"
    web = TouchpointFactory(stage__journey__organization=organization, key="web")
    TouchpointFactory(stage__journey__organization=other_organization, key="web")
    theirs = CustomerFactory(organization=other_organization, external_id="F1")
    records = [
        {"id": "f1", "customer_external_id": "F1", "touchpoint": "web", "text": "Slow checkout\tagain\\"},
        {"id": "f2", "customer_external_id": "F2", "text": "  great  "},
        {"id": "f3", "customer_external_id": "F2", "text": ""},
        {"id": "f1", "customer_external_id": "F1", "text": "a repeat of f1"},
    ]
    result = records_ingest(organization=organization, kind="feedback", records=records)
    assert (result.created, result.duplicates, result.customers_created) == (2, 1, 2)
    assert [(e["index"], e["field"]) for e in result.errors] == [(2, "text")]
    stored = {
        row.external_id: row for row in Interaction.objects.unscoped().filter(organization=organization)
    }
    assert stored["f1"].properties == {"text": "Slow checkout\tagain\\"}
    assert stored["f1"].touchpoint_id == web.pk and stored["f1"].kind == "feedback"
    assert stored["f2"].properties == {"text": "great"} and stored["f2"].touchpoint_id is None
    mine = Customer.objects.unscoped().get(organization=organization, external_id="F1")
    assert stored["f1"].customer_id == mine.pk != theirs.pk
    again = records_ingest(organization=organization, kind="feedback", records=records[:2])
    assert (again.created, again.duplicates) == (0, 2)


def test_an_unregistered_kind_is_refused(organization):
    with pytest.raises(ValueError):
        records_ingest(organization=organization, kind="feedback", records=[])


def test_the_signal_names_the_customers_of_the_batch(organization, django_capture_on_commit_callbacks):
    seen: list[dict[str, Any]] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        seen.append(kwargs)

    known = CustomerFactory(organization=organization, external_id="K")
    customer_data_changed.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            records_ingest(
                organization=organization,
                kind="transactions",
                records=[
                    {"order_id": "1", "customer_external_id": "K", "occurred_at": "2026-01-01", "amount": 1},
                    {"order_id": "2", "customer_external_id": "N", "occurred_at": "2026-01-01", "amount": 2},
                    {"order_id": "3", "customer_external_id": "K", "occurred_at": "2026-01-02", "amount": 3},
                ],
            )
        with django_capture_on_commit_callbacks(execute=True):
            records_ingest(
                organization=organization,
                kind="customers",
                records=[{"external_id": "K", "name": "Kay"}, {"external_id": "Z"}],
            )
    finally:
        customer_data_changed.disconnect(receiver)
    new = Customer.objects.unscoped().get(organization=organization, external_id="N").pk
    z = Customer.objects.unscoped().get(organization=organization, external_id="Z").pk
    assert [(s["organization_id"], s["kind"], sorted(s["customer_ids"])) for s in seen] == [
        (organization.pk, "transactions", sorted([known.pk, new])),
        (organization.pk, "customers", sorted([known.pk, z])),
    ]
