"""GET /api/v1/metrics/customers/ (per-customer values) and /api/v1/metrics/recompute."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from journeys.models import Customer
from metrics.models import CustomerValue, RecomputeState

pytestmark = pytest.mark.django_db
URL = "/api/v1/metrics/customers/"
COMPUTED = datetime(2026, 7, 1, 3, 0, tzinfo=UTC)


def _value(organization, external_id, **fields):
    customer = Customer.objects.create(organization=organization, external_id=external_id)
    defaults = {"computed_at": COMPUTED, "historical_value": Decimal("0")}
    return CustomerValue.objects.create(
        organization=organization, customer=customer, **{**defaults, **fields}
    )


@pytest.fixture
def values(organization):
    return [
        _value(
            organization,
            "C1",
            historical_value=Decimal("1234.50"),
            predicted_clv=800.25,
            p_alive=0.91,
            expected_transactions=2.5,
            purchase_count=7,
            value_tier="top",
            r_score=5,
            f_score=4,
            m_score=5,
            rfm_segment="champions",
            lifecycle_stage="active",
            latest_nps_score=10,
            latest_nps_at=datetime(2026, 6, 30, 20, 0, tzinfo=UTC),
        ),
        _value(
            organization,
            "C2",
            historical_value=Decimal("50"),
            value_tier="low",
            rfm_segment="hibernating",
            lifecycle_stage="churned",
        ),
        _value(
            organization,
            "C3",
            historical_value=Decimal("300"),
            value_tier="mid",
            rfm_segment="champions",
            lifecycle_stage="at_risk",
        ),
    ]


def test_lists_every_value_with_typed_fields(api_client, values):
    r = api_client.get(URL)
    assert r.status_code == 200
    rows = {row["customer"]: row for row in r.json()["results"]}
    assert set(rows) == {"C1", "C2", "C3"}
    assert rows["C1"] == {
        "customer": "C1",
        "currency": "USD",
        "historical_clv": "1234.50",
        "predicted_clv": 800.25,
        "transactions_left_out": 0,
        "p_alive": 0.91,
        "expected_transactions": 2.5,
        "purchase_count": 7,
        "first_purchase_at": None,
        "last_purchase_at": None,
        "recency_days": None,
        "value_tier": "top",
        "r_score": 5,
        "f_score": 4,
        "m_score": 5,
        "rfm_segment": "champions",
        "lifecycle_stage": "active",
        "latest_nps_score": 10,
        "latest_nps_at": "2026-06-30T20:00:00Z",
        "computed_at": "2026-07-01T03:00:00Z",
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("segment=champions", {"C1", "C3"}),
        ("tier=low", {"C2"}),
        ("lifecycle=at_risk", {"C3"}),
        ("min_clv=100", {"C1", "C3"}),
        ("max_clv=300", {"C2", "C3"}),
        ("min_clv=100&max_clv=1000", {"C3"}),
        ("min_predicted_clv=500", {"C1"}),
        ("customer=C2", {"C2"}),
        ("segment=champions&tier=top", {"C1"}),
    ],
)
def test_filters(api_client, values, query, expected):
    r = api_client.get(f"{URL}?{query}")
    assert r.status_code == 200
    assert {row["customer"] for row in r.json()["results"]} == expected


def test_bad_filter_is_a_400(api_client, values):
    r = api_client.get(f"{URL}?min_clv=lots")
    assert r.status_code == 400
    assert "min_clv" in r.json()["error"]["fields"]


def test_cursor_pages_walk_everything_once(api_client, organization):
    for i in range(7):
        _value(organization, f"P{i}", historical_value=Decimal(i))
    seen, url = [], f"{URL}?page_size=3"
    pages = 0
    while url:
        body = api_client.get(url).json()
        seen += [row["customer"] for row in body["results"]]
        url = body["next"]
        pages += 1
    assert pages == 3 and sorted(seen) == sorted(f"P{i}" for i in range(7))


def test_fixed_number_of_queries(api_client, organization):
    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert api_client.get(f"{URL}?page_size=100").status_code == 200
        return len(ctx.captured_queries)

    for i in range(3):
        _value(organization, f"A{i}")
    count()  # the key's first use of the minute records last_used_at
    few = count()
    for i in range(40):
        _value(organization, f"B{i}")
    assert count() == few


def test_scoped_to_the_organization(other_api_client, values):
    r = other_api_client.get(URL)
    assert r.status_code == 200 and r.json()["results"] == []


def test_currency_is_the_organizations(api_client, organization, values):
    organization.currency = "CNY"
    organization.save()
    assert {row["currency"] for row in api_client.get(URL).json()["results"]} == {"CNY"}


def test_in_the_schema_with_typed_fields(api_client):
    schema = api_client.get("/api/v1/schema/?format=json").json()
    assert "/api/v1/metrics/customers/" in schema["paths"]
    assert "/api/v1/metrics/recompute" in schema["paths"]
    props = schema["components"]["schemas"]["CustomerValue"]["properties"]
    assert props["p_alive"]["type"] == "number" and props["p_alive"].get("nullable") is True
    assert props["historical_clv"]["type"] == "string" and props["historical_clv"]["format"] == "decimal"
    assert props["computed_at"]["format"] == "date-time"
    assert props["r_score"]["type"] == "integer"
    state = schema["components"]["schemas"]["RecomputeState"]["properties"]
    assert set(state) >= {"stale", "queued", "running", "last_computed_at"}


# --- Recompute ---------------------------------------------------------------------------------


def test_recompute_state_before_anything(api_client):
    r = api_client.get("/api/v1/metrics/recompute")
    assert r.status_code == 200
    assert r.json() == {
        "stale": False,
        "queued": False,
        "running": False,
        "requested_at": None,
        "last_computed_at": None,
        "last_error": "",
    }


def test_post_recompute_queues_past_the_debounce_and_answers_202(
    api_client, organization, settings, django_capture_on_commit_callbacks
):
    settings.METRICS_RECOMPUTE_DEBOUNCE = 3600
    RecomputeState.objects.create(organization=organization, requested_at=datetime.now(UTC))  # debounced
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        r = api_client.post("/api/v1/metrics/recompute")
    assert r.status_code == 202
    assert r.json()["queued"] is True and r.json()["stale"] is True
    assert len(callbacks) == 1  # the task is queued even inside the debounce window
    for callback in callbacks:
        callback()  # in-process: the recompute runs
    state = api_client.get("/api/v1/metrics/recompute").json()
    assert state["queued"] is False and state["stale"] is False and state["running"] is False
    assert state["last_computed_at"] is not None


def test_read_only_key_cannot_ask_for_a_recompute(read_only_api_client, organization):
    r = read_only_api_client.post("/api/v1/metrics/recompute")
    assert r.status_code == 403
    assert not RecomputeState.objects.unscoped().filter(organization=organization).exists()
    assert read_only_api_client.get("/api/v1/metrics/recompute").status_code == 200
