"""The event tables have no foreign-key constraints; ingest keeps every row tied to a real customer and
touchpoint of its organization by construction (journeys/ingest/__init__.py). Proven here on
PostgreSQL with two connections: a delete racing a batch, ids of another organization, a touchpoint
deleted between cleaning and writing."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import connection, connections

from journeys.ingest import CleanContext, IngestResult, clean_records, cleaner_for, write_clean_rows, writer
from journeys.models import Customer, Interaction, Touchpoint, Transaction
from journeys.services import customer_delete, interactions_bulk_ingest, transactions_bulk_ingest

from .factories import CustomerFactory, TouchpointFactory

pytestmark = pytest.mark.django_db(transaction=True)
DEADLINE = 120

ORPHANS = """
    SELECT count(*) FROM {table} e
    WHERE NOT EXISTS (SELECT 1 FROM journeys_customer c
                      WHERE c.id = e.customer_id AND c.organization_id = e.organization_id)
       OR (e.touchpoint_id IS NOT NULL AND NOT EXISTS (
              SELECT 1 FROM journeys_touchpoint t
              WHERE t.id = e.touchpoint_id AND t.organization_id = e.organization_id))
       OR NOT EXISTS (SELECT 1 FROM tenancy_organization o WHERE o.id = e.organization_id)
"""


def _orphans() -> int:
    with connection.cursor() as cursor:
        total = 0
        for table in ("journeys_interaction", "journeys_transaction"):
            cursor.execute(ORPHANS.format(table=table))
            total += cursor.fetchone()[0]
        return total


def _waiting_on_a_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT count(*) FROM pg_stat_activity
               WHERE datname = current_database() AND wait_event_type = 'Lock'"""
        )
        return cursor.fetchone()[0]


def _wait_until(condition: Callable[[], Any]) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        assert time.monotonic() < deadline, "condition not met"
        time.sleep(0.02)


class InThread(threading.Thread):
    """Runs `target` on its own database connection; re-raises its exception on `result()`."""

    def __init__(self, target: Callable[[], Any]) -> None:
        super().__init__(daemon=True)
        self.target, self.value, self.error = target, None, None

    def run(self) -> None:
        try:
            self.value = self.target()
        except BaseException as exc:  # noqa: BLE001
            self.error = exc
        finally:
            connections.close_all()

    def result(self) -> Any:
        self.join(DEADLINE)
        assert not self.is_alive()
        if self.error:
            raise self.error
        return self.value


@pytest.fixture
def held_batch(monkeypatch):
    """A batch that stops after writing its rows, before its commit, until released."""
    written, release = threading.Event(), threading.Event()
    real = writer._copy_into_table

    def copy_then_wait(*args):
        done = real(*args)
        written.set()
        assert release.wait(DEADLINE)
        return done

    monkeypatch.setattr(writer, "_copy_into_table", copy_then_wait)
    return written, release


def _record(n: int, customer: str = "C1", touchpoint: str | None = "web") -> dict:
    record = {"id": f"e{n}", "customer_external_id": customer, "occurred_at": "2026-02-01T10:00:00Z"}
    if touchpoint:
        record["touchpoint"] = touchpoint
    return record


def test_a_customer_deleted_during_a_batch_takes_the_batchs_rows_with_it(postgres, organization, held_batch):
    written, release = held_batch
    TouchpointFactory(stage__journey__organization=organization, key="web")
    # First/last seen already span the batch: its update of them locks nothing, only the resolution does.
    customer = CustomerFactory(
        organization=organization,
        external_id="C1",
        first_seen_at=datetime(2026, 1, 1, tzinfo=UTC),
        last_seen_at=datetime(2026, 3, 1, tzinfo=UTC),
    )
    batch = InThread(
        lambda: interactions_bulk_ingest(organization=organization, records=[_record(1), _record(2)])
    )
    batch.start()
    assert written.wait(DEADLINE)
    deleting = InThread(lambda: customer_delete(customer=Customer.objects.unscoped().get(pk=customer.pk)))
    deleting.start()
    _wait_until(lambda: _waiting_on_a_lock() >= 1)  # the delete waits for the batch's lock
    assert deleting.is_alive()
    release.set()
    assert batch.result().created == 2
    deleting.result()
    assert not Customer.objects.unscoped().filter(pk=customer.pk).exists()
    assert Interaction.objects.unscoped().filter(organization=organization).count() == 0
    assert _orphans() == 0


