"""Journey charts with nothing to draw say "no data for this period" instead of empty axes (Chromium)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from cxm.tenancy.roles import Role

from .factories import JourneyFactory, StageFactory, TouchpointFactory
from .helpers import make_responses
from .test_browser import _login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_touchpoint_and_paths_charts_without_data(browser, live_server, organization, make_member):
    if not any((Path(d) / "vendor" / "plotly.min.js").exists() for d in settings.STATICFILES_DIRS):
        pytest.skip("static/vendor/plotly.min.js is not in this checkout")
    make_member(organization, Role.ADMIN, "charts@acme.test")
    journey = JourneyFactory(organization=organization, name="Retail journey")
    buy = StageFactory(journey=journey, name="Buy", position=0)
    quiet = TouchpointFactory(stage=buy, name="Store checkout", key="store-checkout")
    busy = TouchpointFactory(stage=buy, name="Web checkout", key="web-checkout")
    make_responses(busy, "nps", [10, 9, 3])
    page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    _login(page, live_server, "charts@acme.test")
    for language, sentence in (("en", "No data for this period."), ("zh-hans", "此时间段内没有数据。")):
        if language != "en":
            page.select_option("#language-select", language)
            page.wait_for_selector(f"html[lang={language}]")
        page.goto(f"{live_server.url}/journeys/touchpoints/{quiet.pk}/")
        chart = page.locator("[data-chart='touchpoint-scores']")
        chart.locator(".chart-empty").wait_for()
        assert chart.inner_text() == sentence and chart.locator(".main-svg").count() == 0
        page.goto(f"{live_server.url}/journeys/touchpoints/{busy.pk}/")
        page.locator("[data-chart='touchpoint-scores'] .main-svg").first.wait_for()
        page.goto(f"{live_server.url}/journeys/{journey.pk}/paths/")
        funnel = page.locator("[data-chart='funnel']")
        funnel.locator(".chart-empty").wait_for()
        assert funnel.inner_text() == sentence
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert errors == []
