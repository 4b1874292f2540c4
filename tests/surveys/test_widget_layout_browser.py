"""The widget's 0-10 scale on phones: one row, or two even rows (0-5 / 6-10), never "10" alone."""

from __future__ import annotations

import pytest

from surveys import services

from .test_widget_browser import other_origin  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROWS = """() => {
  const root = document.querySelector('[data-cxm-widget]').shadowRoot;
  const rows = {};
  for (const b of root.querySelectorAll('.s button')) {
    const top = Math.round(b.getBoundingClientRect().top);
    (rows[top] = rows[top] || []).push(b.textContent);
  }
  const panel = root.querySelector('.p').getBoundingClientRect();
  return {rows: Object.keys(rows).map(Number).sort((a, b) => a - b).map(k => rows[k]),
          right: panel.right, scroll: document.documentElement.scrollWidth};
}"""


@pytest.mark.parametrize(
    ("width", "expected"),
    [
        (390, [[str(s) for s in range(11)]]),
        (375, [[str(s) for s in range(11)]]),
        (360, [[str(s) for s in range(11)]]),
        (320, [[str(s) for s in range(6)], [str(s) for s in range(6, 11)]]),
    ],
)
def test_nps_scale_fits_a_phone(browser, live_server, organization, other_origin, width, expected):  # noqa: F811
    folder, origin = other_origin
    survey = services.survey_create_from_template(organization=organization, template="nps")
    services.survey_update(survey=survey, allowed_origins=[origin])
    services.survey_set_status(survey=survey, action="activate")
    (folder / "index.html").write_text(
        '<!doctype html><html><head><meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>Shop</title></head><body><h1>Thanks</h1>"
        f'<script src="{live_server.url}/static/cxm/embed.js" data-survey="{survey.public_id}" async></script>'
        "</body></html>"
    )
    context = browser.new_context(viewport={"width": width, "height": 740})
    page = context.new_page()
    page.goto(f"{origin}/index.html")
    page.locator("[data-cxm-widget] button", has_text="10").first.wait_for()
    # The slide-in transition: its class is set, then no animation runs in the widget any more.
    page.wait_for_function(
        "(() => { const root = document.querySelector('[data-cxm-widget]').shadowRoot;"
        " return !!root.querySelector('.p.in') && root.getAnimations().length === 0; })()"
    )
    layout = page.evaluate(ROWS)
    assert layout["rows"] == expected
    assert all(len(row) > 1 for row in layout["rows"])
    assert layout["right"] <= width and layout["scroll"] <= width
    context.close()
