"""The single sign-on, audit log and login pages in a browser: English and Chinese, desktop and a
390 px phone, no sideways scrolling. Set CXM_SCREENSHOT_DIR to keep the screenshots."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cxm.sso.services import sso_provider_save
from cxm.tenancy.roles import Role
from journeys import services as journeys_services
from surveys import services as surveys_services

from .conftest import CLIENT_ID, CLIENT_SECRET

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.xdist_group("oidc-provider"),
]


def test_sso_audit_and_login_pages(browser, live_server, organization, make_member, oidc_provider, tmp_path):
    make_member(organization, Role.OWNER, email="owner@acme.test")
    sso_provider_save(
        organization=organization,
        enabled=True,
        issuer=oidc_provider.issuer,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        default_role=Role.ANALYST,
        allowed_domains=["acme.test", "acme.cn"],
    )
    survey = surveys_services.survey_create(organization=organization, name="结账体验 Checkout")
    surveys_services.survey_update(survey=survey, name="Checkout NPS")
    journeys_services.journey_create(organization=organization, name="Online purchase")
    shots = Path(os.environ.get("CXM_SCREENSHOT_DIR") or tmp_path)
    for width, label in ((1280, "desktop"), (390, "phone")):
        context = browser.new_context(viewport={"width": width, "height": 900})
        page = context.new_page()
        page.goto(f"{live_server.url}/accounts/login/")
        page.screenshot(path=str(shots / f"ssoaudit-login-{label}-en.png"), full_page=True)
        assert page.locator("text=Continue with single sign-on").count() == 1
        page.fill("#id_username", "owner@acme.test")
        page.fill("#id_password", "pw-123456!")
        page.click("form[method=post] button[type=submit]")
        page.wait_for_url(f"{live_server.url}/dashboards/")
        for language in ("en", "zh-hans"):
            if page.get_attribute("html", "lang") != language:
                page.select_option("#language-select", language)
                page.wait_for_selector(f"html[lang={language}]")
            for name, url in (("sso", "/settings/sso/"), ("audit", "/settings/audit/")):
                page.goto(f"{live_server.url}{url}")
                page.screenshot(path=str(shots / f"ssoaudit-{name}-{label}-{language}.png"), full_page=True)
                assert page.evaluate("document.documentElement.scrollWidth") <= width, (name, label, language)
            heading = page.locator("h1").inner_text()
            assert heading == ("Audit log" if language == "en" else "审计日志")
            assert page.locator("code", has_text="survey.update").count() == 1
        context.close()
