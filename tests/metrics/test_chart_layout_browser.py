"""Charts say "no data for this period" instead of drawing empty axes, and make room for their labels
(automargins, long category names wrapped), in Chromium."""

from __future__ import annotations

import pytest

from cxm.tenancy.roles import Role
from journeys.models import Touchpoint
from metrics import services

from .data import seed_dataset
from .test_browser import _plotly_available

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _login(browser, live_server, email, width=1280):
    page = browser.new_context(viewport={"width": width, "height": 900}).new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", "pw-123456!")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/dashboards/")
    return page


def _rendered(page, live_server, url):
    page.goto(f"{live_server.url}{url}")
    page.wait_for_function(
        "[...document.querySelectorAll('[data-chart]')].every(el => el.hasAttribute('data-rendered'))"
    )


def test_a_window_without_data_says_so_instead_of_empty_axes(browser, live_server, organization, make_member):
    if not _plotly_available():
        pytest.skip("static/vendor/plotly.min.js is not in this checkout")
    seed_dataset(organization, customers=30)
    services.dashboards_recompute(organization=organization)
    make_member(organization, Role.OWNER, "empty@acme.test")
    page = _login(browser, live_server, "empty@acme.test")
    _rendered(page, live_server, "/dashboards/?start=2001-01-01&end=2001-01-31")
    charts = page.locator("[data-chart]")
    assert charts.count() >= 4
    assert page.locator("[data-chart][data-empty]").count() == charts.count()
    assert page.locator("[data-chart] .main-svg").count() == 0
    assert page.locator(".chart-empty").first.inner_text() == "No data for this period."
    page.select_option("#language-select", "zh-hans")
    page.wait_for_selector("html[lang=zh-hans]")
    _rendered(page, live_server, "/dashboards/?start=2001-01-01&end=2001-01-31")
    assert page.locator(".chart-empty").first.inner_text() == "此时间段内没有数据。"
    # the default window has data: real charts, not the sentence
    _rendered(page, live_server, "/dashboards/")
    assert page.locator("[data-chart][data-empty]").count() == 0


def test_axes_make_room_and_long_names_wrap(browser, live_server, organization, make_member):
    if not _plotly_available():
        pytest.skip("static/vendor/plotly.min.js is not in this checkout")
    seed_dataset(organization, customers=40)
    Touchpoint.objects.unscoped().filter(organization=organization, key="web-checkout").update(
        name="Web checkout with express delivery option"
    )
    services.dashboards_recompute(organization=organization)
    make_member(organization, Role.OWNER, "axes@acme.test")
    for width, orientation in ((1280, None), (390, "h")):
        page = _login(browser, live_server, "axes@acme.test", width=width)
        _rendered(page, live_server, "/dashboards/journey/")
        chart = page.locator("[data-chart='touchpoints']")
        layout = chart.evaluate("el => ({x: el.layout.xaxis.automargin, y: el.layout.yaxis.automargin})")
        assert layout == {"x": True, "y": True}
        # on a phone the bars turn horizontal: one row per touchpoint instead of crowded columns
        assert chart.evaluate("el => el.data[0].orientation || null") == orientation
        names = chart.evaluate("el => el.data[0].orientation === 'h' ? el.data[0].y : el.data[0].x")
        long = next(n for n in names if n.startswith("Web checkout"))
        assert long.replace("<br>", " ") == "Web checkout with express delivery option"
        assert long.count("<br>") >= 2 and all(len(line) <= 14 for line in long.split("<br>"))
        for name in ("touchpoints", "stages"):
            overlaps = page.locator(f"[data-chart='{name}']").evaluate(OVERLAPS)
            assert overlaps == 0, (width, name)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        # bars over periods stay upright: time runs left to right on every width
        for url, name in (("/dashboards/", "volume"), ("/dashboards/value/", "lifecycle")):
            _rendered(page, live_server, url)
            chart = page.locator(f"[data-chart='{name}']")
            assert chart.get_attribute("data-empty") is None
            assert chart.evaluate("el => el.data[0].orientation || null") is None, (width, name)
        page.context.close()


OVERLAPS = """el => {
  let n = 0;
  for (const axis of ['.xtick text', '.ytick text']) {
    const boxes = [...el.querySelectorAll(axis)].map(t => t.getBoundingClientRect());
    for (let i = 1; i < boxes.length; i++) {
      const a = boxes[i - 1], b = boxes[i];
      if (a.right > b.left + 1 && a.left < b.right - 1 && a.bottom > b.top + 1 && a.top < b.bottom - 1) n++;
    }
  }
  return n;
}"""
