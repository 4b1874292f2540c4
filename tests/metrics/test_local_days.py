"""Every "day" is a local day of the organization (METRICS.md): the purchase summary behind the CLV
models, value tiers and lifecycle, checked by hand and against an independent pandas computation."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from metrics.computations import clv as clv_math
from metrics.computations.value import customer_purchase_summary
from tests.factories import OrganizationFactory
from tests.journeys.factories import TransactionFactory

from .data import customer, order

SH = ZoneInfo("Asia/Shanghai")
pytestmark = pytest.mark.django_db


def test_a_day_east_of_utc_runs_from_local_midnight_to_midnight():
    org = OrganizationFactory(slug="east", time_zone="Asia/Shanghai")
    a = customer(org)
    order(org, a, datetime(2026, 1, 10, 1, tzinfo=SH), "100.00")  # 9 Jan 17:00 UTC
    order(org, a, datetime(2026, 1, 10, 23, tzinfo=SH), "50.00")  # 10 Jan 15:00 UTC, same local day
    order(org, a, datetime(2026, 1, 11, 7, 30, tzinfo=SH), "30.00")  # 10 Jan 23:30 UTC, next local day
    order(org, a, datetime(2026, 2, 1, 12, tzinfo=SH), "0.00")  # a free order is a purchase
    row = customer_purchase_summary(organization=org, using="default").set_index("customer_id").loc[a.pk]
    assert row["purchase_days"] == 3  # 10 Jan, 11 Jan, 1 Feb
    assert row["purchase_count"] == 4
    assert row["first_purchase_day"] == pd.Timestamp("2026-01-10")
    assert row["last_purchase_day"] == pd.Timestamp("2026-02-01")
    assert row["first_day_spend"] == 150.0  # 01:00 and 23:00 local, not 08:00-to-08:00
    assert row["gross"] == 180.0
    assert row["median_gap_days"] == 11.0  # gaps 1 and 21 days
    inputs = clv_math.rfm_inputs(
        customer_purchase_summary(organization=org, using="default"),
        calibration_end=date(2026, 2, 11),
        period="day",
    ).set_index("customer_id")
    assert inputs.loc[a.pk, "x"] == 2 and inputs.loc[a.pk, "t_x"] == 22 and inputs.loc[a.pk, "T"] == 32
    assert inputs.loc[a.pk, "monetary"] == 15.0  # (30 + 0) / 2 repeat days


def test_summary_matches_an_independent_pandas_computation():
    org = OrganizationFactory(slug="east-random", time_zone="Asia/Shanghai")
    rng = random.Random(11)
    start = datetime(2026, 1, 1, tzinfo=SH)
    records = []
    for _ in range(30):
        cust = customer(org)
        for _ in range(rng.randint(1, 6)):
            # hours near local midnight and near 08:00 local (UTC midnight) on purpose
            at = start + timedelta(
                days=rng.randint(0, 60), hours=rng.choice([0, 1, 7, 8, 9, 23]), minutes=rng.randint(0, 59)
            )
            amount = rng.choice(["0.00", "-15.00", "20.00", "35.50", "99.99"])
            order(org, cust, at, amount)
            records.append({"customer_id": cust.pk, "at": at, "amount": float(amount)})
    frame = pd.DataFrame(records)
    frame["day"] = (
        pd.to_datetime(frame["at"], utc=True)
        .dt.tz_convert("Asia/Shanghai")
        .dt.tz_localize(None)
        .dt.normalize()
    )
    purchases = frame[frame["amount"] >= 0]
    per_day = purchases.groupby(["customer_id", "day"])["amount"].sum().reset_index()
    first_day = per_day.sort_values("day").groupby("customer_id").first()
    expected = pd.DataFrame(
        {
            "purchase_days": per_day.groupby("customer_id").size(),
            "first_purchase_day": first_day["day"],
            "last_purchase_day": per_day.groupby("customer_id")["day"].max(),
            "first_day_spend": first_day["amount"],
            "gross": purchases.groupby("customer_id")["amount"].sum(),
        }
    )
    expected["refunds"] = frame[frame["amount"] < 0].groupby("customer_id")["amount"].sum()
    expected["historical_value"] = frame.groupby("customer_id")["amount"].sum()
    summary = customer_purchase_summary(organization=org, using="default").set_index("customer_id")
    buyers = summary[summary["purchase_days"] > 0]
    assert sorted(buyers.index) == sorted(expected.index)
    got = buyers.loc[expected.index]
    assert got["purchase_days"].tolist() == expected["purchase_days"].tolist()
    assert (got["first_purchase_day"] == expected["first_purchase_day"]).all()
    assert (got["last_purchase_day"] == expected["last_purchase_day"]).all()
    np.testing.assert_allclose(got["first_day_spend"], expected["first_day_spend"])
    np.testing.assert_allclose(got["gross"], expected["gross"])
    np.testing.assert_allclose(got["refunds"], expected["refunds"].fillna(0.0))
    np.testing.assert_allclose(summary.loc[expected.index, "historical_value"], expected["historical_value"])
    repeat = (expected["gross"] - expected["first_day_spend"]) / (expected["purchase_days"] - 1).where(
        expected["purchase_days"] > 1
    )
    inputs = clv_math.rfm_inputs(summary.reset_index(), calibration_end=date(2026, 3, 31), period="day")
    inputs = inputs.set_index("customer_id").loc[expected.index]
    np.testing.assert_allclose(inputs["monetary"], repeat, equal_nan=True)
    np.testing.assert_allclose(inputs["x"], expected["purchase_days"] - 1)
    np.testing.assert_allclose(
        inputs["T"], (pd.Timestamp("2026-03-31") - expected["first_purchase_day"]).dt.days.astype(float)
    )


def test_trailing_revenue_window_starts_at_a_local_midnight():
    org = OrganizationFactory(slug="east-trailing", time_zone="Asia/Shanghai")
    a = customer(org)
    now = datetime(2026, 6, 1, 12, tzinfo=SH)
    order(org, a, datetime(2025, 6, 1, 23, 30, tzinfo=SH), "7.00")  # 365 local days back: outside
    order(org, a, datetime(2025, 6, 2, 0, 30, tzinfo=SH), "11.00")  # 364 days back, first day inside
    order(org, a, datetime(2026, 6, 1, 11, tzinfo=SH), "13.00")
    row = (
        customer_purchase_summary(organization=org, using="default", now=now)
        .set_index("customer_id")
        .loc[a.pk]
    )
    assert row["trailing_revenue"] == 24.0 and row["historical_value"] == 31.0


def test_mean_repeat_spend_in_the_organizations_currency_over_priced_days_only():
    from journeys.models import ExchangeRate

    org = OrganizationFactory(slug="east-fx", time_zone="Asia/Shanghai", currency="CNY")
    ExchangeRate.objects.create(organization=org, currency="USD", effective_from=date(2026, 1, 1), rate="7")
    a = customer(org)
    for order_id, at, amount, currency in [
        ("1", datetime(2026, 2, 1, 10, tzinfo=SH), "100", "CNY"),  # first day
        ("2", datetime(2026, 2, 5, 10, tzinfo=SH), "10", "USD"),  # 70 CNY
        ("3", datetime(2026, 2, 9, 10, tzinfo=SH), "5", "EUR"),  # no rate: a purchase day, no known spend
        ("4", datetime(2026, 2, 9, 11, tzinfo=SH), "30", "CNY"),
    ]:
        TransactionFactory(customer=a, order_id=order_id, occurred_at=at, amount=amount, currency=currency)
    summary = customer_purchase_summary(organization=org, using="default")
    row = summary.set_index("customer_id").loc[a.pk]
    assert row["purchase_days"] == 3 and row["gross"] == 200.0 and row["unconverted"] == 1
    assert (row["repeat_spend"], row["repeat_spend_days"]) == (70.0, 1)
    inputs = clv_math.rfm_inputs(summary, calibration_end=date(2026, 2, 28), period="day").set_index(
        "customer_id"
    )
    assert inputs.loc[a.pk, "x"] == 2 and inputs.loc[a.pk, "monetary"] == 70.0  # not (200 − 100) / 2
