"""A real Chromium: the comment explorer's segment filter, chosen in the filters form, in English and
Chinese, at desktop and phone width. Screenshots go to /tmp/text-shots/."""

from __future__ import annotations

from pathlib import Path

import pytest

from cxm.tenancy.roles import Role

from .test_segments import segmented  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/text-shots")


@pytest.mark.usefixtures("segmented")
def test_the_explorer_filters_by_segment_in_both_languages(browser, live_server, organization, make_member):
    SHOTS.mkdir(parents=True, exist_ok=True)
    make_member(organization, Role.ADMIN, "segments@acme.test")
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    # Straight to the explorer: the dashboards would recompute the customers' values from their orders
    # (these constructed customers have none).
    page.goto(f"{live_server.url}/accounts/login/?next=/text/comments/")
    page.fill("#id_username", "segments@acme.test")
    page.fill("#id_password", "pw-123456!")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/text/comments/")
    for language, label in (("en", "Segment"), ("zh-hans", "客户分群")):
        if language != "en":
            page.select_option("#language-select", language)
            page.wait_for_selector(f"html[lang={language}]")
        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(f"{live_server.url}/text/comments/")
        assert page.locator("[data-count]").get_attribute("data-count") == "5"
        assert page.locator("label[for=id_segment]").inner_text() == label
        page.select_option("#id_segment", "value_tier:high")
        page.locator(".explorer-filters button[type=submit]").click()
        page.wait_for_url("**segment=value_tier%3Ahigh**")
        assert page.locator("[data-count]").get_attribute("data-count") == "3"
        assert page.locator("#id_segment").input_value() == "value_tier:high"
        page.screenshot(path=str(SHOTS / f"explorer-segment-{language}-desktop.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(f"{live_server.url}/text/comments/?segment=rfm_segment%3Aat_risk")
        assert page.locator("[data-count]").get_attribute("data-count") == "1"
        page.screenshot(path=str(SHOTS / f"explorer-segment-{language}-phone.png"), full_page=True)
