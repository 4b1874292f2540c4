"""Customer value, retention and money against hand-computed cases (refunds, same-day orders,
one-order customers, local days)."""

from __future__ import annotations

import json
from datetime import date, datetime
from io import StringIO
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from django.core.management import call_command

from cxm.tenancy.selectors import organization_settings
from metrics.computations import clv as clv_math
from metrics.computations.customers import customer_values
from metrics.computations.money import monetized_nps, revenue_at_risk
from metrics.computations.retention import cohort_table, repeat_purchase_rate, retention_rates
from metrics.computations.value import customer_purchase_summary, historical_clv, mean_repeat_spend
from surveys.models import Response
from tests.factories import OrganizationFactory
from tests.journeys.factories import TransactionFactory

from .data import customer, order, response, survey

UTC = ZoneInfo("UTC")
SH = ZoneInfo("Asia/Shanghai")
pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    org = OrganizationFactory(slug="shop", time_zone="Asia/Shanghai")
    a, b, c = customer(org), customer(org), customer(org)
    order(org, a, datetime(2026, 1, 10, 10, tzinfo=SH), "100.00")
    order(org, a, datetime(2026, 1, 10, 20, tzinfo=SH), "50.00")  # same local day: merged
    order(org, a, datetime(2026, 2, 1, 9, tzinfo=SH), "120.00")
    order(org, a, datetime(2026, 2, 5, 9, tzinfo=SH), "-30.00")  # refund
    order(org, a, datetime(2026, 3, 1, 23, 30, tzinfo=SH), "80.00")  # 15:30 UTC, local 1 March
    order(org, b, datetime(2026, 2, 10, 12, tzinfo=SH), "40.00")  # one order
    order(org, c, datetime(2026, 2, 12, 12, tzinfo=SH), "-20.00")  # only a refund
    return org, a, b, c


def test_purchase_summary_nets_refunds_but_never_counts_them(shop):
    org, a, b, c = shop
    summary = customer_purchase_summary(organization=org, using="default").set_index("customer_id")
    assert summary.loc[a.pk, "purchase_days"] == 3  # 10 Jan (two orders), 1 Feb, 1 Mar
    assert summary.loc[a.pk, "purchase_count"] == 4
    assert summary.loc[a.pk, "gross"] == 350.0 and summary.loc[a.pk, "refunds"] == -30.0
    assert summary.loc[a.pk, "first_day_spend"] == 150.0
    assert summary.loc[a.pk, "last_purchase_day"] == pd.Timestamp("2026-03-01")
    assert summary.loc[b.pk, "purchase_days"] == 1
    assert summary.loc[c.pk, "purchase_days"] == 0 and summary.loc[c.pk, "purchase_count"] == 0
    clv = historical_clv(summary.reset_index())
    assert clv[a.pk] == 320.0 and clv[b.pk] == 40.0 and clv[c.pk] == -20.0
    spend = mean_repeat_spend(summary.reset_index())
    assert spend[a.pk] == 100.0  # (350 − 150) / 2 repeat days
    assert np.isnan(spend[b.pk])


def test_clv_inputs_exclude_refunds_and_merge_same_day(shop):
    org, a, b, c = shop
    until = datetime(2026, 3, 2, tzinfo=SH)  # end of the local calibration day 1 March
    summary = customer_purchase_summary(organization=org, using="default", until=until)
    inputs = clv_math.rfm_inputs(summary, calibration_end=date(2026, 3, 1), period="week").set_index(
        "customer_id"
    )
    assert c.pk not in inputs.index  # a refund is not a purchase
    assert inputs.loc[a.pk, "x"] == 2
    assert inputs.loc[a.pk, "t_x"] == pytest.approx(50 / 7) and inputs.loc[a.pk, "T"] == pytest.approx(50 / 7)
    assert inputs.loc[a.pk, "monetary"] == 100.0
    assert inputs.loc[b.pk, "x"] == 0 and inputs.loc[b.pk, "T"] == pytest.approx(19 / 7)
    day = clv_math.rfm_inputs(summary, calibration_end=date(2026, 3, 1), period="day").set_index(
        "customer_id"
    )
    assert day.loc[a.pk, "t_x"] == 50


