"""Filtered dashboard views: the value page takes the per-customer part from the last recompute, and
whether a view is computed within the request depends on the rows it would scan (metrics.cost)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from journeys.models import Transaction
from metrics import cost, services
from metrics.computations.value_section import SECTION_KEYS
from metrics.filters import MetricFilters
from metrics.models import Snapshot

from .data import customer, order, response, survey

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(organization):
    now = timezone.now()
    nps = survey(organization, "NPS")
    buyers = [customer(organization) for _ in range(6)]
    for i, buyer in enumerate(buyers):
        for k in range(i + 1):
            order(organization, buyer, now - timedelta(days=20 * k + 2), 10 * (i + 1))
        response(organization, nps, "nps", 4 + i, now - timedelta(days=i + 1), buyer)
    services.dashboards_recompute(organization=organization)
    if connection.vendor == "postgresql":  # the planner's estimates come from the statistics
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE journeys_transaction, surveys_response")
    return {"survey": nps, "buyers": buyers, "now": now}


def _default_value(organization):
    return Snapshot.objects.for_organization(organization).get(dashboard="value", filters_key="default")


def test_a_filtered_value_page_reads_the_stored_customer_values(organization, history, monkeypatch):
    def rebuild(**kwargs):
        raise AssertionError("the per-customer table was rebuilt for a filtered view")

    monkeypatch.setattr(services, "customer_values", rebuild)
    day = timezone.localdate(timezone=organization.tzinfo) - timedelta(days=2)
    filters = MetricFilters(start=day, end=day, survey=history["survey"].pk)
    payload = services.snapshot_compute(organization=organization, dashboard="value", filters=filters).payload
    stored = _default_value(organization).payload
    assert {key: payload[key] for key in SECTION_KEYS} == {key: stored[key] for key in SECTION_KEYS}
    assert payload["customers"] == 6 and payload["buyers"] == 6
    assert payload["historical_total"] == sum(10 * (i + 1) * (i + 1) for i in range(6))
    # What depends on the window is computed for it.
    assert payload["window"]["start"] == payload["window"]["end"] == day.isoformat()
    assert payload["lifecycle_history"][-1]["date"] == day.isoformat()


def test_before_the_first_recompute_a_filtered_value_page_builds_the_table(organization):
    buyer = customer(organization)
    order(organization, buyer, timezone.now() - timedelta(days=3), "25.00")
    payload = services.snapshot_compute(
        organization=organization, dashboard="value", filters=MetricFilters(bucket="day")
    ).payload
    assert (payload["customers"], payload["buyers"], payload["historical_total"]) == (1, 1, 25.0)


def test_the_cost_counts_the_rows_each_dashboard_scans(organization, history):
    day = timezone.localdate(timezone=organization.tzinfo) - timedelta(days=1)
    one_day = MetricFilters(start=day, end=day)
    orders = Transaction.objects.for_organization(organization).count()
    assert orders == 21

    def estimate(dashboard):
        return cost.dashboard_cost(
            organization=organization, dashboard=dashboard, filters=one_day, using="default"
        )

    if connection.vendor == "sqlite":
        # Exact counts on SQLite: one response that day, the previous day holds one more.
        assert estimate("overview") == 2
        assert estimate("drivers") == 1
        assert estimate("retention") == orders
        assert estimate("value") == orders + 1
    else:  # planner estimates: the history-wide scans still dominate a one-day window
        assert estimate("retention") >= estimate("drivers")
        assert estimate("value") >= estimate("retention")


def test_a_view_over_more_rows_than_the_limit_is_queued_not_computed(
    organization, history, owner_client, settings, monkeypatch
):
    queued = []
    monkeypatch.setattr("metrics.tasks.compute_snapshot.delay", lambda *args: queued.append(args))
    survey_id = history["survey"].pk
    # Few responses, but the retention page groups every transaction: queued at a limit of 10 rows.
    settings.METRICS_ON_DEMAND_MAX_ROWS = 10
    html = owner_client.get(f"/dashboards/retention/?survey={survey_id}").content.decode()
    assert [q[1] for q in queued] == ["retention"] and 'role="progressbar"' in html
    assert (
        not Snapshot.objects.for_organization(organization)
        .filter(dashboard="retention")
        .exclude(filters_key="default")
        .exists()
    )
    # The same survey filter on the drivers page scans six responses: computed in the request.
    owner_client.get(f"/dashboards/drivers/?survey={survey_id}")
    assert len(queued) == 1
    snapshot = (
        Snapshot.objects.for_organization(organization)
        .exclude(filters_key="default")
        .get(dashboard="drivers")
    )
    assert snapshot.filters["survey"] == survey_id
