"""Every main page fits a 390 px phone (no sideways scrolling), in English and Chinese, on the demo data."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from cxm.tenancy.models import Organization
from journeys.models import Customer, Journey, Touchpoint
from surveys.models import Question, Response, Survey

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTH = 390


def _pages() -> list[str]:
    organization = Organization.objects.get(slug="demo")
    survey = Survey.objects.unscoped().filter(organization=organization).order_by("id").first()
    question = Question.objects.unscoped().filter(survey=survey).order_by("position").first()
    journey = Journey.objects.unscoped().filter(organization=organization).order_by("id").first()
    assert survey and question and journey
    return [
        "/dashboards/",
        "/dashboards/journey/",
        "/dashboards/retention/",
        "/dashboards/value/",
        "/dashboards/drivers/",
        "/surveys/",
        "/surveys/new/",
        f"/surveys/{survey.pk}/",
        f"/surveys/{survey.pk}/share/",
        f"/surveys/{survey.pk}/questions/new/",
        f"/surveys/{survey.pk}/questions/{question.pk}/",
        "/surveys/responses/",
        f"/surveys/responses/{Response.objects.unscoped().filter(organization=organization).exclude(comment='').first().pk}/",
        "/journeys/",
        f"/journeys/{journey.pk}/",
        f"/journeys/{journey.pk}/paths/",
        f"/journeys/touchpoints/{Touchpoint.objects.unscoped().filter(organization=organization).first().pk}/",
        "/customers/",
        f"/customers/{Customer.objects.unscoped().filter(organization=organization).first().pk}/",
        "/imports/",
        "/settings/",
        "/settings/members/",
        "/settings/api-keys/",
        "/settings/delighted/",
        f"/s/{survey.public_id}",
    ]


WIDEST = """() => {
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (r.right <= window.innerWidth + 1 || !r.width) continue;
    let p = el.parentElement, clipped = false;
    while (p) { const o = getComputedStyle(p).overflowX; if (o !== 'visible') { clipped = true; break; } p = p.parentElement; }
    if (!clipped) out.push(el.tagName.toLowerCase() + '.' + el.className + ' → ' + Math.round(r.right));
  }
  return out.slice(0, 5);
}"""


def test_main_pages_fit_a_390px_phone(browser, live_server):
    call_command("seed_demo", "--size", "small", stdout=StringIO())
    pages = _pages()
    page = browser.new_context(viewport={"width": WIDTH, "height": 844}).new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "demo@example.com")
    page.fill("#id_password", "cxm-demo-2026")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/dashboards/")
    overflowing: dict[str, list[str]] = {}
    for language in ("en", "zh-hans"):
        if language != "en":
            page.select_option("#language-select", language)
            page.wait_for_selector(f"html[lang={language}]")
        for url in pages:
            page.goto(f"{live_server.url}{url}")
            if url.startswith("/dashboards/"):
                page.wait_for_function(
                    "[...document.querySelectorAll('[data-chart]')].every(el => el.hasAttribute('data-rendered'))"
                )
            width = page.evaluate("document.documentElement.scrollWidth")
            assert page.evaluate("window.innerWidth") == WIDTH
            if width > WIDTH:
                overflowing[f"{language} {url} ({width}px)"] = page.evaluate(WIDEST)
    assert overflowing == {}
