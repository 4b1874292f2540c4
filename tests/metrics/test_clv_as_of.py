"""CLV fitted and scored as of a past date: data after that date changes nothing."""

from __future__ import annotations

import csv
import json
import random
from datetime import date, datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.utils import timezone

from metrics.models import ClvModel
from metrics.services import clv_score

from .data import customer, order

SH = ZoneInfo("Asia/Shanghai")
AS_OF = date(2026, 6, 30)
pytestmark = pytest.mark.django_db


def _history(org, rng):
    buyers = []
    for i in range(40):
        c = customer(org)
        buyers.append(c)
        first = datetime(2026, 1, 1, 9, tzinfo=SH) + timedelta(days=rng.randint(0, 120))
        for k in range(1 + i % 5):
            order(
                org,
                c,
                first + timedelta(days=17 * k, hours=rng.choice([0, 14])),
                str(rng.choice([10, 25, 40])),
            )
    # the last hour of the as-of local day is included
    order(org, buyers[0], datetime(2026, 6, 30, 23, 30, tzinfo=SH), "12.00")
    return buyers


def _later(org, rng, buyers):
    order(org, buyers[1], datetime(2026, 7, 1, 0, 10, tzinfo=SH), "500.00")  # first minutes after the day
    for c in buyers[:20]:
        order(org, c, datetime(2026, 8, 1, tzinfo=SH) + timedelta(days=rng.randint(0, 60)), "99.00")
    late = customer(org)
    order(org, late, datetime(2026, 9, 1, tzinfo=SH), "70.00")


def test_api_fit_as_of_ignores_later_data(organization, api_client):
    organization.time_zone = "Asia/Shanghai"
    organization.save()
    rng = random.Random(5)
    buyers = _history(organization, rng)
    first = api_client.post(
        "/api/v1/metrics/clv/fit", {"as_of": AS_OF.isoformat(), "period": "week"}, format="json"
    )
    assert first.status_code == 201, first.json()
    before = first.json()
    assert before["calibration_end"] == AS_OF.isoformat() and before["scores"]["customers"] == 40
    model = ClvModel.objects.unscoped().get(pk=before["id"])
    scores_before = clv_score(organization=organization, model=model, as_of=AS_OF).set_index("customer_id")
    _later(organization, rng, buyers)
    second = api_client.post(
        "/api/v1/metrics/clv/fit", {"as_of": AS_OF.isoformat(), "period": "week"}, format="json"
    )
    after = second.json()
    for family in ("bgnbd", "gamma_gamma"):
        for name, value in before[family].items():
            assert after[family][name] == pytest.approx(value, rel=1e-9), (family, name)
    assert after["summary"] == before["summary"]
    assert after["scores"] == before["scores"]
    scores_after = clv_score(organization=organization, model=model, as_of=AS_OF).set_index("customer_id")
    assert scores_after.equals(scores_before)
    # a later date does see the later data
    later = clv_score(organization=organization, model=model, as_of=date(2026, 10, 31))
    assert len(later) == 41


def test_api_fit_as_of_bad_input(api_client):
    for payload in (
        {"as_of": "2026-01-01", "calibration_end": "2026-01-01"},
        {"as_of": "yesterday"},
        {"as_of": (timezone.localdate() + timedelta(days=3)).isoformat()},
    ):
        response = api_client.post("/api/v1/metrics/clv/fit", payload, format="json")
        assert response.status_code == 400, payload
    # no purchases by that day: the error names the field
    response = api_client.post("/api/v1/metrics/clv/fit", {"as_of": "2020-01-01"}, format="json")
    assert response.status_code == 400 and "as_of" in str(response.json())


def test_command_as_of_prints_the_model_and_scores(tmp_path):
    from tests.factories import OrganizationFactory

    org = OrganizationFactory(slug="asof", time_zone="Asia/Shanghai")
    rng = random.Random(9)
    buyers = _history(org, rng)
    out = StringIO()
    path = tmp_path / "scores.csv"
    call_command(
        "fit_clv", "--org", "asof", "--as-of", AS_OF.isoformat(), "--scores-csv", str(path), stdout=out
    )
    before = json.loads(out.getvalue())
    rows_before = list(csv.DictReader(path.open()))
    assert before["scores"]["customers"] == 40 == len(rows_before)
    _later(org, rng, buyers)
    out = StringIO()
    call_command(
        "fit_clv", "--org", "asof", "--as-of", AS_OF.isoformat(), "--scores-csv", str(path), stdout=out
    )
    after = json.loads(out.getvalue())
    assert after["bgnbd"]["r"] == pytest.approx(before["bgnbd"]["r"], rel=1e-9)
    assert after["scores"] == before["scores"]
    assert list(csv.DictReader(path.open())) == rows_before