@pytest.fixture
def cohorts():
    org = OrganizationFactory(slug="cohorts", time_zone="UTC")
    c1, c2, c3, c4, c5 = (customer(org) for _ in range(5))
    for cust, when, amount in [
        (c1, datetime(2026, 1, 5, tzinfo=UTC), "10"),
        (c1, datetime(2026, 2, 10, tzinfo=UTC), "10"),
        (c1, datetime(2026, 3, 3, tzinfo=UTC), "10"),
        (c2, datetime(2026, 1, 20, tzinfo=UTC), "10"),
        (c2, datetime(2026, 3, 15, tzinfo=UTC), "10"),
        (c3, datetime(2026, 2, 2, tzinfo=UTC), "10"),
        (c3, datetime(2026, 3, 9, tzinfo=UTC), "-10"),  # a refund keeps no one retained
        (c4, datetime(2025, 12, 20, tzinfo=UTC), "10"),  # first purchase before the window
        (c4, datetime(2026, 1, 3, tzinfo=UTC), "10"),
        (c5, datetime(2026, 3, 20, tzinfo=UTC), "10"),
    ]:
        order(org, cust, when, amount)
    return org


def test_cohort_table(cohorts):
    table = cohort_table(
        organization=cohorts, using="default", first_month=date(2026, 1, 1), last_month=date(2026, 3, 1)
    )
    by = {row["cohort"]: row for row in table}
    assert by["2026-01"]["size"] == 2  # c4 started in December: not a January cohort member
    assert [cell["rate"] for cell in by["2026-01"]["retention"]] == [1.0, 0.5, 1.0]
    assert by["2026-02"]["size"] == 1
    assert [cell["rate"] for cell in by["2026-02"]["retention"]] == [1.0, 0.0]
    assert by["2026-03"]["size"] == 1 and by["2026-03"]["retention"][0]["rate"] == 1.0


