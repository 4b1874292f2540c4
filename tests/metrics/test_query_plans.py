"""Every dashboard under every kind of filter is planned without a per-row SubPlan over a large
relation (PostgreSQL EXPLAIN over a generated organization).

The organization here is small, so the session's `work_mem` is set to PostgreSQL's minimum: a
subquery that a 1,000,000-response organization could not hash in memory cannot be hashed here
either, and the planner shows the plan the large organization gets."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import Exists, OuterRef
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cxm.tenancy.selectors import organization_settings
from journeys.models import Transaction
from metrics import dashboard_selectors, services
from metrics.computations.value_section import stored_value_section
from metrics.dashboards import registry
from metrics.filters import MetricFilters

from .data import seed_dataset
from .plans import explain, explain_queryset, per_row_subplans

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("postgres")]

LARGE = 500  # rows: the seeded history has about 2,500 transactions


@pytest.fixture
def seeded(organization):
    data = seed_dataset(organization, customers=600, seed=5)
    services.dashboards_recompute(organization=organization)  # segments need the stored values
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        cursor.execute("SET work_mem = '64kB'")
    yield data
    with connection.cursor() as cursor:
        cursor.execute("RESET work_mem")


def _filters(organization, data) -> dict[str, MetricFilters]:
    today = timezone.localdate(timezone=organization.tzinfo)
    touchpoint = data["touchpoints"]["home-delivery"]
    return {
        "default": MetricFilters(),
        "one day": MetricFilters(start=today - timedelta(days=3), end=today - timedelta(days=3)),
        "one month": MetricFilters(start=today - timedelta(days=30), end=today),
        "all time": MetricFilters(start=today - timedelta(days=3600), end=today),
        "touchpoint": MetricFilters(touchpoint=touchpoint.pk),
        "stage": MetricFilters(stage=touchpoint.stage_id),
        "channel": MetricFilters(channel="email"),
        "survey": MetricFilters(survey=data["nps_survey"].pk),
        "segment": MetricFilters(segment="value_tier:high"),
        "language": MetricFilters(locale="zh-hans", bucket="day"),
    }


def _dashboard_statements(organization, filters: MetricFilters, dashboard: str) -> list[str]:
    model = dashboard_selectors.current_clv_model(organization=organization)
    context = {
        "now": timezone.now(),
        "settings": organization_settings(organization=organization),
        "model": model,
        "model_payload": services.clv_model_payload(model),
    }
    if dashboard == "value":
        context["value_section"] = stored_value_section(organization=organization)
        assert context["value_section"] is not None
    with CaptureQueriesContext(connection) as captured:
        registry.require(dashboard).builder(
            organization=organization, filters=filters, using="default", context=context
        )
    return [q["sql"] for q in captured.captured_queries if q["sql"].lstrip().upper().startswith("SELECT")]


def test_no_dashboard_query_runs_a_subquery_per_row(organization, seeded):
    problems = []
    checked = 0
    for label, filters in _filters(organization, seeded).items():
        for dashboard in registry.keys():
            for sql in _dashboard_statements(organization, filters, dashboard):
                checked += 1
                for problem in per_row_subplans(explain(sql), large=LARGE):
                    problems.append(f"{dashboard} [{label}]: {problem}\n    {sql[:300]}")
    assert checked > 100
    assert problems == []


def test_the_check_catches_not_in_a_subquery(organization, seeded):
    """The retention cohorts' old exclusion, `NOT IN (subquery)` over the earlier buyers, is caught;
    the anti-join that replaced it is not."""
    first_month = timezone.now() - timedelta(days=30)
    rows = Transaction.objects.for_organization(organization).filter(occurred_at__gte=first_month)
    earlier = Transaction.objects.for_organization(organization).filter(
        amount__gte=0, occurred_at__lt=first_month
    )
    old = rows.exclude(customer_id__in=earlier.values("customer_id")).values("customer_id")
    problems = per_row_subplans(explain_queryset(old), large=LARGE)
    assert problems and "journeys_transaction" in problems[0]
    new = rows.filter(~Exists(earlier.filter(customer_id=OuterRef("customer_id")))).values("customer_id")
    assert per_row_subplans(explain_queryset(new), large=LARGE) == []
