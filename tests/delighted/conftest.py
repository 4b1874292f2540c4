from __future__ import annotations

import base64
from typing import Any

import pytest
from rest_framework.test import APIClient

from cxm.tenancy.models import Organization
from cxm.tenancy.services import api_key_create
from surveys.models import QuestionKind, Survey
from tests.surveys.factories import QuestionFactory, SurveyFactory


def nps_survey(organization: Organization, **kwargs: Any) -> Survey:
    """An active survey asking NPS, then an open question (the comment)."""
    survey = SurveyFactory(organization=organization, **kwargs)
    QuestionFactory(survey=survey, kind=QuestionKind.NPS, position=0)
    QuestionFactory(survey=survey, kind=QuestionKind.TEXT, position=1)
    return survey


def basic(key: str, *, colon: bool = True) -> str:
    raw = f"{key}:" if colon else key
    return "Basic " + base64.b64encode(raw.encode()).decode()


@pytest.fixture
def survey(organization: Organization) -> Survey:
    return nps_survey(organization)


@pytest.fixture
def delighted_client(api_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=basic(api_key))
    return client


@pytest.fixture
def other_delighted_client(other_organization: Organization) -> APIClient:
    _key, plaintext = api_key_create(organization=other_organization, name="other")
    nps_survey(other_organization)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=basic(plaintext))
    return client
