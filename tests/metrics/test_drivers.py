"""Key drivers: Johnson's relative weights by hand, and on survey data."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from metrics.computations.aggregates import responses_for
from metrics.computations.drivers import key_drivers, relative_weights
from metrics.filters import MetricFilters

from .data import seed_dataset


def test_orthogonal_drivers_weigh_their_squared_correlation():
    raw, r2 = relative_weights(np.eye(2), np.array([0.6, 0.3]))
    assert raw == pytest.approx([0.36, 0.09]) and r2 == pytest.approx(0.45)


def test_weights_sum_to_the_regression_r_squared():
    rxx = np.array([[1.0, 0.5], [0.5, 1.0]])
    rxy = np.array([0.6, 0.4])
    raw, r2 = relative_weights(rxx, rxy)
    assert r2 == pytest.approx(rxy @ np.linalg.solve(rxx, rxy))
    assert raw[0] > raw[1]


@pytest.mark.django_db
def test_drivers_on_survey_answers(organization):
    seed_dataset(organization, customers=80)
    filters = MetricFilters()
    start, end = filters.window(organization)
    result = key_drivers(
        organization=organization,
        responses=responses_for(organization=organization, filters=filters, using="default"),
        using="default",
        start=start,
        end=end,
    )
    by = {d["label"]: d for d in result["drivers"]}
    # in the data, NPS follows quality and loyalty; price is noise
    assert by["Quality"]["importance"] > by["Price"]["importance"]
    assert by["Quality"]["correlation"] > 0.5
    assert by["Quality"]["n"] == result["respondents"] == 80
    assert 1 <= by["Price"]["performance"] <= 5
    assert by["Home delivery (CSAT)"]["source"] == "touchpoint"
    assert sum(d["importance"] for d in result["drivers"] if d["importance"] is not None) == pytest.approx(
        100
    )


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
    assert result == {"drivers": [], "respondents": 0, "r_squared": None}
