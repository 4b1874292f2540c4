"""What schemathesis found, one test each: out-of-range input is a JSON 400, never a 500; the schema
describes what the API answers (blank emails and URLs, null touchpoints, the error shape)."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from journeys.models import Journey, Stage

pytestmark = pytest.mark.django_db

METRICS = ["nps", "csat", "ces", "trend", "retention", "segments", "drivers", "monetized-nps"]


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("start=0062-12-19&end=0751-07-19", "start", "Enter a date between 1970-01-01 and 2100-12-31."),
        ("start=0001-01-01", "start", "Enter a date between 1970-01-01 and 2100-12-31."),
        ("end=9999-12-31", "end", "Enter a date between 1970-01-01 and 2100-12-31."),
        ("start=2000-01-01&end=2020-01-01", "start", "Choose a window of at most 10 years."),
        ("survey=%C2%B2", "survey", "Enter a whole number."),
        ("touchpoint=99999999999999999999", "touchpoint", "Enter a whole number."),
    ],
)
def test_metrics_filters_out_of_range_are_a_400(api_client, metric, query, field, message):
    response = api_client.get(f"/api/v1/metrics/{metric}?{query}")
    assert response.status_code == 400, response.content[:300]
    assert response.json()["error"]["fields"][field] == [message]


def test_metrics_accept_the_bounds(api_client):
    response = api_client.get("/api/v1/metrics/csat?start=2091-01-01&end=2100-12-31")
    assert response.status_code == 200
    assert response.json()["window"]["start"] == "2091-01-01"
    assert response.json()["csat"]["n"] == 0


def test_dashboard_shows_the_date_error_instead_of_failing(owner_client):
    response = owner_client.get("/dashboards/?start=0062-12-19&end=0751-07-19")
    assert response.status_code in (200, 400)
    assert "Enter a date between 1970-01-01 and 2100-12-31." in response.content.decode()


@pytest.mark.parametrize("value", ["null", "0", "-3", "2.5", "abc"])
def test_a_bad_page_size_is_a_400(api_client, value):
    response = api_client.get(f"/api/v1/journeys/?page_size={value}")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "page_size": ["page_size must be a whole number of at least 1."]
    }


def test_a_large_page_size_is_capped(api_client, organization):
    for n in range(3):
        Journey.objects.create(organization=organization, name=f"J{n}")
    body = api_client.get("/api/v1/journeys/?page_size=100000").json()
    assert [j["name"] for j in body["results"]] == ["J2", "J1", "J0"]


def test_an_invalid_cursor_is_a_400(api_client):
    response = api_client.get("/api/v1/surveys?cursor=not-a-cursor")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "cursor": ["This cursor is invalid; use the `next` link of a page."]
    }


def test_reorder_with_an_id_beyond_64_bits_is_a_400(api_client, organization):
    journey = Journey.objects.create(organization=organization, name="J")
    stage = Stage.objects.create(organization=organization, journey=journey, name="S", position=0)
    for url in (
        f"/api/v1/journeys/{journey.pk}/reorder-stages/",
        f"/api/v1/stages/{stage.pk}/reorder-touchpoints/",
    ):
        response = api_client.post(url, {"order": [2482580959585305624576]}, format="json")
        assert response.status_code == 400, response.content[:300]
        assert "order" in response.json()["error"]["fields"]


def test_invitations_with_a_survey_id_beyond_64_bits_is_a_400(api_client):
    response = api_client.post("/api/v1/invitations", {"survey": 2**70, "customers": ["C1"]}, format="json")
    assert response.status_code == 400
    assert "survey" in response.json()["error"]["fields"]


@pytest.fixture
def openapi(client):
    return client.get("/api/v1/schema/?format=json").json()


def test_schema_lets_blank_emails_and_urls_through(openapi):
    schemas = openapi["components"]["schemas"]
    blank_or = [{"type": "string", "format": "email"}, {"type": "string", "maxLength": 0}]
    assert schemas["Customer"]["properties"]["email"] == {"readOnly": True, "oneOf": blank_or}
    assert schemas["Response"]["properties"]["page_url"]["oneOf"][0] == {"type": "string", "format": "uri"}
    assert schemas["Transaction"]["properties"]["touchpoint"]["nullable"] is True
    assert schemas["Interaction"]["properties"]["touchpoint"]["nullable"] is True


def test_schema_documents_the_json_errors_of_every_operation(openapi):
    assert openapi["components"]["schemas"]["Error"]["required"] == ["error"]
    error_ref = {"$ref": "#/components/schemas/Error"}
    for path, item in openapi["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            assert "429" in responses, (method, path)
            if operation.get("security") and any(operation["security"]):
                assert {"401", "403"} <= set(responses), (method, path)
            if "{" in path:
                assert "404" in responses, (method, path)
            for status, response in responses.items():
                if status.startswith("4"):
                    assert response["content"]["application/json"]["schema"] == error_ref, (
                        method,
                        path,
                        status,
                    )
    clv = openapi["paths"]["/api/v1/metrics/clv/model"]["get"]["responses"]
    assert clv["404"]["description"] == "No CLV model has been fitted yet."


def test_schema_is_valid_without_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))
    assert (tmp_path / "schema.yml").read_text().startswith("openapi: 3")


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/v1/responses?survey=-9.60375957175869e%2B176", "survey"),
        ("/api/v1/responses?survey=99999999999999999999", "survey"),
        ("/api/v1/questions?survey=1.5", "survey"),
        ("/api/v1/touchpoints/?journey=0", "journey"),
        ("/api/v1/transactions/?min_amount=-9.6e%2B176", "min_amount"),
        ("/api/v1/transactions/?max_amount=0.001", "max_amount"),
    ],
)
def test_list_filters_out_of_range_are_a_400(api_client, url, field):
    response = api_client.get(url)
    assert response.status_code == 400, response.content[:300]
    assert field in response.json()["error"]["fields"]


def test_clv_fit_refuses_a_calibration_end_before_1970(api_client):
    response = api_client.post("/api/v1/metrics/clv/fit", {"calibration_end": "0001-01-01"}, format="json")
    assert response.status_code == 400
    [message] = response.json()["error"]["fields"]["calibration_end"]
    assert message.startswith("Enter a date between 1970-01-01 and ")


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/transactions/?occurred_before=0742-06-04T05%3A29%3A59%2B18%3A48",
        "/api/v1/interactions/?occurred_after=2026-06-04T05%3A29%3A59%2B18%3A48",
        "/api/v1/responses?start=2026-06-04T05%3A29%3A59%2B18%3A48",
        "/api/v1/customers/?seen_after=2026-06-04T05%3A29%3A59-17%3A30",
    ],
)
def test_a_date_time_with_a_large_offset_is_read_in_utc(api_client, url):
    response = api_client.get(url)
    assert response.status_code == 200, response.content[:300]
    assert response.json()["results"] == []


def test_a_date_time_that_does_not_exist_in_utc_is_a_400(api_client):
    response = api_client.get("/api/v1/transactions/?occurred_after=0001-01-01T00%3A00%3A00%2B18%3A00")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["occurred_after"] == [
        "Enter a date and time that exists in UTC."
    ]
