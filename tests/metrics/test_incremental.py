"""The incremental recompute: after new data it refreshes the rollups of the changed days, reuses the
dashboards whose inputs did not change, and stores exactly the payloads a full rebuild stores."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.utils import timezone

from journeys.models import Interaction, Transaction
from journeys.signals import customer_data_changed
from metrics.filters import MetricFilters
from metrics.models import RecomputePart, ResponseRollup, Snapshot
from metrics.services import dashboards_compute, dashboards_recompute
from surveys.models import Response, Survey
from surveys.signals import response_recorded
from tests.factories import OrganizationFactory

from .data import response, seed_dataset

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 20, 3, 45, tzinfo=ZoneInfo("UTC"))  # 23:45 on the 19th in New York
# Fields of a payload that say when or how long, not what: none today; listed here if one comes.
TIMING_FIELDS: tuple[str, ...] = ()


def _strip(value):
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in TIMING_FIELDS}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _payloads(org):
    return {
        s.dashboard: _strip(s.payload)
        for s in Snapshot.objects.for_organization(org).filter(filters_key="default").order_by("dashboard")
    }


def _add_responses(org, data, count, rng):
    """New answers as a writer records them: rows, then `response_recorded` after the commit."""
    now = timezone.now()
    ids = []
    for i in range(count):
        at = now - timedelta(days=rng.uniform(0, 3), hours=rng.uniform(0, 20))
        cust = rng.choice(data["customers"])
        ids.append(response(org, data["nps_survey"], "nps", rng.randint(0, 10), at, cust, locale="en").pk)
    # One at 23:30 local on the previous day (the day boundary in the organization's zone).
    late = datetime.combine(
        timezone.localdate(timezone=org.tzinfo) - timedelta(days=1),
        datetime.min.time().replace(hour=23, minute=30),
        tzinfo=org.tzinfo,
    )
    ids.append(response(org, data["nps_survey"], "nps", 3, late, data["customers"][0], locale="zh-hans").pk)
    response_recorded.send(sender=Response, organization_id=org.pk, response_ids=ids)
    return ids


@pytest.mark.now(NOW)
def test_incremental_recompute_after_new_data_equals_a_full_rebuild():
    org = OrganizationFactory(slug="incremental", time_zone="America/New_York")
    data = seed_dataset(org, customers=120, now=timezone.now())
    rng = random.Random(5)
    dashboards_recompute(organization=org)
    first = _payloads(org)
    assert set(first) == {"overview", "journey", "drivers", "retention", "value", "text"}

    # Nothing changed: every dashboard is reused, and the numbers are those of the rebuild. The Text
    # dashboard is computed every time: its input, the analyses the pipeline writes, has no version yet.
    durations = dashboards_recompute(organization=org, incremental=True)
    assert set(durations) == {"rollups", "text"}
    assert _payloads(org) == first

    # About 1 % new responses (and one changed score): the response side is recomputed from the
    # rollups; retention, which reads no response, is reused.
    _add_responses(org, data, 8, rng)
    changed = Response.objects.for_organization(org).filter(score_kind="csat").order_by("id").first()
    Response.objects.for_organization(org).filter(pk=changed.pk).update(score=1, updated_at=timezone.now())
    durations = dashboards_recompute(organization=org, incremental=True)
    assert {"overview", "journey", "drivers", "value"} <= set(durations)
    assert "retention" not in durations
    incremental = _payloads(org)
    assert incremental != first
    dashboards_recompute(organization=org)
    assert _payloads(org) == incremental

    # New orders and interactions, told as ingest tells them: retention and value follow.
    customers = data["customers"]
    Transaction.objects.bulk_create(
        [
            Transaction(
                organization=org,
                customer=customers[i],
                order_id=f"new-{i}",
                occurred_at=timezone.now() - timedelta(hours=i),
                amount=Decimal("42.50"),
            )
            for i in range(5)
        ]
    )
    Interaction.objects.bulk_create(
        [
            Interaction(
                organization=org,
                customer=customers[i],
                touchpoint=data["touchpoints"]["web-checkout"],
                occurred_at=timezone.now() - timedelta(hours=i),
            )
            for i in range(5)
        ]
    )
    customer_data_changed.send(sender=None, organization_id=org.pk, kind="transactions", customer_ids=None)
    customer_data_changed.send(sender=None, organization_id=org.pk, kind="interactions", customer_ids=None)
    durations = dashboards_recompute(organization=org, incremental=True)
    assert {"retention", "value", "journey"} <= set(durations)
    assert "overview" not in durations and "drivers" not in durations  # no response changed
    incremental = _payloads(org)
    dashboards_recompute(organization=org)
    assert _payloads(org) == incremental


@pytest.mark.now(NOW)
def test_the_next_local_day_recomputes_what_was_reused(clock):
    org = OrganizationFactory(slug="next-day", time_zone="Asia/Shanghai")
    seed_dataset(org, customers=30, now=timezone.now())
    dashboards_recompute(organization=org)
    assert set(dashboards_recompute(organization=org, incremental=True)) == {"rollups", "text"}
    clock.set(NOW + timedelta(days=1))  # the default window moved
    recomputed = dashboards_recompute(organization=org, incremental=True)
    assert {"overview", "journey", "drivers", "retention", "value"} <= set(recomputed)


@pytest.mark.now(NOW)
def test_the_management_command_rebuilds_in_full():
    org = OrganizationFactory(slug="command", time_zone="Asia/Shanghai")
    data = seed_dataset(org, customers=20, now=timezone.now())
    out = StringIO()
    call_command("recompute_dashboards", "--org", "command", stdout=out)
    assert '"result": "done"' in out.getvalue()
    response(org, data["nps_survey"], "nps", 10, timezone.now() - timedelta(hours=1))
    ResponseRollup.objects.for_organization(org).delete()  # whatever happened to them
    call_command("recompute_dashboards", "--org", "command", "--full", stdout=StringIO())
    overview = Snapshot.objects.for_organization(org).get(dashboard="overview", filters_key="default").payload
    scanned, _frame, _durations = dashboards_compute(
        organization=org, filters=MetricFilters(), dashboards=("overview",), rollups=False
    )
    assert overview == scanned["overview"]
    assert ResponseRollup.objects.for_organization(org).exists()


@pytest.mark.now(NOW)
def test_drivers_of_a_survey_without_new_responses_are_reused():
    org = OrganizationFactory(slug="drivers-reuse", time_zone="Asia/Shanghai")
    data = seed_dataset(org, customers=80, now=timezone.now())
    dashboards_recompute(organization=org)
    key = f"part:drivers:survey-{data['nps_survey'].pk}"
    stored = RecomputePart.objects.for_organization(org).get(key=key)
    # New CSAT answers only: the drivers page is recomputed (its touchpoint analysis reads every
    # survey), the relationship survey's own analysis is taken as stored.
    csat = Survey.objects.for_organization(org).get(name="Delivery CSAT")
    for i in range(6):
        response(org, csat, "csat", 1 + i % 5, timezone.now() - timedelta(hours=i + 1), data["customers"][i])
    durations = dashboards_recompute(organization=org, incremental=True)
    assert "drivers" in durations
    assert RecomputePart.objects.for_organization(org).get(key=key).computed_at == stored.computed_at
    incremental = _payloads(org)
    dashboards_recompute(organization=org)
    assert _payloads(org) == incremental
    assert RecomputePart.objects.for_organization(org).get(key=key).computed_at > stored.computed_at
