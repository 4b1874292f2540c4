"""The journey dashboard counts each stage's customers once, however many of its touchpoints they met."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from cxm.tenancy.selectors import organization_settings
from metrics.dashboards.journey import build_journey
from metrics.filters import MetricFilters
from tests.journeys.factories import InteractionFactory, StageFactory, TouchpointFactory

from .data import customer

pytestmark = pytest.mark.django_db


def test_customers_per_stage_are_distinct(organization):
    buy = StageFactory(journey__organization=organization, journey__name="Retail", name="Buy", position=0)
    web = TouchpointFactory(stage=buy, key="web", name="Web", channel="website", position=0)
    store = TouchpointFactory(stage=buy, key="store", name="Store", channel="store", position=0)
    both, only_web = customer(organization), customer(organization)
    now = timezone.now()
    for cust, tp in [(both, web), (both, store), (both, store), (only_web, web)]:
        InteractionFactory(customer=cust, touchpoint=tp, occurred_at=now - timedelta(days=1))
    payload = build_journey(
        organization=organization,
        filters=MetricFilters(),
        using="default",
        context={"settings": organization_settings(organization=organization)},
    )
    [stage] = payload["stages"]
    by_key = {tp["key"]: tp for tp in stage["touchpoints"]}
    assert by_key["web"]["customers"] == 2 and by_key["store"]["customers"] == 1
    assert by_key["store"]["interactions"] == 2
    assert stage["customers"] == 2  # not 2 + 1
