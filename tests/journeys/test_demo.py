"""Demo data: the retail journey of the brief, realistic customers and orders, idempotent."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.db.models import Count, Sum

from journeys import demo
from journeys.models import Customer, Interaction, Journey, Stage, Touchpoint, Transaction

pytestmark = pytest.mark.django_db


def test_seed_small_is_realistic_and_idempotent(organization):
    organization.time_zone = "Asia/Shanghai"
    organization.save()
    out = io.StringIO()
    demo.seed(organization=organization, stdout=out, size="small")
    journey = Journey.objects.unscoped().get(organization=organization, name="Retail journey")
    assert list(
        Stage.objects.unscoped().filter(journey=journey).order_by("position").values_list("name", flat=True)
    ) == [
        "Discover",
        "Buy",
        "Delivery",
        "Use",
        "Support",
        "Repurchase",
    ]
    assert dict(
        Touchpoint.objects.unscoped().filter(organization=organization).values_list("key", "stage__name")
    ) == {key: stage for key, _name, stage, _channel, _owner in demo.TOUCHPOINTS}
    customers = Customer.objects.unscoped().filter(organization=organization)
    assert customers.count() == 200
    assert customers.filter(external_id="C00001").exists()
    assert (
        customers.filter(name__regex=r"^[\u4e00-\u9fff]+$").exists()
        and customers.filter(name__contains=" ").exists()
    )
    orders = Transaction.objects.unscoped().filter(organization=organization)
    assert orders.filter(amount__lt=0).exists()  # refunds
    per_customer = orders.filter(amount__gt=0).values("customer").annotate(n=Count("id"))
    counts = sorted(row["n"] for row in per_customer)
    assert counts[0] == 1 and counts[-1] >= 10  # one-time and loyal buyers
    assert orders.aggregate(total=Sum("amount"))["total"] > Decimal("0")
    by_stage = dict(
        Interaction.objects.unscoped()
        .filter(organization=organization)
        .values_list("touchpoint__stage__name")
        .annotate(n=Count("customer", distinct=True))
    )
    assert by_stage["Discover"] > by_stage["Support"]  # drop-off along the journey
    before = (customers.count(), orders.count(), Interaction.objects.unscoped().count())
    demo.seed(organization=organization, stdout=io.StringIO(), size="small")
    assert (customers.count(), orders.count(), Interaction.objects.unscoped().count()) == before
