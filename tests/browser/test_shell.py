"""A real Chromium logs in and sees the dashboard shell, in English and in Simplified Chinese."""

import pytest

from cxm.tenancy.roles import Role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _login(page, live_server, email, password):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email or username").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/dashboards/")


def test_login_and_dashboard_shell_in_both_languages(browser, live_server, organization, make_member):
    make_member(organization, Role.OWNER, "shell@acme.test")
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    _login(page, live_server, "shell@acme.test", "pw-123456!")
    nav = page.get_by_role("navigation", name="Main")
    assert [a.inner_text() for a in nav.get_by_role("link").all()] == [
        "Dashboards",
        "Comments",
        "Surveys",
        "Journeys",
        "Customers",
        "Cases",
        "Settings",
    ]
    page.select_option("#language-select", "zh-hans")
    page.wait_for_selector("html[lang=zh-hans]")
    nav = page.get_by_role("navigation", name="主导航")
    assert nav.get_by_role("link", name="仪表板").is_visible()
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    # Remembered for the user: a new browser context (no cookies) shows Chinese after login.
    fresh = browser.new_context().new_page()
    fresh.goto(f"{live_server.url}/accounts/login/")
    fresh.fill("#id_username", "shell@acme.test")
    fresh.fill("#id_password", "pw-123456!")
    fresh.click("button[type=submit]")
    fresh.wait_for_url(f"{live_server.url}/dashboards/")
    assert fresh.locator("html").get_attribute("lang") == "zh-hans"
    assert errors == []


def test_phone_width_menu(browser, live_server, organization, make_member):
    make_member(organization, Role.OWNER, "phone@acme.test")
    page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    _login(page, live_server, "phone@acme.test", "pw-123456!")
    link = page.get_by_role("link", name="Surveys")
    assert not link.is_visible()
    page.get_by_role("button", name="Menu").click()
    assert link.is_visible()
