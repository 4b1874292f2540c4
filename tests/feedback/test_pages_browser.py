"""A real Chromium: the Text dashboard and the comment explorer in English and Chinese, at desktop and
phone width; a manager corrects a comment and sees the change. Screenshots go to /tmp/textpages-*."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from cxm.tenancy.roles import Role
from feedback import services
from metrics import services as metric_services
from tests.journeys.factories import CustomerFactory, TouchpointFactory

from .helpers import Comments, record

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEXTS = [
    (2, "物流很慢，包装也坏了"),
    (10, "delivery was fast, great service"),
    (3, "the price is too expensive"),
    (9, "客服态度很好，退款很快"),
    (1, "东西质量太差了，很失望"),
    (8, "the app is easy to use but checkout failed twice"),
    (10, "店员很热情，环境也不错"),
    (4, "waited 40 minutes on the phone, terrible customer service"),
]


def _plotly_available() -> bool:
    return any((Path(d) / "vendor" / "plotly.min.js").exists() for d in settings.STATICFILES_DIRS)


@pytest.fixture
def text_data(organization, settings):
    settings.FEEDBACK_ANALYSE_ON_SIGNAL = False
    touchpoint = TouchpointFactory(stage__journey__organization=organization, name="Home delivery")
    comments = Comments(organization, touchpoint=touchpoint)
    customer = CustomerFactory(organization=organization)
    responses = []
    for day, (score, text) in enumerate(TEXTS * 3):
        response = comments.add(score, text, at=timezone.now() - timedelta(days=day * 3))
        responses.append(response)
    responses[0].customer = customer
    responses[0].save(update_fields=["customer"])
    record(organization, "rev-1", "客服态度很好，退款很快，物流也快", channel="app_store", source="App Store")
    services.text_pending_analyse(organization_id=organization.pk)
    metric_services.dashboards_recompute(organization=organization)
    return {"touchpoint": touchpoint, "response": responses[0], "customer": customer}


def test_text_dashboard_and_explorer_in_both_languages_and_a_correction(
    browser, live_server, organization, make_member, text_data
):
    if not _plotly_available():
        pytest.skip("static/vendor/plotly.min.js is not in this checkout")
    make_member(organization, Role.ADMIN, "text@acme.test")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "text@acme.test")
    page.fill("#id_password", "pw-123456!")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/dashboards/")
    touchpoint = text_data["touchpoint"]
    others = {
        "journey": f"/journeys/{touchpoint.stage.journey_id}/",
        "touchpoint": f"/journeys/touchpoints/{touchpoint.pk}/",
        "response": f"/surveys/responses/{text_data['response'].pk}/",
        "customer": f"/customers/{text_data['customer'].pk}/",
        "model": "/text/model/",
    }
    for language, words in (("en", "Words in Chinese comments"), ("zh-hans", "中文评论中的词语")):
        if language != "en":
            page.select_option("#language-select", language)
            page.wait_for_selector(f"html[lang={language}]")
        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(f"{live_server.url}/dashboards/text/")
        page.wait_for_function("document.querySelectorAll('[data-chart][data-rendered]').length === 3")
        assert page.get_by_role("heading", name=words).is_visible()
        assert page.locator("#table-themes").is_visible()
        page.screenshot(path=f"/tmp/textpages-dashboard-{language}-desktop.png", full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.reload()
        page.wait_for_function("document.querySelectorAll('[data-chart][data-rendered]').length === 3")
        page.screenshot(path=f"/tmp/textpages-dashboard-{language}-phone.png", full_page=True)

        # the explorer: a Chinese word inside a sentence, highlighted
        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(f"{live_server.url}/text/comments/?q=包装")
        assert page.locator("mark", has_text="包装").first.is_visible()
        assert page.locator("[data-count]").get_attribute("data-count") == "3"
        page.screenshot(path=f"/tmp/textpages-explorer-{language}-desktop.png", full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(f"{live_server.url}/text/comments/")
        page.screenshot(path=f"/tmp/textpages-explorer-{language}-phone.png", full_page=False)
        for name, url in others.items():
            for width, label in ((1280, "desktop"), (390, "phone")):
                page.set_viewport_size({"width": width, "height": 900})
                page.goto(f"{live_server.url}{url}")
                page.screenshot(path=f"/tmp/textpages-{name}-{language}-{label}.png", full_page=True)

    # a manager corrects the review's sentiment and sees it
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/text/comments/?source=app_store")
    item = page.locator("[data-comment]").first
    assert item.locator("[data-sentiment]").first.get_attribute("data-sentiment") == "positive"
    item.locator("summary").click()
    item.locator("select[name=sentiment]").select_option("negative")
    item.get_by_role("button").click()
    page.wait_for_selector(".message-success")
    item = page.locator("[data-comment]").first
    assert item.locator("[data-sentiment]").first.get_attribute("data-sentiment") == "negative"
    page.screenshot(path="/tmp/textpages-corrected-zh-hans-desktop.png", full_page=True)
    assert not [p for p in problems if "Content Security Policy" in p or "Error" in p], problems