def test_cohort_table_excludes_earlier_buyers_by_an_anti_join(cohorts):
    """`NOT IN (subquery)` turns quadratic on PostgreSQL once the subquery outgrows its hash memory."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        cohort_table(
            organization=cohorts, using="default", first_month=date(2026, 1, 1), last_month=date(2026, 3, 1)
        )
    sql = " ".join(query["sql"].upper() for query in captured.captured_queries)
    assert "NOT EXISTS" in sql and " IN (SELECT" not in sql


def test_retention_and_churn_rates(cohorts):
    # METRICS.md (revised): retention = |S ∩ E| / S, churn = |S \\ E| / S, summing to 100 %; the old
    # (E − N) / S said 1.0 here. Activity window 30 days. S (active in the 30 days before 1 March):
    # c1 (10 Feb), c3 (2 Feb) → 2. E (active in the 30 days to 31 March): c1, c2, c5 → 3 (c3's March
    # transaction is a refund). S ∩ E = {c1} → retention ½, churn ½. New (first purchase in March):
    # c5; reactivated (in E, not in S, first purchase before March): c2. Neither enters the rates.
    [rates] = retention_rates(
        organization=cohorts,
        using="default",
        periods=[(date(2026, 3, 1), date(2026, 3, 31))],
        activity_days=30,
    )
    assert (rates["active_at_start"], rates["active_at_end"], rates["retained"], rates["churned"]) == (
        2,
        3,
        1,
        1,
    )
    assert (rates["new"], rates["reactivated"]) == (1, 1)
    assert rates["retention_rate"] == 0.5 and rates["churn_rate"] == 0.5
    [empty] = retention_rates(
        organization=cohorts, using="default", periods=[(date(2020, 1, 1), date(2020, 1, 31))]
    )
    assert empty["retention_rate"] is None and empty["churn_rate"] is None


def test_retention_and_churn_always_sum_to_one(cohorts):
    # Where the textbook (E − N) / S goes negative: February with a 12-day window. S (20–31 Jan): c2;
    # E (17–28 Feb): nobody, N = c3 (2 Feb) → (0 − 1) / 1 = −1. Now: retention 0, churn 1.
    periods = [(date(2026, m, 1), date(2026, m, 28)) for m in (1, 2, 3)]
    rates = retention_rates(organization=cohorts, using="default", periods=periods, activity_days=12)
    feb = rates[1]
    assert (feb["active_at_start"], feb["active_at_end"], feb["new"]) == (1, 0, 1)
    assert feb["retention_rate"] == 0.0 and feb["churn_rate"] == 1.0
    for row in rates:
        if row["active_at_start"]:
            assert row["retention_rate"] + row["churn_rate"] == pytest.approx(1.0)
            assert 0 <= row["retention_rate"] <= 1


def test_zero_amount_orders_are_purchases_everywhere(cohorts):
    from .data import customer, order

    free = customer(cohorts)
    order(cohorts, free, datetime(2026, 3, 2, 10, tzinfo=UTC), "0.00")
    order(cohorts, free, datetime(2026, 3, 5, 10, tzinfo=UTC), "0.00")
    result = repeat_purchase_rate(
        organization=cohorts,
        using="default",
        start=datetime(2026, 3, 1, tzinfo=UTC),
        end=datetime(2026, 4, 1, tzinfo=UTC),
    )
    # March buyers: c1, c2, c5, free (c3's refund is not a purchase); repeaters: free (2 days)
    assert result == {"buyers": 4, "repeat_buyers": 1, "rate": 0.25}
    table = cohort_table(
        organization=cohorts, using="default", first_month=date(2026, 3, 1), last_month=date(2026, 3, 1)
    )
    assert table[0]["size"] == 2  # c5 and the free-order customer
    summary = customer_purchase_summary(organization=cohorts, using="default").set_index("customer_id")
    assert summary.loc[free.pk, "purchase_days"] == 2 and summary.loc[free.pk, "historical_value"] == 0.0


def test_repeat_purchase_rate(cohorts):
    result = repeat_purchase_rate(
        organization=cohorts,
        using="default",
        start=datetime(2026, 1, 1, tzinfo=UTC),
        end=datetime(2026, 4, 1, tzinfo=UTC),
    )
    assert result == {"buyers": 5, "repeat_buyers": 2, "rate": 0.4}


def test_monetized_nps_revenue_at_risk_and_uplift():
    org = OrganizationFactory(slug="money", time_zone="UTC")
    s = survey(org)
    p1, d1, d2, pa1 = (customer(org) for _ in range(4))
    response(org, s, "nps", 2, datetime(2025, 12, 1, tzinfo=UTC), p1)  # superseded by the later answer
    response(org, s, "nps", 10, datetime(2026, 1, 1, tzinfo=UTC), p1)
    response(org, s, "nps", 3, datetime(2026, 1, 5, tzinfo=UTC), d1)
    response(org, s, "nps", 6, datetime(2026, 1, 6, tzinfo=UTC), d2)
    response(org, s, "nps", 8, datetime(2026, 1, 7, tzinfo=UTC), pa1)
    order(org, p1, datetime(2025, 12, 31, tzinfo=UTC), "999")  # before the answer
    order(org, p1, datetime(2026, 1, 10, tzinfo=UTC), "100")
    order(org, p1, datetime(2026, 1, 20, tzinfo=UTC), "-20")  # refund netted
    order(org, p1, datetime(2026, 7, 30, tzinfo=UTC), "500")  # after 180 days
    order(org, d2, datetime(2026, 2, 1, tzinfo=UTC), "50")
    order(org, pa1, datetime(2026, 1, 8, tzinfo=UTC), "200")
    responses = Response.objects.unscoped().filter(
        organization=org, submitted_at__gte=datetime(2025, 11, 1, tzinfo=UTC)
    )
    result = monetized_nps(organization=org, responses=responses, using="default", days=180)
    by = {row["category"]: row for row in result["table"]}
    assert (
        by["promoter"]["customers"],
        by["promoter"]["revenue_per_customer"],
        by["promoter"]["repeat_purchase_rate"],
    ) == (1, 80.0, 1.0)
    assert (by["passive"]["customers"], by["passive"]["revenue_per_customer"]) == (1, 200.0)
    assert (
        by["detractor"]["customers"],
        by["detractor"]["revenue_per_customer"],
        by["detractor"]["repeat_purchase_rate"],
    ) == (2, 25.0, 0.5)
    assert result["uplift"] == pytest.approx((200 - 25) * 2)
    frame = customer_values(
        organization=org,
        using="default",
        now=datetime(2026, 3, 1, tzinfo=UTC),
        model=None,
        settings=organization_settings(organization=org),
    )
    # detractors by their latest answer: d1 (no revenue) and d2 (50 within the 12 months); p1's
    # earlier detractor answer was superseded by a promoter one
    assert revenue_at_risk(frame) == {
        "revenue": 50.0,
        "customers_with_revenue": 1,
        "detractors": 2,
        "transactions_left_out": 0,
    }


def test_monetized_nps_with_no_responses():
    org = OrganizationFactory(slug="quiet")
    result = monetized_nps(
        organization=org, responses=Response.objects.unscoped().filter(organization=org), using="default"
    )
    assert all(row["customers"] == 0 and row["revenue_per_customer"] is None for row in result["table"])
    assert result["uplift"] is None


def test_fit_clv_command_prints_the_model(shop):
    org, a, b, c = shop
    out = StringIO()
    call_command(
        "fit_clv", "--org", org.slug, "--calibration-end", "2026-03-01", "--period", "week", stdout=out
    )
    payload = json.loads(out.getvalue())
    assert payload["calibration_end"] == "2026-03-01" and payload["period"] == "week"
    assert payload["summary"]["customers"] == 2 and payload["summary"]["repeat_customers"] == 1
    assert set(payload["bgnbd"]) == {"r", "alpha", "a", "b", "log_likelihood"}
    assert set(payload["gamma_gamma"]) == {"p", "q", "gamma", "log_likelihood"}


def test_monetized_nps_counts_only_matured_answers_in_the_organizations_currency():
    from journeys.models import ExchangeRate

    org = OrganizationFactory(slug="money-mature", time_zone="UTC", currency="EUR")
    ExchangeRate.objects.create(organization=org, currency="USD", effective_from=date(2026, 1, 1), rate="0.9")
    s = survey(org)
    a, b, c = customer(org), customer(org), customer(org)
    response(org, s, "nps", 9, datetime(2026, 5, 1, tzinfo=UTC), a)  # matured by 1 July (N = 30)
    response(org, s, "nps", 3, datetime(2026, 6, 20, tzinfo=UTC), a)  # still maturing: not a's answer
    response(org, s, "nps", 8, datetime(2026, 6, 15, tzinfo=UTC), b)  # still maturing
    response(org, s, "nps", 5, datetime(2026, 4, 1, tzinfo=UTC), c)
    for cust, at, amount, currency in [
        (a, datetime(2026, 5, 10, tzinfo=UTC), "100", "EUR"),
        (a, datetime(2026, 5, 15, tzinfo=UTC), "10", "USD"),  # 9 EUR
        (a, datetime(2026, 5, 20, tzinfo=UTC), "5", "GBP"),  # no rate: left out, never added raw
        (c, datetime(2026, 4, 2, tzinfo=UTC), "0", "EUR"),  # a free order is a purchase
    ]:
        TransactionFactory(
            customer=cust,
            order_id=f"{cust.pk}-{at:%m%d}",
            occurred_at=at,
            amount=amount,
            currency=currency,
        )
    responses = Response.objects.unscoped().filter(organization=org)
    result = monetized_nps(
        organization=org, responses=responses, using="default", days=30, now=datetime(2026, 7, 1, tzinfo=UTC)
    )
    by = {row["category"]: row for row in result["table"]}
    assert (result["included"], result["maturing"], result["transactions_left_out"]) == (2, 2, 1)
    assert (by["promoter"]["customers"], by["promoter"]["revenue_per_customer"]) == (1, 109.0)
    assert by["passive"]["customers"] == 0
    assert (by["detractor"]["customers"], by["detractor"]["revenue_per_customer"]) == (1, 0.0)
    assert by["detractor"]["repeat_purchase_rate"] == 1.0
    assert result["currency"] == "EUR"


def test_lifecycle_history_counts_each_customer_once_in_precedence_order(cohorts):
    from metrics.computations.retention import lifecycle_history

    # At 31 March with a 110-day "new" window longer than the 30-day churn window: c4 (first
    # purchase 20 Dec, last 3 Jan) is within "new" by its first purchase but churned comes first;
    # c3 (last purchase 2 Feb) is churned; c1, c2 (first in January) and c5 are new, ahead of active.
    [row] = lifecycle_history(
        organization=cohorts,
        using="default",
        month_ends=[date(2026, 3, 31)],
        new_days=110,
        activity_days=20,
        churn_days=30,
    )
    assert (row["new"], row["active"], row["at_risk"], row["churned"]) == (3, 0, 0, 2)
    assert sum(row[s] for s in ("new", "active", "at_risk", "churned")) == 5


def test_monetized_nps_windows_are_local_days_of_the_organization():
    """METRICS.md: the N days after an answer are local days. In Asia/Shanghai with N = 180, an answer
    at 23:30 local on 10 January (local day D) has the window from the answer to local midnight
    starting D + 180 = 9 July. So (written from the definition before running):
    - an order on 9 July at 00:30 local (180 local days later) is outside, although it is less than
      180 × 24 hours after the answer (that would end 9 July 23:30);
    - an order on 8 July at 23:30 local and one on 10 January at 23:45 local are inside: 10 + 100;
    - a USD order without a rate on 8 July is left out (1); one on 9 July is outside the window (0);
    - the answer has matured from 9 July 00:00 local: at 00:10 it is included (24-hour multiples
      would still call it maturing until 23:30), at 8 July 23:50 it is still maturing."""

    org = OrganizationFactory(slug="money-local", time_zone="Asia/Shanghai", currency="CNY")
    s = survey(org)
    buyer = customer(org)
    response(org, s, "nps", 10, datetime(2026, 1, 10, 23, 30, tzinfo=SH), buyer)
    for at, amount, currency in [
        (datetime(2026, 1, 10, 23, 45, tzinfo=SH), "10", "CNY"),
        (datetime(2026, 7, 8, 23, 30, tzinfo=SH), "100", "CNY"),
        (datetime(2026, 7, 9, 0, 30, tzinfo=SH), "1000", "CNY"),
        (datetime(2026, 7, 8, 22, 0, tzinfo=SH), "7", "USD"),
        (datetime(2026, 7, 9, 0, 20, tzinfo=SH), "8", "USD"),
    ]:
        TransactionFactory(
            customer=buyer,
            order_id=f"O-{at:%m%d%H%M}",
            occurred_at=at,
            amount=amount,
            currency=currency,
        )
    responses = Response.objects.unscoped().filter(organization=org)

    def run(now: datetime) -> dict:
        return monetized_nps(organization=org, responses=responses, using="default", days=180, now=now)

    before = run(datetime(2026, 7, 8, 23, 50, tzinfo=SH))
    assert (before["included"], before["maturing"]) == (0, 1)
    result = run(datetime(2026, 7, 9, 0, 10, tzinfo=SH))
    assert (result["included"], result["maturing"], result["transactions_left_out"]) == (1, 0, 1)
    promoter = next(row for row in result["table"] if row["category"] == "promoter")
    assert (promoter["customers"], promoter["revenue_per_customer"]) == (1, 110.0)
    assert promoter["repeat_purchase_rate"] == 1.0
