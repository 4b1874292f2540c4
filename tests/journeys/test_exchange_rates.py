"""Exchange rates: entered through the API (scoped, validated), and the conversion every money figure
uses (the latest rate on or before the transaction's local day; no rate → left out)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db.models import Sum

from journeys.models import ExchangeRate, Transaction
from journeys.selectors import transaction_value, transactions_without_rate
from tests.factories import OrganizationFactory

from .factories import CustomerFactory, TransactionFactory

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


def test_rates_api_lists_creates_replaces_and_scopes(api_client, other_api_client, organization):
    organization.currency = "CNY"
    organization.save()
    created = api_client.post(
        "/api/v1/exchange-rates/",
        {"currency": "usd", "effective_from": "2026-01-01", "rate": "7.1"},
        format="json",
    )
    assert created.status_code == 201, created.content
    assert created.json()["currency"] == "USD" and Decimal(created.json()["rate"]) == Decimal("7.1")
    again = api_client.post(
        "/api/v1/exchange-rates/",
        {"currency": "USD", "effective_from": "2026-01-01", "rate": "7.2"},
        format="json",
    )
    assert again.status_code == 201
    assert ExchangeRate.objects.unscoped().filter(organization=organization).count() == 1
    assert ExchangeRate.objects.unscoped().get(organization=organization).rate == Decimal("7.2")
    listed = api_client.get("/api/v1/exchange-rates/").json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert [(r["currency"], r["effective_from"]) for r in rows] == [("USD", "2026-01-01")]
    theirs = other_api_client.get("/api/v1/exchange-rates/").json()
    assert (theirs["results"] if isinstance(theirs, dict) else theirs) == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"currency": "US", "effective_from": "2026-01-01", "rate": "7"}, "currency"),
        ({"currency": "CNY", "effective_from": "2026-01-01", "rate": "7"}, "currency"),  # its own currency
        ({"currency": "USD", "effective_from": "2026-01-01", "rate": "0"}, "rate"),
        ({"currency": "USD", "effective_from": "2026-01-01", "rate": "-1"}, "rate"),
        ({"currency": "USD", "effective_from": "yesterday", "rate": "7"}, "effective_from"),
    ],
)
def test_rates_api_rejects_bad_input(api_client, organization, body, field):
    organization.currency = "CNY"
    organization.save()
    response = api_client.post("/api/v1/exchange-rates/", body, format="json")
    assert response.status_code == 400
    assert field in str(response.json())
    assert not ExchangeRate.objects.unscoped().exists()


def test_conversion_uses_the_latest_rate_on_or_before_the_local_day():
    org = OrganizationFactory(slug="fx", time_zone="Asia/Shanghai", currency="CNY")
    cust = CustomerFactory(organization=org)
    ExchangeRate.objects.create(organization=org, currency="USD", effective_from="2026-01-01", rate="7")
    ExchangeRate.objects.create(organization=org, currency="USD", effective_from="2026-02-01", rate="8")
    rows = [
        ("a", datetime(2026, 1, 15, 12, tzinfo=SH), "10", "USD"),  # rate 7 → 70
        # 1 Feb 01:00 in Shanghai is still 31 Jan in UTC: the local day picks the 1 Feb rate → 80
        ("b", datetime(2026, 2, 1, 1, tzinfo=SH), "10", "USD"),
        ("c", datetime(2026, 3, 1, 12, tzinfo=SH), "5", "CNY"),  # own currency: as is
        ("d", datetime(2025, 12, 31, 12, tzinfo=SH), "10", "USD"),  # before any rate: left out
        ("e", datetime(2026, 3, 1, 12, tzinfo=SH), "10", "EUR"),  # no EUR rate: left out
    ]
    for order_id, at, amount, currency in rows:
        TransactionFactory(
            customer=cust,
            order_id=order_id,
            occurred_at=at,
            amount=amount,
            currency=currency,
        )
    values = dict(
        Transaction.objects.unscoped()
        .filter(organization=org)
        .annotate(value=transaction_value(organization=org))
        .values_list("order_id", "value")
    )
    assert values["a"] == 70 and values["b"] == 80 and values["c"] == 5
    assert values["d"] is None and values["e"] is None
    total = (
        Transaction.objects.unscoped()
        .filter(organization=org)
        .aggregate(total=Sum(transaction_value(organization=org)))["total"]
    )
    assert total == 155
    assert transactions_without_rate(organization=org) == 2


def test_settings_page_enters_rates_and_counts_what_is_left_out(owner_client, organization):
    organization.currency = "CNY"
    organization.save()
    cust = CustomerFactory(organization=organization)
    TransactionFactory(
        customer=cust,
        order_id="usd-1",
        occurred_at=datetime(2026, 3, 1, 12, tzinfo=SH),
        amount="10",
        currency="USD",
    )
    page = owner_client.get("/settings/exchange-rates/")
    assert page.status_code == 200 and 'data-left-out="1"' in page.content.decode()
    bad = owner_client.post(
        "/settings/exchange-rates/", {"currency": "CNY", "effective_from": "2026-01-01", "rate": "1"}
    )
    assert bad.status_code == 200 and "own currency" in bad.content.decode()
    assert not ExchangeRate.objects.unscoped().exists()
    saved = owner_client.post(
        "/settings/exchange-rates/", {"currency": "usd", "effective_from": "2026-01-01", "rate": "7.1"}
    )
    assert saved.status_code == 302
    rate = ExchangeRate.objects.unscoped().get(organization=organization)
    assert (rate.currency, str(rate.effective_from), rate.rate) == ("USD", "2026-01-01", Decimal("7.1"))
    page = owner_client.get("/settings/exchange-rates/").content.decode()
    assert "data-left-out" not in page and "7.1" in page


def test_settings_page_needs_manage_permission(client, organization, make_member):
    from cxm.tenancy.roles import Role

    make_member(organization, Role.VIEWER, "viewer@acme.test")
    client.login(username="viewer@acme.test", password="pw-123456!")
    assert client.get("/settings/exchange-rates/").status_code in (403, 404)
    assert client.post(
        "/settings/exchange-rates/", {"currency": "USD", "effective_from": "2026-01-01", "rate": "7"}
    ).status_code in (403, 404)
    assert not ExchangeRate.objects.unscoped().exists()
