"""A real Chromium renders every dashboard's charts from the snapshot, in English and Chinese,
under the Content-Security-Policy (no CSP violations, no script errors)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from cxm.tenancy.roles import Role
from metrics import services

from .data import seed_dataset

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAGES = {
    "/dashboards/": 5,
    "/dashboards/journey/": 3,
    "/dashboards/retention/": 2,
    "/dashboards/value/": 4,
    "/dashboards/drivers/": 1,
}


def _plotly_available() -> bool:
    return any((Path(d) / "vendor" / "plotly.min.js").exists() for d in settings.STATICFILES_DIRS)


def test_every_dashboard_draws_its_charts_in_both_languages(browser, live_server, organization, make_member):
    if not _plotly_available():
        pytest.skip("static/vendor/plotly.min.js is not in this checkout")
    seed_dataset(organization, customers=60)
    services.dashboards_recompute(organization=organization)
    make_member(organization, Role.OWNER, "charts@acme.test")
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "charts@acme.test")
    page.fill("#id_password", "pw-123456!")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/dashboards/")
    for language, tab in (("en", "Customer value"), ("zh-hans", "客户价值")):
        if language != "en":
            page.select_option("#language-select", language)
            page.wait_for_selector(f"html[lang={language}]")
        for url, charts in PAGES.items():
            page.goto(f"{live_server.url}{url}")
            page.wait_for_function(
                f"document.querySelectorAll('[data-chart][data-rendered]').length === {charts}"
            )
            assert page.locator(".js-plotly-plot .main-svg").count() >= charts
            assert page.get_by_role("link", name=tab).is_visible()
        # the PNG download button of Plotly's modebar works under the CSP
        page.goto(f"{live_server.url}/dashboards/")
        page.wait_for_selector("[data-chart='distribution'][data-rendered]")
        chart = page.locator("[data-chart='distribution']")
        # Bars coloured by the NPS categories of surveys.scoring: 0–6 detractors, 7–8 passives, 9–10 promoters.
        colours = chart.evaluate("el => el.data[0].marker.color")
        assert [colours[6], colours[7], colours[8], colours[9]] == [
            "#d64545",
            "#f0b429",
            "#f0b429",
            "#12a150",
        ]
        chart.hover()
        with page.expect_download() as download:
            chart.locator(".modebar-btn[data-title*='PNG' i]").first.click()
        assert download.value.suggested_filename.endswith(".png")
    assert problems == []
