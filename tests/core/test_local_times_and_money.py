"""Every page shows a moment in the organization's time zone, and money with its currency."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.utils import translation

from cxm.core.money import money_format, organization_currency
from journeys.models import ImportJob
from metrics import services as metrics_services
from metrics.models import CustomerValue, Snapshot
from tests.journeys.factories import CustomerFactory, TransactionFactory
from tests.surveys.factories import ResponseFactory

pytestmark = pytest.mark.django_db
MOMENT = datetime(2026, 6, 30, 20, 0, tzinfo=UTC)
LOCAL = "2026-07-01 04:00"  # the same moment in Asia/Shanghai (UTC+8)
UTC_TEXT = "2026-06-30 20:00"


@pytest.fixture
def shanghai(organization):
    organization.time_zone = "Asia/Shanghai"
    organization.currency = "CNY"
    organization.save()
    return organization


@pytest.fixture
def moment_data(shanghai):
    customer = CustomerFactory(organization=shanghai, external_id="C-TZ", name="Zhang Wei")
    response = ResponseFactory(
        survey__organization=shanghai,
        survey__name="NPS",
        customer=customer,
        score_kind="nps",
        score=9,
        comment="Quick delivery",
        submitted_at=MOMENT,
    )
    TransactionFactory(
        customer=customer,
        order_id="O-1",
        occurred_at=datetime(2026, 5, 1, tzinfo=UTC),
        amount=Decimal("1234.50"),
        currency="CNY",
    )
    return customer, response


def test_the_same_moment_reads_the_same_on_every_page(owner_client, shanghai, moment_data):
    customer, response = moment_data
    ImportJob.objects.create(organization=shanghai, kind="customers", file_path="x", created_at=MOMENT)
    metrics_services.dashboards_recompute(organization=shanghai)
    Snapshot.objects.unscoped().filter(organization=shanghai).update(computed_at=MOMENT)
    pages = {
        "response list": "/surveys/responses/",
        "response detail": f"/surveys/responses/{response.pk}/",
        "customer timeline": f"/customers/{customer.pk}/",
        "dashboard computed at": "/dashboards/",
        "import page": "/imports/",
    }
    for name, url in pages.items():
        html = owner_client.get(url).content.decode()
        assert LOCAL in html, name
        assert UTC_TEXT not in html, name
    dashboard = owner_client.get("/dashboards/").content.decode()
    assert f"Computed {LOCAL} (Asia/Shanghai)" in dashboard
    detail = owner_client.get(f"/surveys/responses/{response.pk}/").content.decode()
    assert 'datetime="2026-07-01T04:00:00+08:00"' in detail and "(Asia/Shanghai)" in detail


def test_api_times_stay_in_utc(api_client, shanghai, moment_data):
    body = api_client.get("/api/v1/responses").json()
    assert body["results"][0]["submitted_at"] == "2026-06-30T20:00:00Z"


# --- Money ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "language", "text"),
    [
        (Decimal("1234.5"), "CNY", "zh-hans", "¥1,234.50"),
        (Decimal("1234.5"), "CNY", "en", "CN¥1,234.50"),
        (-12, "USD", "en", "-$12.00"),
        (1234567.891, "EUR", "zh-hans", "€1,234,567.89"),
        ("99.999", "CHF", "en", "CHF 100.00"),
        (None, "USD", "en", "–"),
    ],
)
def test_money_format(amount, currency, language, text):
    assert money_format(amount, currency=currency, language=language) == text


def test_organization_currency_defaults_to_usd(organization):
    assert organization_currency(organization) == "USD"
    assert organization_currency(None) == "USD"


def test_customer_page_shows_the_currency(owner_client, shanghai, moment_data):
    customer, _response = moment_data
    CustomerValue.objects.create(
        organization=shanghai, customer=customer, predicted_clv=2000.5, computed_at=MOMENT
    )
    html = owner_client.get(f"/customers/{customer.pk}/").content.decode()
    assert html.count("CN¥1,234.50") == 2  # the net value KPI and the order in the timeline
    assert "CN¥2,000.50" in html  # predicted CLV beside the segment
    with translation.override("zh-hans"):
        owner_client.cookies["django_language"] = "zh-hans"
        zh = owner_client.get(f"/customers/{customer.pk}/").content.decode()
    assert "¥1,234.50" in zh and "CN¥" not in zh


def test_value_dashboard_shows_the_currency_in_tiles_tables_exports_and_chart(
    owner_client, shanghai, moment_data
):
    customer, _response = moment_data
    metrics_services.dashboards_recompute(organization=shanghai)
    assert CustomerValue.objects.unscoped().filter(customer=customer).exists()
    html = owner_client.get("/dashboards/value/").content.decode()
    assert "CN¥1,234.50" in html  # historical value tile and the tiers table
    assert "Historical value (CNY)" in html
    assert '"currency_symbol": "CN\\u00a5"' in html or '"currency_symbol": "CN¥"' in html
    assert "Value (CNY)" in html  # the CLV chart's axis
    csv = owner_client.get("/dashboards/export/?dashboard=value&table=tiers&format=csv")
    header = csv.content.decode("utf-8-sig").splitlines()[0]
    assert header == "Tier,Customers,Historical value (CNY),Predicted CLV (CNY)"
    monetized = owner_client.get("/dashboards/export/?dashboard=value&table=monetized_nps&format=csv")
    assert "Revenue per customer (CNY)" in monetized.content.decode("utf-8-sig").splitlines()[0]


def test_monetized_nps_api_names_the_currency(api_client, shanghai, moment_data):
    assert api_client.get("/api/v1/metrics/monetized-nps").json()["currency"] == "CNY"
