from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from cxm.tenancy.roles import Role
from cxm.tenancy.services import api_key_create
from delighted_api.models import ApiConfiguration
from surveys.models import Response
from tests.delighted.conftest import nps_survey

pytestmark = pytest.mark.django_db


def test_settings_page_shows_base_url_and_keys(owner_client, organization, survey):
    api_key_create(organization=organization, name="Zapier")
    page = owner_client.get("/settings/delighted/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "/delighted/v1/</pre>" in html and "Zapier" in html and survey.name in html
    zh = owner_client.get("/settings/delighted/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "基础地址" in zh


def test_settings_page_saves_survey_and_interval(owner_client, organization, survey):
    other = nps_survey(organization, name="Second")
    response = owner_client.post(
        "/settings/delighted/", {"action": "configure", "survey": other.pk, "autopilot_interval_days": 30}
    )
    assert response.status_code == 302
    configuration = ApiConfiguration.objects.for_organization(organization).get()
    assert (configuration.survey_id, configuration.autopilot_interval_days) == (other.pk, 30)
    bad = owner_client.post("/settings/delighted/", {"action": "configure", "autopilot_interval_days": 0})
    assert bad.status_code == 200 and "field-error" in bad.content.decode()


def test_settings_page_imports_a_file(owner_client, organization, survey):
    upload = SimpleUploadedFile(
        "responses.csv",
        b"Response ID,Date,Score,Comment,Email\n1,2025-02-01 12:00:00 UTC,9,Nice,a@example.com\n2,x,9,,b@example.com\n",
    )
    page = owner_client.post(
        "/settings/delighted/", {"action": "import", "survey": survey.pk, "kind": "auto", "file": upload}
    )
    html = page.content.decode()
    assert "Responses: 1 new" in html and "Row 2" in html
    assert Response.objects.for_organization(organization).filter(survey=survey).count() == 1


def test_other_organizations_survey_cannot_be_chosen(owner_client, other_organization, survey):
    theirs = nps_survey(other_organization)
    page = owner_client.post(
        "/settings/delighted/", {"action": "configure", "survey": theirs.pk, "autopilot_interval_days": 30}
    )
    assert page.status_code == 200 and "field-error" in page.content.decode()


def test_viewer_cannot_open_it(client, organization, make_member):
    client.force_login(make_member(organization, Role.VIEWER))
    assert client.get("/settings/delighted/").status_code in (403, 404)
