"""A real Chromium: the journey map shows touchpoint scores; managers reorder stages on the page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from cxm.tenancy.roles import Role

from .factories import JourneyFactory, StageFactory, TouchpointFactory
from .helpers import make_responses

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _login(page, live_server, email):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", "pw-123456!")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/dashboards/")


def test_journey_map_shows_touchpoint_scores(browser, live_server, organization, make_member):
    make_member(organization, Role.ADMIN, "map@acme.test")
    journey = JourneyFactory(organization=organization, name="Retail journey")
    buy = StageFactory(journey=journey, name="Buy", position=0)
    support = StageFactory(journey=journey, name="Support", position=1)
    checkout = TouchpointFactory(stage=buy, name="Web checkout", key="web-checkout")
    chat = TouchpointFactory(stage=support, name="Chat support", key="chat-support", channel="chat")
    make_responses(checkout, "nps", [10, 9, 9, 7, 2])  # NPS 40
    make_responses(chat, "csat", [5, 4, 2, 1, 1, 5])  # 50 % satisfied
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    _login(page, live_server, "map@acme.test")
    page.goto(f"{live_server.url}/journeys/{journey.pk}/")
    card = page.locator('[data-touchpoint="web-checkout"]')
    assert card.locator('[data-metric="nps"] .score-value').inner_text() == "40"
    assert "n=5" in card.inner_text()
    assert "tone-good" in card.get_attribute("class")
    chat_card = page.locator('[data-touchpoint="chat-support"]')
    assert chat_card.locator('[data-metric="csat"] .score-value').inner_text() == "50%"
    assert "tone-poor" in chat_card.get_attribute("class")
    # The channel filter keeps only chat touchpoints.
    page.select_option("#id_channel", "chat")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**channel=chat**")
    assert page.locator('[data-touchpoint="web-checkout"]').count() == 0
    assert page.locator('[data-touchpoint="chat-support"]').is_visible()
    # Reorder: move "Support" before "Buy".
    page.goto(f"{live_server.url}/journeys/{journey.pk}/")
    page.locator(f'[data-stage="{support.pk}"]').get_by_role("button", name="Move stage left").click()
    # The page posts, then shows the map again: wait for the new order rather than for a load event.
    expect(page.locator(".stage-header h2")).to_have_text([re.compile(r"\bSupport$"), re.compile(r"\bBuy$")])
    headings = page.locator(".stage-header h2").all_inner_texts()
    assert [h.split(" ", 1)[1] for h in headings] == ["Support", "Buy"]
    # Drag the web checkout card into the Support stage, below chat support.
    target = page.locator(f'[data-stage="{support.pk}"] .cards')
    box = target.bounding_box()
    with page.expect_event("load"):  # the page saves through the API, then reloads
        page.locator('[data-touchpoint="web-checkout"]').drag_to(
            target, target_position={"x": box["width"] / 2, "y": box["height"] - 3}
        )
    checkout.refresh_from_db()
    assert checkout.stage_id == support.pk
    cards = page.locator(f'[data-stage="{support.pk}"] .tp-card')
    expect(cards).to_have_count(2)
    assert [cards.nth(i).get_attribute("data-touchpoint") for i in range(cards.count())] == [
        "chat-support",
        "web-checkout",
    ]
    # Click through to the touchpoint page.
    page.get_by_role("link", name="Web checkout").click()
    page.wait_for_url(f"**/journeys/touchpoints/{checkout.pk}/")
    assert page.locator('.kpi[data-metric="nps"] .value').inner_text() == "40"
    assert errors == []
