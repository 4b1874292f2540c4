"""Survey pages name channels and languages in the reader's language; date inputs carry ISO dates."""

from __future__ import annotations

import re

import pytest

from tests.journeys.factories import CustomerFactory
from tests.surveys.factories import ResponseFactory

pytestmark = pytest.mark.django_db

ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}


@pytest.fixture
def answered(organization, nps_survey, touchpoint):
    return ResponseFactory(
        survey=nps_survey,
        touchpoint=touchpoint,
        customer=CustomerFactory(organization=organization, external_id="C1", email="a@b.cn"),
        channel="widget",
        locale="zh-hans",
        score_kind="nps",
        score=9,
    )


def _text(html):
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_response_pages_name_channel_and_language_in_chinese(owner_client, answered, nps_survey):
    listing = _text(owner_client.get("/surveys/responses/", **ZH).content.decode())
    assert "网页小部件" in listing and "简体中文" in listing
    assert " zh-hans " not in listing and " widget " not in listing
    detail = _text(owner_client.get(f"/surveys/responses/{answered.pk}/", **ZH).content.decode())
    assert "网页小部件" in detail and "简体中文" in detail and " zh-hans " not in detail
    surveys = _text(owner_client.get("/surveys/", **ZH).content.decode())
    assert "英语, 简体中文" in surveys
    edit = owner_client.get(f"/surveys/{nps_survey.pk}/", **ZH).content.decode()
    assert '<span class="badge">简体中文</span> 您有多大可能' in edit
    assert '<span class="badge">zh-hans</span>' not in edit and '<span class="badge">en</span>' not in edit


def test_touchpoint_page_names_its_channel_in_chinese(owner_client, touchpoint):
    html = owner_client.get(f"/journeys/touchpoints/{touchpoint.pk}/", **ZH).content.decode()
    assert '<span class="badge">网站</span>' in html


@pytest.mark.parametrize(
    "url",
    ["/surveys/responses/?start=2026-01-05&end=2026-02-07", "/customers/?seen_after=2026-01-05"],
)
def test_date_inputs_keep_iso_values_in_chinese(owner_client, url, nps_survey):
    html = owner_client.get(url, **ZH).content.decode()
    assert 'lang="zh-hans"' in html
    values = re.findall(r'<input type="date"[^>]*value="([^"]*)"', html)
    assert values and all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", v) for v in values), values
    assert "2026-01-05" in values


def test_journey_paths_default_dates_are_iso_in_chinese(owner_client, organization):
    from journeys.models import Journey

    journey = Journey.objects.create(organization=organization, name="Retail")
    html = owner_client.get(f"/journeys/{journey.pk}/paths/", **ZH).content.decode()
    values = re.findall(r'<input type="date"[^>]*value="([^"]*)"', html)
    assert len(values) == 2 and all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", v) for v in values), values