def test_a_batch_after_a_racing_delete_creates_the_customer_again(postgres, organization):
    customer = CustomerFactory(organization=organization, external_id="C1")
    deleted, commit = threading.Event(), threading.Event()

    def delete_and_hold() -> None:
        from django.db import transaction

        with transaction.atomic():
            Customer.objects.unscoped().filter(pk=customer.pk).delete()
            deleted.set()
            assert commit.wait(DEADLINE)

    deleting = InThread(delete_and_hold)
    deleting.start()
    assert deleted.wait(DEADLINE)
    batch = InThread(
        lambda: transactions_bulk_ingest(
            organization=organization,
            records=[
                {"order_id": "O1", "customer_external_id": "C1", "occurred_at": "2026-02-01", "amount": 5}
            ],
        )
    )
    batch.start()
    _wait_until(lambda: _waiting_on_a_lock() >= 1)  # the batch waits for the delete's row lock
    commit.set()
    deleting.result()
    result = batch.result()
    assert (result.created, result.customers_created) == (1, 1)
    again = Customer.objects.unscoped().get(organization=organization, external_id="C1")
    assert again.pk != customer.pk
    assert (
        Transaction.objects.unscoped().get(organization=organization, order_id="O1").customer_id == again.pk
    )
    assert _orphans() == 0


def test_a_touchpoint_deleted_during_a_batch_leaves_its_rows_without_one(postgres, organization, held_batch):
    written, release = held_batch
    touchpoint = TouchpointFactory(stage__journey__organization=organization, key="web")
    batch = InThread(
        lambda: interactions_bulk_ingest(organization=organization, records=[_record(1), _record(2)])
    )
    batch.start()
    assert written.wait(DEADLINE)
    deleting = InThread(lambda: Touchpoint.objects.unscoped().filter(pk=touchpoint.pk).delete())
    deleting.start()
    _wait_until(lambda: _waiting_on_a_lock() >= 1)
    release.set()
    assert batch.result().created == 2
    deleting.result()
    stored = Interaction.objects.unscoped().filter(organization=organization)
    assert [row.touchpoint_id for row in stored] == [None, None]
    assert _orphans() == 0


def test_deleting_the_organization_during_a_batch_leaves_nothing_behind(
    postgres, organization, other_organization, held_batch
):
    written, release = held_batch
    TouchpointFactory(stage__journey__organization=organization, key="web")
    CustomerFactory(organization=organization, external_id="C1")
    batch = InThread(
        lambda: interactions_bulk_ingest(
            organization=organization, records=[_record(1), _record(2, customer="NEW")]
        )
    )
    batch.start()
    assert written.wait(DEADLINE)
    organization_id = organization.pk
    deleting = InThread(lambda: type(organization).objects.filter(pk=organization_id).delete())
    deleting.start()
    _wait_until(lambda: _waiting_on_a_lock() >= 1)
    release.set()
    batch.result()
    try:
        deleting.result()
    except Exception:  # noqa: BLE001 - the delete may refuse (a customer it did not see); then all stays
        assert Interaction.objects.unscoped().filter(organization_id=organization_id).count() == 2
    else:
        assert Interaction.objects.unscoped().filter(organization_id=organization_id).count() == 0
    assert _orphans() == 0


def test_ids_of_another_organization_or_of_a_deleted_touchpoint_are_never_written(
    postgres, organization, other_organization
):
    mine = TouchpointFactory(stage__journey__organization=organization, key="web")
    gone = TouchpointFactory(stage__journey__organization=organization, key="gone")
    theirs = TouchpointFactory(stage__journey__organization=other_organization, key="theirs")
    their_customer = CustomerFactory(organization=other_organization, external_id="C1")
    ctx = CleanContext.load(organization)
    # A context that names the other organization's touchpoint (as a forged or stale one would).
    ctx.touchpoints["theirs"] = theirs.pk
    records = [_record(1), _record(2, touchpoint="gone"), _record(3, touchpoint="theirs")]
    valid, errors = clean_records(cleaner_for("interactions"), records, ctx)
    assert errors == []
    gone.delete()  # after cleaning, before writing
    result = IngestResult()
    write_clean_rows(
        organization=organization, kind="interactions", rows=[row for _i, row in valid], result=result
    )
    stored = {
        row.external_id: row for row in Interaction.objects.unscoped().filter(organization=organization)
    }
    assert {key: row.touchpoint_id for key, row in stored.items()} == {"e1": mine.pk, "e2": None, "e3": None}
    customer = Customer.objects.unscoped().get(organization=organization, external_id="C1")
    assert customer.pk != their_customer.pk
    assert {row.customer_id for row in stored.values()} == {customer.pk}
    assert Interaction.objects.unscoped().filter(organization=other_organization).count() == 0
    assert _orphans() == 0
