"""Key drivers (METRICS.md): Johnson's relative weights against an independent computation from the
paper's formulas, per-survey complete cases on 0–100 scales, the touchpoint analysis per customer."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from django.utils import timezone

from metrics.computations.aggregates import responses_for
from metrics.computations.drivers import key_drivers, relative_weights
from metrics.filters import MetricFilters
from surveys.models import Response
from tests.journeys.factories import TouchpointFactory
from tests.surveys.factories import AnswerFactory, QuestionFactory

from .data import customer, response, seed_dataset, survey

UTC = ZoneInfo("UTC")


def johnson_from_the_paper(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """Johnson (2000) on the data: Z = √n U V' (the orthogonal variables closest to the standardized
    X = U S V', each of unit variance), β = regression of y on Z,
    Λ = regression of X on Z, raw weight_j = Σ_k Λ_jk² β_k²; R² from an ordinary least squares fit."""
    Xs = (X - X.mean(0)) / X.std(0)
    ys = (y - y.mean()) / y.std()
    U, _s, Vt = np.linalg.svd(Xs, full_matrices=False)
    Z = np.sqrt(len(y)) * U @ Vt
    beta = np.linalg.lstsq(Z, ys, rcond=None)[0]
    Lambda = np.linalg.lstsq(Z, Xs, rcond=None)[0]  # Z Λ = X
    raw = (Lambda.T**2) @ (beta**2)
    design = np.column_stack([np.ones(len(y)), X])
    fitted = design @ np.linalg.lstsq(design, y, rcond=None)[0]
    r2 = 1 - ((y - fitted) ** 2).sum() / ((y - y.mean()) ** 2).sum()
    return raw, float(r2)


def test_orthogonal_drivers_weigh_their_squared_correlation():
    raw, r2 = relative_weights(np.eye(2), np.array([0.6, 0.3]))
    assert raw == pytest.approx([0.36, 0.09]) and r2 == pytest.approx(0.45)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_relative_weights_match_an_independent_computation(seed):
    rng = np.random.default_rng(seed)
    n, k = 200, 4
    common = rng.normal(size=(n, 1))
    X = common * rng.uniform(0.2, 1.0, size=k) + rng.normal(size=(n, k))  # correlated drivers
    y = X @ np.array([0.8, 0.3, 0.0, -0.4]) + rng.normal(size=n)
    corr = np.corrcoef(np.column_stack([y, X]), rowvar=False)
    raw, r2 = relative_weights(corr[1:, 1:], corr[1:, 0])
    expected_raw, expected_r2 = johnson_from_the_paper(X, y)
    assert raw == pytest.approx(expected_raw, abs=1e-9)
    assert r2 == pytest.approx(expected_r2, abs=1e-9) and raw.sum() == pytest.approx(expected_r2, abs=1e-9)


def _nps_survey(org, name, drivers):
    srv = survey(org, name)
    q_nps = QuestionFactory(survey=srv, position=0, kind="nps", text={"en": "NPS"})
    questions = [
        QuestionFactory(survey=srv, position=i + 1, kind=kind, scale_max=scale, text={"en": label})
        for i, (label, kind, scale) in enumerate(drivers)
    ]
    return srv, q_nps, questions


def _answer(org, srv, q_nps, questions, nps, values, at, cust=None):
    resp = response(org, srv, "nps", nps, at, cust)
    AnswerFactory(response=resp, question=q_nps, number=nps)
    for question, value in zip(questions, values, strict=True):
        if value is not None:
            AnswerFactory(response=resp, question=question, number=value)
    return resp


def _drivers(org):
    filters = MetricFilters()
    start, end = filters.window(org)
    return key_drivers(
        organization=org,
        responses=responses_for(organization=org, filters=filters, using="default"),
        using="default",
        start=start,
        end=end,
    )


@pytest.mark.django_db
def test_survey_analysis_on_complete_cases_rescaled(organization):
    rng = np.random.default_rng(4)
    srv, q_nps, (q_price, q_care) = _nps_survey(
        organization, "Relationship", [("Price", "rating", None), ("Care", "csat", 7)]
    )
    at = timezone.now() - timedelta(days=3)
    rows = []
    for i in range(25):
        price, care = int(rng.integers(1, 6)), int(rng.integers(1, 8))
        nps = int(np.clip(round(care * 1.3 + rng.normal(0, 1.5)), 0, 10))
        # three responses skip a driver: not complete cases
        values = [None if i in (0, 1) else price, None if i == 2 else care]
        _answer(organization, srv, q_nps, [q_price, q_care], nps, values, at)
        if i > 2:
            rows.append((nps, price, care))
    result = _drivers(organization)
    [analysis] = result["analyses"]
    assert analysis["label"] == "Relationship" and analysis["respondents"] == 25
    assert analysis["complete_cases"] == 22 and analysis["weights_available"]
    data = np.array(rows, dtype=float)
    scaled = np.column_stack([data[:, 0] * 10, 25 * (data[:, 1] - 1), 100 * (data[:, 2] - 1) / 6])
    expected_raw, expected_r2 = johnson_from_the_paper(scaled[:, 1:], scaled[:, 0])
    assert analysis["r_squared"] == pytest.approx(expected_r2, abs=1e-9)
    by = {d["label"]: d for d in analysis["drivers"]}
    assert by["Price"]["relative_weight"] == pytest.approx(expected_raw[0], abs=1e-9)
    assert by["Care"]["relative_weight"] == pytest.approx(expected_raw[1], abs=1e-9)
    assert by["Care"]["performance_pct"] == pytest.approx(scaled[:, 2].mean())
    assert by["Price"]["performance_pct"] == pytest.approx(scaled[:, 1].mean())
    assert by["Care"]["correlation"] == pytest.approx(np.corrcoef(scaled[:, 0], scaled[:, 2])[0, 1])
    assert by["Care"]["n"] == 22 and by["Care"]["scale"] == [1, 7]
    assert sum(d["relative_weight"] for d in analysis["drivers"]) == pytest.approx(analysis["r_squared"])


@pytest.mark.django_db
def test_too_few_complete_cases_show_correlations_only(organization):
    srv, q_nps, questions = _nps_survey(organization, "Small", [("Speed", "csat", 3), ("Ease", "ces", None)])
    at = timezone.now() - timedelta(days=1)
    for nps, speed, ease in [(9, 3, 6), (4, 1, 2), (7, 2, 5), (10, 3, 7), (2, 1, 1)]:
        _answer(organization, srv, q_nps, questions, nps, [speed, ease], at)
    [analysis] = _drivers(organization)["analyses"]
    # 2 drivers need 20 complete cases; 5 are there
    assert analysis["complete_cases"] == 5 and not analysis["weights_available"]
    assert analysis["more_answers_needed"] == 15 and analysis["r_squared"] is None
    by = {d["label"]: d for d in analysis["drivers"]}
    assert by["Speed"]["relative_weight"] is None and by["Speed"]["correlation"] == pytest.approx(
        np.corrcoef([90, 40, 70, 100, 20], [100, 0, 50, 100, 0])[0, 1]
    )
    assert by["Speed"]["performance_pct"] == pytest.approx(50.0)  # 1–3: 100, 0, 50, 100, 0


@pytest.mark.django_db
def test_touchpoint_analysis_per_customer_latest_answers(organization):
    nps_srv, q_nps, _ = _nps_survey(organization, "Relationship", [])
    tp = TouchpointFactory(organization=organization, stage=None, key="desk", name="Desk", channel="store")
    desk = survey(organization, "Desk CSAT", tp)
    QuestionFactory(survey=desk, position=0, kind="csat")
    now = timezone.now()
    a, b, c, d = (customer(organization) for _ in range(4))
    for cust, nps in [(a, 9), (b, 3), (c, 6), (d, 10)]:
        response(organization, nps_srv, "nps", nps, now - timedelta(days=2), cust)
    response(organization, nps_srv, "nps", 8, now - timedelta(days=1), a)  # a's latest NPS: 8
    for cust, score, days in [(a, 1, 5), (a, 5, 3), (b, 2, 3), (c, 3, 3)]:  # a's latest CSAT: 5
        response(organization, desk, "csat", score, now - timedelta(days=days), cust, touchpoint=tp)
    result = _drivers(organization)
    [analysis] = [x for x in result["analyses"] if x["kind"] == "touchpoint"]
    assert analysis["complete_cases"] == 3  # d has no touchpoint answer
    assert analysis["more_answers_needed"] == 7
    [driver] = analysis["drivers"]
    assert driver["label"] == "Desk (CSAT)" and driver["n"] == 3
    assert driver["performance_pct"] == pytest.approx((100 + 25 + 50) / 3)
    assert driver["correlation"] == pytest.approx(np.corrcoef([80, 30, 60], [100, 25, 50])[0, 1])
    assert Response.objects.unscoped().filter(organization=organization).count() == 9


@pytest.mark.django_db
def test_touchpoint_drivers_beyond_the_cap_keep_the_most_answered(organization, monkeypatch):
    """More touchpoint drivers than MAX_DRIVERS: the most answered are kept and complete cases are
    counted over the kept ones only (a customer missing a dropped driver still counts)."""
    monkeypatch.setattr("metrics.computations.drivers.MAX_DRIVERS", 1)
    nps_srv, _q, _ = _nps_survey(organization, "Relationship", [])
    desk_tp = TouchpointFactory(
        organization=organization, stage=None, key="desk", name="Desk", channel="store"
    )
    web_tp = TouchpointFactory(organization=organization, stage=None, key="web", name="Web", channel="web")
    desk, web = survey(organization, "Desk CSAT", desk_tp), survey(organization, "Web CES", web_tp)
    now = timezone.now()
    customers = [customer(organization) for _ in range(4)]
    for cust, nps in zip(customers, [9, 3, 6, 10], strict=True):
        response(organization, nps_srv, "nps", nps, now - timedelta(days=2), cust)
    for cust, score in zip(customers[:3], [5, 2, 3], strict=True):  # Desk: three customers
        response(organization, desk, "csat", score, now - timedelta(days=1), cust, touchpoint=desk_tp)
    response(
        organization, web, "ces", 7, now - timedelta(days=1), customers[0], touchpoint=web_tp
    )  # Web: one
    [analysis] = [a for a in _drivers(organization)["analyses"] if a["kind"] == "touchpoint"]
    assert [d["label"] for d in analysis["drivers"]] == ["Desk (CSAT)"]
    assert analysis["complete_cases"] == 3 and analysis["respondents"] == 4
    assert analysis["drivers"][0]["correlation"] == pytest.approx(
        np.corrcoef([90, 30, 60], [100, 25, 50])[0, 1]
    )


@pytest.mark.django_db
def test_drivers_on_seeded_survey_answers(organization):
    seed_dataset(organization, customers=80)
    result = _drivers(organization)
    survey_analysis = next(a for a in result["analyses"] if a["kind"] == "survey")
    by = {d["label"]: d for d in survey_analysis["drivers"]}
    # in the data, NPS follows quality; price is noise
    assert by["Quality"]["relative_weight"] > by["Price"]["relative_weight"]
    assert by["Quality"]["correlation"] > 0.5
    assert by["Quality"]["n"] == survey_analysis["complete_cases"] == survey_analysis["respondents"]
    assert 0 <= by["Price"]["performance_pct"] <= 100
    assert sum(d["relative_weight"] for d in survey_analysis["drivers"]) == pytest.approx(
        survey_analysis["r_squared"]
    )
    touchpoints = next(a for a in result["analyses"] if a["kind"] == "touchpoint")
    assert {d["label"] for d in touchpoints["drivers"]} == {"Home delivery (CSAT)", "Phone support (CES)"}


@pytest.mark.django_db
def test_drivers_without_responses(organization):
    now = timezone.now()
    result = key_drivers(
        organization=organization,
        responses=responses_for(organization=organization, filters=MetricFilters(), using="default"),
        using="default",
        start=now - timedelta(days=1),
        end=now,
    )
    assert result == {"analyses": [], "drivers": [], "respondents": 0, "r_squared": None}
