from __future__ import annotations

from typing import Any

import pytest

from journeys.models import Customer, Touchpoint
from surveys import services
from surveys.models import Survey
from surveys.selectors import snapshot_invalidate


@pytest.fixture(autouse=True)
def _fresh_snapshots() -> Any:
    snapshot_invalidate()
    yield
    snapshot_invalidate()


@pytest.fixture
def touchpoint(organization: Any) -> Touchpoint:
    return Touchpoint.objects.create(
        organization=organization, name="Web checkout", key="web-checkout", channel="website"
    )


@pytest.fixture
def nps_survey(organization: Any) -> Survey:
    survey = services.survey_create_from_template(organization=organization, template="nps")
    services.survey_update(survey=survey, allowed_origins=["https://shop.example.com"])
    services.survey_set_status(survey=survey, action="activate")
    return survey


@pytest.fixture
def questions(nps_survey: Survey) -> dict[str, int]:
    qs = list(nps_survey.questions.order_by("position"))
    return {"score": qs[0].id, "detractor": qs[1].id, "passive": qs[2].id, "promoter": qs[3].id}


@pytest.fixture
def customer(organization: Any) -> Customer:
    return Customer.objects.create(
        organization=organization, external_id="C00001", email="li@example.com", name="Li Wei"
    )
