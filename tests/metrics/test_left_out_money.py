"""METRICS.md, Currency: a transaction in another currency without a rate is left out of every sum of
money, and each page or API response showing such a sum says how many were left out. Here: an
organization in CNY (Asia/Shanghai), one USD order without a rate; then the rate is set.

By hand, with the clock at 15 June 2026 and N = 180 days for monetized NPS:
- Li (detractor, answered 1 Nov 2025): CNY 100 on 2 Nov, USD 10 on 3 Nov (no rate: left out).
- Wang (passive, answered 1 Nov 2025): CNY 300 on 2 Nov.
Without the rate: historical value 400; Li's net value 100; detractor revenue 100; revenue at risk
100; uplift (300 − 100) × 1 = 200; one transaction left out everywhere Li's money is summed.
With USD→CNY 7.2 from 1 Jan 2025: 10 USD = 72 CNY; historical value 472; Li's net value 172;
detractor revenue 172; revenue at risk 172; uplift (300 − 172) × 1 = 128; no note."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation

from journeys.models import ExchangeRate
from metrics import services as metrics_services
from tests.factories import MembershipFactory, UserFactory
from tests.journeys.factories import CustomerFactory, TransactionFactory
from tests.surveys.factories import ResponseFactory, SurveyFactory

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
NOTE = "1 transaction in another currency was left out (no exchange rate)."


@pytest.fixture
def shop(organization, clock):
    organization.time_zone = "Asia/Shanghai"
    organization.currency = "CNY"
    organization.save()
    survey = SurveyFactory(organization=organization, name="NPS")
    li = CustomerFactory(organization=organization, external_id="LI", name="Li")
    wang = CustomerFactory(organization=organization, external_id="WANG", name="Wang")
    for customer, score in [(li, 3), (wang, 8)]:
        ResponseFactory(
            survey=survey,
            customer=customer,
            score_kind="nps",
            score=score,
            submitted_at=datetime(2025, 11, 1, 10, 0, tzinfo=SH),
        )
    for customer, day, amount, currency in [
        (li, 2, "100", "CNY"),
        (li, 3, "10", "USD"),
        (wang, 2, "300", "CNY"),
    ]:
        TransactionFactory(
            customer=customer,
            order_id=f"{customer.external_id}-{day}",
            occurred_at=datetime(2025, 11, day, 12, 0, tzinfo=SH),
            amount=Decimal(amount),
            currency=currency,
        )
    metrics_services.dashboards_recompute(organization=organization)
    return organization, li


def _notes(html: str) -> list[str]:
    return re.findall(r'data-left-out="(\d+)"', html)


def _set_rate(organization):
    ExchangeRate.objects.create(
        organization=organization, currency="USD", effective_from=date(2025, 1, 1), rate=Decimal("7.2")
    )
    metrics_services.dashboards_recompute(organization=organization)


def test_customer_page_says_what_its_net_value_leaves_out(owner_client, shop):
    organization, li = shop
    html = owner_client.get(f"/customers/{li.pk}/").content.decode()
    assert "CN¥100.00" in html and NOTE in html and _notes(html) == ["1"]
    assert 'href="/settings/exchange-rates/"' in html
    _set_rate(organization)
    html = owner_client.get(f"/customers/{li.pk}/").content.decode()
    assert "CN¥172.00" in html and _notes(html) == [] and "left out" not in html


def test_value_dashboard_says_what_each_sum_leaves_out(owner_client, shop):
    organization, _li = shop
    html = owner_client.get("/dashboards/value/").content.decode()
    # Tiles: historical value, revenue at risk, uplift (predicted CLV too once a model is fitted: none
    # here); tables: tiers, RFM segments, monetized NPS. Each holds Li's USD order.
    assert _notes(html) == ["1"] * 6
    assert "CN¥400.00" in html  # historical value: 100 + 300, never + 10 raw
    assert "1 customer whose latest NPS answer is a detractor" in html
    assert "CN¥200.00" in html  # uplift (300 − 100) × 1, and revenue at risk 100
    risk = re.search(r"Revenue at risk</div><div class=\"value\">([^<]+)<", html)
    assert risk and risk.group(1) == "CN¥100.00"
    _set_rate(organization)
    html = owner_client.get("/dashboards/value/").content.decode()
    assert _notes(html) == [] and "left out" not in html
    assert "CN¥472.00" in html and "CN¥128.00" in html
    risk = re.search(r"Revenue at risk</div><div class=\"value\">([^<]+)<", html)
    assert risk and risk.group(1) == "CN¥172.00"


def test_the_note_links_to_exchange_rates_only_for_those_who_set_them(client, shop):
    organization, li = shop
    analyst = UserFactory()
    MembershipFactory(organization=organization, user=analyst, role="analyst")
    client.force_login(analyst)
    html = client.get(f"/customers/{li.pk}/").content.decode()
    assert NOTE in html and "/settings/exchange-rates/" not in html


def test_the_note_in_chinese(owner_client, shop):
    _organization, li = shop
    with translation.override("zh-hans"):
        html = owner_client.get(f"/customers/{li.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "1 笔其他币种的交易因没有汇率未计入" in html
    with translation.override("zh-hans"):
        value = owner_client.get("/dashboards/value/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "1 位客户最近一次 NPS 回答为贬损者" in value


def test_monetized_nps_api_counts_what_it_leaves_out(api_client, shop):
    organization, _li = shop
    body = api_client.get("/api/v1/metrics/monetized-nps").json()
    by = {row["category"]: row for row in body["table"]}
    assert (body["transactions_left_out"], by["detractor"]["revenue_per_customer"], body["uplift"]) == (
        1,
        100.0,
        200.0,
    )
    assert (body["revenue_at_risk"]["revenue"], body["revenue_at_risk"]["transactions_left_out"]) == (
        100.0,
        1,
    )
    _set_rate(organization)
    body = api_client.get("/api/v1/metrics/monetized-nps").json()
    by = {row["category"]: row for row in body["table"]}
    assert (body["transactions_left_out"], by["detractor"]["revenue_per_customer"], body["uplift"]) == (
        0,
        172.0,
        128.0,
    )
    assert (body["revenue_at_risk"]["revenue"], body["revenue_at_risk"]["transactions_left_out"]) == (
        172.0,
        0,
    )


def test_customer_values_api_counts_each_customers_left_out_transactions(api_client, shop):
    organization, _li = shop

    def li_row() -> dict:
        rows = api_client.get("/api/v1/metrics/customers/?customer=LI").json()["results"]
        assert len(rows) == 1
        return rows[0]

    row = li_row()
    assert (row["currency"], row["historical_clv"], row["transactions_left_out"]) == ("CNY", "100.00", 1)
    _set_rate(organization)
    row = li_row()
    assert (row["historical_clv"], row["transactions_left_out"]) == ("172.00", 0)


def test_predicted_clv_tile_says_what_it_leaves_out_once_a_model_is_fitted(owner_client, shop):
    from metrics.models import ClvModel

    organization, _li = shop
    ClvModel.objects.create(
        organization=organization,
        calibration_end=date(2026, 6, 14),
        r=0.5,
        alpha=5.0,
        a=0.5,
        b=2.0,
        bgnbd_log_likelihood=-10.0,
    )
    metrics_services.dashboards_recompute(organization=organization)
    html = owner_client.get("/dashboards/value/").content.decode()
    tile = re.search(r"Predicted CLV \(next year\)</div>.*?</div></div>", html, re.S)
    assert tile and "BG/NBD" in tile.group(0) and 'data-left-out="1"' in tile.group(0)
    assert _notes(html) == ["1"] * 7
