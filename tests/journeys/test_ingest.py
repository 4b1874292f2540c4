"""Bulk ingest: validation per record, idempotent re-ingest, customers resolved by external id."""

from __future__ import annotations

from decimal import Decimal

import pytest

from journeys.models import Customer, Interaction, Transaction
from journeys.services import customer_upsert, interactions_bulk_ingest, transactions_bulk_ingest

from .factories import CustomerFactory, TouchpointFactory

pytestmark = pytest.mark.django_db


def _interactions(n, start=0, touchpoint="web"):
    return [
        {
            "id": f"i{k}",
            "customer_external_id": f"C{k % 7}",
            "touchpoint": touchpoint,
            "kind": "visit",
            "occurred_at": f"2026-01-{1 + k % 28:02d}T10:00:00Z",
            "properties": {"page": f"/p/{k}", "note": "tab\there\nnew line \\ back"},
        }
        for k in range(start, start + n)
    ]


def test_interactions_are_stored_and_reingest_creates_nothing(organization):
    tp = TouchpointFactory(stage__journey__organization=organization, key="web")
    existing = CustomerFactory(organization=organization, external_id="C1", name="Kept")
    result = interactions_bulk_ingest(organization=organization, records=_interactions(20))
    assert (result.created, result.duplicates, result.errors) == (20, 0, [])
    assert result.customers_created == 6  # C0, C2..C6; C1 existed
    assert Interaction.objects.unscoped().filter(organization=organization, touchpoint=tp).count() == 20
    stored = Interaction.objects.unscoped().get(organization=organization, external_id="i3")
    assert stored.customer.external_id == "C3"
    assert stored.properties == {"page": "/p/3", "note": "tab\there\nnew line \\ back"}
    assert stored.occurred_at.isoformat() == "2026-01-04T10:00:00+00:00"
    existing.refresh_from_db()
    assert existing.name == "Kept"
    assert existing.first_seen_at.day == 2 and existing.last_seen_at.day == 16
    again = interactions_bulk_ingest(organization=organization, records=_interactions(25))
    assert (again.created, again.duplicates, again.customers_created) == (5, 20, 0)
    assert Interaction.objects.unscoped().filter(organization=organization).count() == 25
    assert Customer.objects.unscoped().filter(organization=organization).count() == 7


def test_bad_records_are_reported_and_good_ones_kept(organization):
    TouchpointFactory(stage__journey__organization=organization, key="web")
    records = [
        {"id": "ok1", "customer_external_id": "A", "occurred_at": "2026-02-01T08:00:00+08:00"},
        {"id": "x", "occurred_at": "2026-02-01T08:00:00Z"},
        {"id": "y", "customer_external_id": "A", "occurred_at": "yesterday"},
        {"id": "z", "customer_external_id": "A", "occurred_at": "2026-02-01", "touchpoint": "nope"},
        "not an object",
        {"id": "w", "customer_external_id": "A", "occurred_at": "2026-02-01", "colour": "red"},
        {"id": "v", "customer_external_id": "A", "occurred_at": "2099-01-01T00:00:00Z"},
        {"id": "u", "customer_external_id": "A", "occurred_at": "2026-02-01", "properties": [1]},
        {"id": "ok2", "customer_external_id": "B", "occurred_at": "2026-02-02", "touchpoint": "web"},
    ]
    result = interactions_bulk_ingest(organization=organization, records=records)
    assert result.created == 2
    assert [(e["index"], e["field"]) for e in result.errors] == [
        (1, "customer_external_id"),
        (2, "occurred_at"),
        (3, "touchpoint"),
        (4, None),
        (5, "colour"),
        (6, "occurred_at"),
        (7, "properties"),
    ]
    assert "unknown touchpoint key 'nope'" in result.errors[2]["reason"]
    assert "future" in result.errors[5]["reason"]
    ok1 = Interaction.objects.unscoped().get(external_id="ok1")
    assert ok1.occurred_at.isoformat() == "2026-02-01T00:00:00+00:00"


def test_naive_times_are_in_the_organizations_time_zone(organization):
    organization.time_zone = "Asia/Shanghai"
    organization.save()
    interactions_bulk_ingest(
        organization=organization,
        records=[{"id": "n", "customer_external_id": "A", "occurred_at": "2026-02-01T08:00:00"}],
    )
    assert (
        Interaction.objects.unscoped().get(external_id="n").occurred_at.isoformat()
        == "2026-02-01T00:00:00+00:00"
    )


def test_interactions_without_id_are_accepted_but_not_deduplicated(organization):
    record = {"customer_external_id": "A", "occurred_at": "2026-02-01T00:00:00Z"}
    interactions_bulk_ingest(organization=organization, records=[record, record])
    assert Interaction.objects.unscoped().filter(organization=organization).count() == 2


def test_same_id_twice_in_one_batch_keeps_the_first(organization):
    records = [
        {"id": "d", "customer_external_id": "A", "occurred_at": "2026-02-01T00:00:00Z", "kind": "first"},
        {"id": "d", "customer_external_id": "A", "occurred_at": "2026-02-01T00:00:00Z", "kind": "second"},
    ]
    result = interactions_bulk_ingest(organization=organization, records=records)
    assert (result.created, result.duplicates) == (1, 1)
    assert Interaction.objects.unscoped().get(external_id="d").kind == "first"


