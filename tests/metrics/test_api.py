"""Metrics API: values under filters, bad input, another organization's data, the CLV model."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from metrics import services

from .data import customer, order, response, seed_dataset, survey

ENDPOINTS = ["nps", "csat", "ces", "trend", "retention", "segments", "drivers", "monetized-nps"]


@pytest.fixture
def scored(organization):
    s = survey(organization)
    now = timezone.now()
    for score in (10, 10, 9, 5):
        response(organization, s, "nps", score, now - timedelta(days=1))
    for score in (5, 4, 1):
        response(organization, s, "csat", score, now - timedelta(days=1))
    for score in (6, 2):
        response(organization, s, "ces", score, now - timedelta(days=1))
    return s


@pytest.mark.django_db
def test_nps_csat_ces(scored, api_client):
    nps = api_client.get("/api/v1/metrics/nps").json()
    assert nps["nps"]["nps"] == 50.0 and nps["nps"]["n"] == 4 and nps["nps"]["promoters"] == 3
    assert nps["nps"]["ci_low"] < 50 < nps["nps"]["ci_high"]
    assert nps["change"]["verdict"] == "too_few" and nps["previous"]["n"] == 0
    csat = api_client.get("/api/v1/metrics/csat").json()
    assert csat["csat"]["csat"] == pytest.approx(200 / 3) and csat["csat"]["n"] == 3
    ces = api_client.get("/api/v1/metrics/ces").json()
    assert ces["ces"]["mean"] == 4.0 and ces["ces"]["agree_pct"] == 50.0


@pytest.mark.django_db
def test_filters_apply(scored, api_client, organization):
    other = survey(organization, "Other")
    response(organization, other, "nps", 0, timezone.now() - timedelta(days=1))
    assert api_client.get("/api/v1/metrics/nps").json()["nps"]["n"] == 5
    assert api_client.get(f"/api/v1/metrics/nps?survey={other.pk}").json()["nps"]["nps"] == -100.0
    old = (timezone.now() - timedelta(days=400)).date()
    assert api_client.get(f"/api/v1/metrics/nps?start={old}&end={old}").json()["nps"]["n"] == 0


@pytest.mark.django_db
def test_trend_and_breakdown(scored, api_client):
    trend = api_client.get("/api/v1/metrics/trend?bucket=month").json()
    assert trend["bucket"] == "month" and sum(r["nps"]["n"] for r in trend["results"]) == 4
    by = api_client.get("/api/v1/metrics/trend?by=survey").json()
    assert by["results"][0]["label"] == "NPS" and by["results"][0]["n"] == 9
    assert api_client.get("/api/v1/metrics/trend?by=planet").status_code == 400


@pytest.mark.django_db
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_bad_filters_are_400_in_the_error_shape(api_client, endpoint):
    response = api_client.get(f"/api/v1/metrics/{endpoint}?start=31-01-2026&bucket=fortnight")
    assert response.status_code == 400
    body = response.json()
    assert body["error"]["code"] in {"invalid", "validation_error", "bad_request"}


@pytest.mark.django_db
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_every_endpoint_answers_for_our_organization_only(scored, other_api_client, api_client, endpoint):
    ours = api_client.get(f"/api/v1/metrics/{endpoint}")
    assert ours.status_code == 200
    theirs = other_api_client.get(f"/api/v1/metrics/{endpoint}")
    assert theirs.status_code == 200
    if endpoint == "nps":
        assert ours.json()["nps"]["n"] == 4 and theirs.json()["nps"]["n"] == 0
    if endpoint == "trend":
        assert theirs.json()["results"] == []


@pytest.mark.django_db
def test_unauthenticated_is_refused(client):
    assert client.get("/api/v1/metrics/nps").status_code in (401, 403)


@pytest.mark.django_db
def test_retention_segments_drivers_money(organization, api_client):
    seed_dataset(organization, customers=60)
    services.dashboards_recompute(organization=organization)
    retention = api_client.get("/api/v1/metrics/retention").json()
    assert retention["cohorts"] and 0 <= (retention["repeat_purchase"]["rate"] or 0) <= 1
    segments = api_client.get("/api/v1/metrics/segments").json()
    assert sum(segments["customers"]["value_tier"].values()) == 54  # every tenth customer never bought
    assert set(segments["customers"]["lifecycle_stage"]) <= {
        "potential",
        "new",
        "active",
        "at_risk",
        "churned",
    }
    drivers = api_client.get("/api/v1/metrics/drivers").json()
    from surveys.models import Response

    # respondents = NPS answers in the window (the per-survey analysis works on responses)
    nps_answers = Response.objects.unscoped().filter(organization=organization, score_kind="nps").count()
    assert drivers["respondents"] == nps_answers > 60 and drivers["drivers"][0]["n"] > 0
    [survey_analysis] = [a for a in drivers["analyses"] if a["kind"] == "survey"]
    assert survey_analysis["complete_cases"] == nps_answers and survey_analysis["r_squared"] > 0
    money = api_client.get("/api/v1/metrics/monetized-nps").json()
    assert money["included"] + money["maturing"] > 0 and money["transactions_left_out"] == 0
    assert [row["category"] for row in money["table"]] == ["promoter", "passive", "detractor"]
    assert money["revenue_at_risk"]["detractors"] >= 0


@pytest.mark.django_db
def test_clv_fit_and_model(organization, api_client, read_only_api_client, other_api_client):
    assert api_client.get("/api/v1/metrics/clv/model").status_code == 404
    for i in range(40):
        c = customer(organization)
        for k in range(1 + i % 4):
            order(organization, c, timezone.now() - timedelta(days=300 - 20 * k - i), "25.00")
    end = (timezone.now() - timedelta(days=30)).date().isoformat()
    fitted = api_client.post(
        "/api/v1/metrics/clv/fit", {"calibration_end": end, "period": "week"}, format="json"
    )
    assert fitted.status_code == 201, fitted.json()
    body = fitted.json()
    assert body["bgnbd"]["r"] > 0 and body["bgnbd"]["log_likelihood"] < 0
    assert body["summary"]["customers"] == 40 and body["period"] == "week"
    model = api_client.get("/api/v1/metrics/clv/model").json()
    assert model["id"] == body["id"] and model["calibration_end"] == end
    assert other_api_client.get("/api/v1/metrics/clv/model").status_code == 404
    assert (
        read_only_api_client.post(
            "/api/v1/metrics/clv/fit", {"calibration_end": end}, format="json"
        ).status_code
        == 403
    )


@pytest.mark.django_db
def test_clv_fit_bad_input(organization, api_client):
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()  # the clock the API reads
    for payload in (
        {},
        {"calibration_end": "soon"},
        {"calibration_end": "2026-01-01", "period": "year"},
        {"calibration_end": tomorrow},
    ):
        response = api_client.post("/api/v1/metrics/clv/fit", payload, format="json")
        assert response.status_code == 400, payload
    # no purchases before the calibration end
    assert (
        api_client.post(
            "/api/v1/metrics/clv/fit", {"calibration_end": "2020-01-01"}, format="json"
        ).status_code
        == 400
    )
