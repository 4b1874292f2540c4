"""`make run PORT=9000`: share links, QR codes, the widget snippet and email links use that port,
unless SITE_URL is set."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import segno
from django.core import mail

from surveys import services
from surveys.emails import survey_url

ROOT = Path(__file__).resolve().parents[2]
SITE = "http://127.0.0.1:9000"


def _site_url(**env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in {"SITE_URL", "PORT", "DJANGO_SETTINGS_MODULE"}}
    done = subprocess.run(
        [sys.executable, "-c", "from cxm.settings import local; print(local.SITE_URL)"],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def test_make_run_passes_its_port_to_the_server():
    done = subprocess.run(
        ["make", "-n", "run", "PORT=9000"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "PORT=9000 .venv/bin/python manage.py runserver 127.0.0.1:9000" in done.stdout
    assert "PORT=9000 .venv/bin/python manage.py seed_demo" in done.stdout


def test_site_url_follows_the_port_unless_set():
    assert _site_url() == "http://127.0.0.1:8000"
    assert _site_url(PORT="9000") == SITE
    assert _site_url(PORT="9000", SITE_URL="https://cx.example.com/") == "https://cx.example.com"


@pytest.fixture
def site(settings):
    settings.SITE_URL = SITE
    return SITE


@pytest.fixture
def survey(organization):
    survey = services.survey_create_from_template(organization=organization, template="nps")
    services.survey_set_status(survey=survey, action="activate")
    return survey


@pytest.mark.django_db
def test_share_page_snippet_and_qr_codes_use_the_site_url(site, survey, owner_client):
    html = owner_client.get(f"/surveys/{survey.pk}/share/").content.decode()
    assert f"{SITE}/s/{survey.public_id}" in html
    assert f"{SITE}/static/cxm/embed.js" in html  # the widget snippet
    assert "127.0.0.1:8000" not in html
    svg = owner_client.get(f"/surveys/{survey.pk}/qr.svg?channel=qr").content
    expected = io.BytesIO()
    segno.make(f"{SITE}/s/{survey.public_id}?channel=qr", error="m").save(
        expected, kind="svg", scale=8, border=2, title=survey.name
    )
    assert svg == expected.getvalue()


@pytest.mark.django_db
def test_invitation_and_member_emails_link_to_the_site_url(
    site, survey, organization, owner_client, django_capture_on_commit_callbacks
):
    from journeys.models import Customer

    customer = Customer.objects.create(organization=organization, external_id="C1", email="li@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        services.invitations_create(survey=survey, customers=[customer], language="en")
    links = re.findall(r'href="([^"]+)"', mail.outbox[-1].alternatives[0][0])
    assert links and all(link.startswith(SITE + "/") for link in links), links
    assert survey_url(public_id=survey.public_id).startswith(SITE + "/s/")
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post("/settings/members/", {"email": "new@acme.test", "role": "analyst"})
    assert f"{SITE}/accounts/invite/" in mail.outbox[-1].body


@pytest.mark.django_db
def test_demo_surveys_may_be_embedded_by_the_site_itself(site, organization):
    from io import StringIO

    from journeys import demo as journeys_demo
    from surveys import demo as surveys_demo
    from surveys.models import Survey

    journeys_demo.seed(organization=organization, stdout=StringIO(), size="small")
    surveys_demo.seed(organization=organization, stdout=StringIO(), size="small")
    origins = {tuple(s.allowed_origins) for s in Survey.objects.unscoped().filter(organization=organization)}
    assert origins == {(SITE, "http://localhost:9000")}