def test_transactions_validate_amounts_and_are_idempotent_by_order_id(organization):
    records = [
        {
            "order_id": "O1",
            "customer_external_id": "A",
            "occurred_at": "2026-03-01T10:00:00Z",
            "amount": "19.99",
        },
        {
            "order_id": "O2",
            "customer_external_id": "A",
            "occurred_at": "2026-03-02",
            "amount": -5,
            "currency": "cny",
        },
        {"order_id": "O3", "customer_external_id": "A", "occurred_at": "2026-03-02", "amount": "1.234"},
        {"order_id": "O4", "customer_external_id": "A", "occurred_at": "2026-03-02", "amount": "abc"},
        {
            "order_id": "O5",
            "customer_external_id": "A",
            "occurred_at": "2026-03-02",
            "amount": 1,
            "currency": "EURO",
        },
        {"order_id": "O6", "customer_external_id": "A", "occurred_at": "2026-03-02"},
        {"customer_external_id": "A", "occurred_at": "2026-03-02", "amount": 3},
    ]
    result = transactions_bulk_ingest(organization=organization, records=records)
    assert result.created == 2
    assert [(e["index"], e["field"]) for e in result.errors] == [
        (2, "amount"),
        (3, "amount"),
        (4, "currency"),
        (5, "amount"),
        (6, "order_id"),
    ]
    refund = Transaction.objects.unscoped().get(organization=organization, order_id="O2")
    assert refund.amount == Decimal("-5.00") and refund.currency == "CNY"
    assert Transaction.objects.unscoped().get(order_id="O1").amount == Decimal("19.99")
    again = transactions_bulk_ingest(organization=organization, records=records[:2])
    assert (again.created, again.duplicates) == (0, 2)
    customer = Customer.objects.unscoped().get(organization=organization, external_id="A")
    assert customer.last_seen_at.date().isoformat() == "2026-03-02"


def test_customer_upsert_keeps_missing_fields_and_merges_attributes(organization):
    customer, created = customer_upsert(
        organization=organization,
        data={
            "external_id": "C9",
            "name": "Li Na",
            "email": "li@example.com",
            "attributes": {"tier": "gold"},
        },
    )
    assert created and customer.name == "Li Na"
    customer, created = customer_upsert(
        organization=organization, data={"external_id": "C9", "city": "上海", "attributes": {"vip": True}}
    )
    assert not created
    assert (customer.name, customer.email, customer.city) == ("Li Na", "li@example.com", "上海")
    assert customer.attributes == {"tier": "gold", "vip": True}
    customer, _ = customer_upsert(
        organization=organization, data={"external_id": "C9", "email": None, "unsubscribed": True}
    )
    assert customer.email == "" and customer.unsubscribed and customer.unsubscribed_at is not None
    assert Customer.objects.unscoped().filter(organization=organization).count() == 1


def test_customer_upsert_rejects_bad_email(organization):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as info:
        customer_upsert(organization=organization, data={"external_id": "C1", "email": "nope"})
    assert "email" in info.value.message_dict


def test_ingest_never_touches_another_organization(organization, other_organization):
    theirs = CustomerFactory(organization=other_organization, external_id="A", name="Theirs")
    interactions_bulk_ingest(
        organization=organization,
        records=[{"id": "1", "customer_external_id": "A", "occurred_at": "2026-01-01"}],
    )
    mine = Customer.objects.unscoped().get(organization=organization, external_id="A")
    assert mine.pk != theirs.pk
    assert Interaction.objects.unscoped().get(external_id="1").customer_id == mine.pk
    theirs.refresh_from_db()
    assert theirs.first_seen_at is None


def test_fallback_path_when_copy_meets_a_concurrent_duplicate(organization, monkeypatch):
    """On PostgreSQL, COPY gives way to INSERT … ON CONFLICT when another batch stored an id meanwhile."""
    from journeys.ingest import writer

    monkeypatch.setattr(writer, "_copy_into_table", lambda *args: False)
    TouchpointFactory(stage__journey__organization=organization, key="web")
    records = _interactions(10)
    first = interactions_bulk_ingest(organization=organization, records=records)
    again = interactions_bulk_ingest(organization=organization, records=records)
    assert (first.created, again.created, again.duplicates) == (10, 0, 10)
    tx = [{"order_id": "O1", "customer_external_id": "Z", "occurred_at": "2026-01-01", "amount": "5"}]
    assert transactions_bulk_ingest(organization=organization, records=tx).created == 1
    assert transactions_bulk_ingest(organization=organization, records=tx).duplicates == 1


def test_copy_collision_falls_back(organization, postgres):
    """COPY is optimistic: a batch with some ids already stored falls back to INSERT … ON CONFLICT."""
    TouchpointFactory(stage__journey__organization=organization, key="web")
    records = _interactions(5)
    interactions_bulk_ingest(organization=organization, records=records[:2])
    result = interactions_bulk_ingest(organization=organization, records=records)
    assert (result.created, result.duplicates) == (3, 2)
    assert Interaction.objects.unscoped().filter(organization=organization).count() == 5
    assert (
        Interaction.objects.unscoped().get(external_id="i4").properties["note"]
        == "tab\there\nnew line \\ back"
    )


def test_a_deadlocked_batch_is_retried(organization, monkeypatch):
    from django.db import OperationalError

    from journeys.ingest import writer

    calls = []
    real = writer._write_batch

    def flaky(**kwargs):
        calls.append(1)
        if len(calls) == 1:
            real(**kwargs)  # the work of the losing attempt is rolled back
            raise OperationalError("deadlock detected")
        return real(**kwargs)

    monkeypatch.setattr(writer, "_write_batch", flaky)
    result = interactions_bulk_ingest(
        organization=organization,
        records=[{"id": "a", "customer_external_id": "A", "occurred_at": "2026-01-01"}],
    )
    assert len(calls) == 2 and (result.created, result.duplicates, result.customers_created) == (1, 0, 1)
    assert Interaction.objects.unscoped().filter(organization=organization).count() == 1
