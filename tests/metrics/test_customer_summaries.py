"""Per-customer purchase summaries and the chunked per-customer pass: the same values as the one-shot
frame of every customer, whatever the part size; summaries refreshed after ingest equal a rebuild."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pandas as pd
import pytest
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from cxm.tenancy.selectors import organization_settings
from journeys.ingest import records_ingest
from journeys.models import Customer, Transaction
from metrics import services
from metrics.computations.customers import customer_values
from metrics.computations.value_section import value_section, value_section_stored
from metrics.models import CustomerSummary, CustomerValue
from metrics.services.customer_summaries import (
    customer_summaries_refresh,
    organization_median_gap,
    summary_rows,
)
from metrics.services.customer_values import _customer_value_rows, customer_values_store

from .data import customer, order, seed_dataset

pytestmark = pytest.mark.django_db

VALUE_FIELDS = [
    "first_purchase_at",
    "last_purchase_at",
    "purchase_count",
    "historical_value",
    "recency_days",
    "r_score",
    "f_score",
    "m_score",
    "rfm_segment",
    "value_tier",
    "lifecycle_stage",
    "expected_transactions",
    "p_alive",
    "predicted_clv",
    "transactions_left_out",
    "latest_nps_score",
    "latest_nps_at",
]


def _shop(organization, now):
    seed_dataset(organization, customers=90, now=now)
    # Ties, a refund-only customer, a free order, an order without a rate, a customer with nothing.
    twin_a, twin_b = customer(organization), customer(organization)
    for who in (twin_a, twin_b):
        order(organization, who, now - timedelta(days=40), "50.00")
        order(organization, who, now - timedelta(days=20), "50.00")
    order(organization, customer(organization), now - timedelta(days=3), "-10.00")
    order(organization, customer(organization), now - timedelta(days=9), "0.00")
    foreign = customer(organization)
    order(organization, foreign, now - timedelta(days=30), "80.00")
    Transaction.objects.unscoped().filter(customer=foreign).update(currency="USD")
    order(organization, foreign, now - timedelta(days=10), "20.00")
    customer(organization)


def _one_shot(organization, now, model):
    frame = customer_values(
        organization=organization,
        using="default",
        now=now,
        model=model,
        settings=organization_settings(organization=organization),
    )
    rows = _customer_value_rows(organization, frame, now)
    return frame, {int(row["customer_id"]): row for row in rows.to_dict("records")}


def _same(a, b):
    if pd.isna(a):
        return b is None
    if b is None:
        return False
    if hasattr(a, "to_pydatetime"):
        a = a.to_pydatetime()
    if isinstance(a, float) or isinstance(b, float | Decimal):
        return float(a) == pytest.approx(float(b), rel=1e-9, abs=1e-9)
    return a == b


@pytest.mark.parametrize("fitted", [False, True])
def test_the_chunked_pass_stores_what_the_one_shot_frame_gives(organization, fitted):
    now = timezone.now()
    _shop(organization, now)
    model = None
    if fitted:
        model = services.clv_fit(organization=organization, calibration_end=now.date() - timedelta(days=1))
    frame, expected = _one_shot(organization, now, model)
    assert frame["r_score"].notna().sum() > 80 and frame["value_tier"].eq("high").sum() > 10

    customer_summaries_refresh(organization=organization, chunk_size=4)
    assert CustomerSummary.objects.unscoped().filter(organization=organization).count() == len(expected)
    risk_of_parts = customer_values_store(
        organization=organization,
        now=now,
        model=model,
        settings=organization_settings(organization=organization),
        chunk_size=3,  # dozens of parts: ranks and fallbacks must be those of all customers
    )
    stored = {
        row["customer_id"]: row
        for row in CustomerValue.objects.unscoped()
        .filter(organization=organization)
        .values("customer_id", *VALUE_FIELDS)
    }
    assert stored.keys() == expected.keys()
    differences = [
        (customer_id, name, expected[customer_id][name], stored[customer_id][name])
        for customer_id in expected
        for name in VALUE_FIELDS
        if not _same(expected[customer_id][name], stored[customer_id][name])
    ]
    assert differences == []
    assert {row["lifecycle_stage"] for row in stored.values()} >= {"potential", "active", "new"}

    # The value page's per-customer part: the same from the stored rows as from the frame.
    payload = services.clv_model_payload(model)
    section = value_section(organization=organization, frame=frame, model=model, model_payload=payload)
    from_store = value_section_stored(organization=organization, model=model, model_payload=payload, now=now)
    for key in ("customers", "buyers", "clv_source", "transactions_left_out", "rfm_grid", "lifecycle_now"):
        assert from_store[key] == section[key], key
    assert from_store["clv_histogram"] == section["clv_histogram"]
    assert from_store["historical_total"] == pytest.approx(section["historical_total"])
    for got, want in zip(
        from_store["tiers"] + from_store["segments"], section["tiers"] + section["segments"]
    ):
        assert got["customers"] == want["customers"]
        assert got["historical_value"] == pytest.approx(want["historical_value"])
    risk, want_risk = from_store["revenue_at_risk"], section["revenue_at_risk"]
    assert risk["revenue"] == pytest.approx(risk_of_parts["revenue"])
    assert {k: v for k, v in risk.items() if k != "revenue"} == {
        k: v for k, v in risk_of_parts.items() if k != "revenue"
    }
    assert risk["detractors"] == want_risk["detractors"] > 0
    assert risk["customers_with_revenue"] == want_risk["customers_with_revenue"]
    assert risk["revenue"] == pytest.approx(want_risk["revenue"])
    if fitted:
        assert from_store["predicted_total"] == pytest.approx(section["predicted_total"])


def test_the_organization_median_gap_comes_from_the_summaries(organization):
    now = timezone.now()
    _shop(organization, now)
    frame, _rows = _one_shot(organization, now, None)
    customer_summaries_refresh(organization=organization)
    from metrics.computations.value import customer_purchase_summary

    expected = customer_purchase_summary(organization=organization, using="default", now=now).attrs[
        "organization_median_gap_days"
    ]
    assert organization_median_gap(organization=organization) == expected


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the INSERT … SELECT rebuild is PostgreSQL's")
def test_the_sql_rebuild_equals_the_pandas_summary(organization):
    now = timezone.now()
    _shop(organization, now)
    customer_summaries_refresh(organization=organization, chunk_size=7)
    stored = {
        row["customer_id"]: row
        for row in CustomerSummary.objects.unscoped().filter(organization=organization).values()
    }
    reference = summary_rows(organization=organization, customers=Q(id__gt=0))
    assert len(reference) == len(stored) > 90
    for row in reference:
        got = stored[row["customer_id"]]
        for name, want in row.items():
            if name in ("refreshed_at", "organization_id"):
                continue
            if isinstance(want, float):
                assert float(got[name]) == pytest.approx(want), name
            else:
                assert got[name] == want, (row["customer_id"], name)


@pytest.mark.django_db(transaction=True)
def test_ingest_refreshes_the_changed_customers_and_equals_a_rebuild(organization, settings):
    settings.METRICS_RECOMPUTE_ON_SIGNAL = False  # a recompute would rebuild every summary
    now = timezone.now()
    first = customer(organization, external_id="K1")
    other = customer(organization, external_id="K2")
    order(organization, first, now - timedelta(days=60), "10.00")
    customer_summaries_refresh(organization=organization)
    before_other = CustomerSummary.objects.unscoped().get(customer=other).refreshed_at

    day = (now - timedelta(days=2)).date().isoformat()
    result = records_ingest(
        organization=organization,
        kind="transactions",
        records=[
            {"order_id": "n1", "customer_external_id": "K1", "occurred_at": day, "amount": 30},
            {"order_id": "n2", "customer_external_id": "K1", "occurred_at": day, "amount": -5},
            {"order_id": "n3", "customer_external_id": "K3", "occurred_at": day, "amount": 7},
        ],
    )
    assert not result.errors
    summary = CustomerSummary.objects.unscoped().get(customer=first)
    assert summary.purchase_days == 2 and summary.purchase_count == 2
    assert summary.historical_value == Decimal("35") and summary.refunds == Decimal("-5")
    assert summary.gap_days == [(date.fromisoformat(day) - summary.first_purchase_day).days]
    created = Customer.objects.unscoped().get(organization=organization, external_id="K3")
    assert CustomerSummary.objects.unscoped().get(customer=created).historical_value == Decimal("7")
    # The customer the batch did not touch was not rewritten.
    assert CustomerSummary.objects.unscoped().get(customer=other).refreshed_at == before_other

    refreshed = list(
        CustomerSummary.objects.unscoped()
        .filter(organization=organization)
        .order_by("customer_id")
        .values_list("customer_id", "purchase_days", "historical_value", "gap_days", "last_purchase_day")
    )
    customer_summaries_refresh(organization=organization)
    rebuilt = list(
        CustomerSummary.objects.unscoped()
        .filter(organization=organization)
        .order_by("customer_id")
        .values_list("customer_id", "purchase_days", "historical_value", "gap_days", "last_purchase_day")
    )
    assert refreshed == rebuilt


def _summaries(organization):
    return list(
        CustomerSummary.objects.unscoped()
        .filter(organization=organization)
        .order_by("customer_id")
        .values_list(
            "customer_id",
            "purchase_count",
            "purchase_days",
            "historical_value",
            "gap_days",
            "last_interaction_at",
        )
    )


def test_the_catch_up_refreshes_only_what_was_written_without_a_signal(organization, settings):
    """Writes that told nobody: the catch-up of the incremental recompute refreshes those customers
    (and builds the missing one) without a rebuild; a deleted purchase makes the totals disagree and
    everything is rebuilt. Either way the summaries equal a rebuild's."""
    from journeys.models import Interaction
    from metrics.services.customer_summaries import customer_summaries_catch_up

    settings.METRICS_RECOMPUTE_ON_SIGNAL = False
    now = timezone.now()
    _shop(organization, now)
    # No rebuild yet: nothing to catch up from, so it rebuilds.
    assert customer_summaries_catch_up(organization=organization)["rebuilt"] > 90
    assert customer_summaries_catch_up(organization=organization) == {
        "rebuilt": 0,
        "refreshed": 0,
        "removed": 0,
    }

    buyer, visitor = Customer.objects.unscoped().filter(organization=organization).order_by("id")[:2]
    untouched = (
        CustomerSummary.objects.unscoped().exclude(customer__in=[buyer, visitor]).order_by("id").first()
    )
    Transaction.objects.bulk_create(
        [
            Transaction(
                organization=organization, customer=buyer, order_id="silent-1", occurred_at=now, amount=9
            )
        ]
    )
    touchpoint = Interaction.objects.unscoped().filter(organization=organization).first().touchpoint
    Interaction.objects.bulk_create(
        [Interaction(organization=organization, customer=visitor, touchpoint=touchpoint, occurred_at=now)]
    )
    newcomer = Customer.objects.create(organization=organization, external_id="silent-newcomer")
    report = customer_summaries_catch_up(organization=organization)
    assert report == {"rebuilt": 0, "refreshed": 3, "removed": 0}
    assert CustomerSummary.objects.unscoped().get(customer=visitor).last_interaction_at == now
    assert CustomerSummary.objects.unscoped().filter(customer=newcomer).exists()
    assert CustomerSummary.objects.unscoped().get(pk=untouched.pk).refreshed_at == untouched.refreshed_at
    caught_up = _summaries(organization)
    customer_summaries_refresh(organization=organization)
    assert _summaries(organization) == caught_up

    Transaction.objects.unscoped().filter(
        organization=organization, customer=buyer, amount__gte=0
    ).first().delete()
    report = customer_summaries_catch_up(organization=organization)
    assert report["rebuilt"] == Customer.objects.unscoped().filter(organization=organization).count()
    caught_up = _summaries(organization)
    customer_summaries_refresh(organization=organization)
    assert _summaries(organization) == caught_up


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite sums floats in scan order either way")
def test_the_predicted_total_does_not_depend_on_the_order_of_the_rows(organization):
    """A float sum depends on the order its terms arrive in (1e16 + 1 + 1 is 1e16, 1 + 1 + 1e16 is
    not): the stored rows in two physical orders give the same figures to the last digit."""
    people = [customer(organization) for _ in range(3)]
    customer_summaries_refresh(organization=organization)

    def stored_in(order_of_values):
        CustomerValue.objects.unscoped().filter(organization=organization).delete()
        for who, predicted in zip(people, order_of_values, strict=True):
            CustomerValue.objects.create(organization=organization, customer=who, predicted_clv=predicted)
        return value_section_stored(
            organization=organization, model=None, model_payload=None, now=timezone.now(), revenue_at_risk={}
        )

    first = stored_in([1e16, 1.0, 1.0])
    second = stored_in([1.0, 1.0, 1e16])
    assert first["predicted_total"] == second["predicted_total"] == 1e16 + 2
