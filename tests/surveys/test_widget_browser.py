"""The embed widget on another origin, and the Chinese link survey by keyboard only (Chromium)."""

from __future__ import annotations

import gzip
import http.server
import threading
from pathlib import Path

import pytest
from django.conf import settings

from surveys import services
from surveys.collection import write
from surveys.models import Response

WIDGET = Path(settings.BASE_DIR) / "static" / "cxm" / "embed.js"

# Counts the page's fetches and their body reads. When every one has settled, the widget's handlers
# chained on them have run too (they are microtasks, done before the next poll): it has decided
# whether to show itself. A condition to wait on instead of a pause after which nothing is certain.
TRACK_FETCHES = """
(() => {
  let started = 0, settled = 0;
  const track = (promise) => { started++; promise.then(() => settled++, () => settled++); return promise; };
  const fetch = window.fetch;
  window.fetch = function () { return track(fetch.apply(this, arguments)); };
  const json = Response.prototype.json;
  Response.prototype.json = function () { return track(json.apply(this, arguments)); };
  window.__fetchesSettled = (atLeast) => started >= atLeast && started === settled;
})();
"""


# Keeps the text of the widget's thank-you ([role=status]) in window.__thanks when it appears.
THANKS_OBSERVER = """
() => {
  window.__thanks = null;
  const root = document.querySelector('[data-cxm-widget]').shadowRoot;
  new MutationObserver(() => {
    const status = root.querySelector('[role=status]');
    if (status && window.__thanks === null) window.__thanks = status.textContent;
  }).observe(root, { subtree: true, childList: true });
}
"""


def _wait_for_fetches(page, at_least: int) -> None:
    page.wait_for_function(f"window.__fetchesSettled({at_least})", polling=50)


def test_widget_is_small_and_defines_one_global():
    source = WIDGET.read_bytes()
    assert len(gzip.compress(source, 9)) <= 10 * 1024
    text = source.decode()
    assert "w.cxm = {" in text and "attachShadow" in text and "import " not in text


@pytest.fixture
def other_origin(tmp_path):
    """A plain static site on another port: another origin than the live server."""
    handler = lambda *a, **kw: http.server.SimpleHTTPRequestHandler(*a, directory=str(tmp_path), **kw)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield tmp_path, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.django_db(transaction=True)
def test_widget_on_another_origin_records_score_then_comment(
    browser, live_server, organization, other_origin
):
    folder, origin = other_origin
    survey = services.survey_create_from_template(organization=organization, template="nps")
    services.survey_update(survey=survey, allowed_origins=[origin])
    services.survey_set_status(survey=survey, action="activate")
    (folder / "index.html").write_text(
        "<!doctype html><html><head><title>Shop</title></head><body><h1>Thanks for your order</h1>"
        f'<script src="{live_server.url}/static/cxm/embed.js" data-survey="{survey.public_id}" async></script>'
        "</body></html>"
    )
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{origin}/index.html")
    page.locator("[data-cxm-widget] button", has_text="3").first.wait_for()
    assert page.evaluate("typeof window.cxm.survey") == "function"
    page.get_by_role("button", name="3", exact=True).click()
    # The score is stored at once, before any comment (the widget's outbox empties when the server has it).
    page.wait_for_function("localStorage.getItem('cxm_pending') === '{}'")
    response = Response.objects.unscoped().filter(survey=survey).first()
    assert response is not None and response.score == 3 and response.channel == "widget"
    page.locator("[data-cxm-widget] textarea").fill("送货太慢 the parcel was late")
    # The thank-you shows at once and the widget closes itself 3 s later, maybe before the comment's
    # post returns on a busy machine: note the thank-you when it appears, then wait for the post.
    page.evaluate(THANKS_OBSERVER)
    page.locator("[data-cxm-widget] button.go").click()
    page.wait_for_function("window.__thanks !== null")
    assert page.evaluate("window.__thanks") == "Thank you for your feedback!"
    page.wait_for_function("localStorage.getItem('cxm_pending') === '{}'")
    response = Response.objects.unscoped().get(survey=survey)
    assert (response.score, response.comment) == (3, "送货太慢 the parcel was late")
    assert response.page_url == f"{origin}/index.html" and Response.objects.unscoped().count() == 1
    assert errors == []
    page.close()


@pytest.mark.django_db(transaction=True)
def test_widget_refused_origin_never_throws_into_the_page(browser, live_server, organization, other_origin):
    folder, origin = other_origin
    survey = services.survey_create_from_template(organization=organization, template="nps")
    services.survey_set_status(survey=survey, action="activate")  # no allowed origins
    (folder / "index.html").write_text(
        f'<!doctype html><html><body><p id="ok">host</p><script src="{live_server.url}/static/cxm/embed.js" '
        f'data-survey="{survey.public_id}"></script></body></html>'
    )
    page = browser.new_page()
    page.add_init_script(TRACK_FETCHES)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{origin}/index.html")
    _wait_for_fetches(page, 1)  # the refused configuration request, and what the widget made of it
    assert page.locator("[data-cxm-widget]").count() == 0 and errors == []
    assert page.evaluate("window.cxm.survey({survey: 'missing', force: true}) === undefined")
    page.close()


@pytest.mark.django_db(transaction=True)
def test_link_survey_in_chinese_by_keyboard_only(browser, live_server, organization):
    survey = services.survey_create_from_template(organization=organization, template="nps")
    services.survey_set_status(survey=survey, action="activate")
    page = browser.new_page(locale="zh-CN")
    page.goto(f"{live_server.url}/s/{survey.public_id}?lang=zh-hans")
    assert "您有多大可能向朋友或同事推荐我们" in page.content()
    first = survey.questions.order_by("position").first()
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.name") == f"q{first.pk}":
            break
    else:
        pytest.fail("the score row is not reachable by Tab")
    page.keyboard.press("Space")  # 0
    for _ in range(8):
        page.keyboard.press("ArrowRight")  # … 8
    assert page.evaluate("document.activeElement.value") == "8"
    page.keyboard.press("Tab")  # into the passive follow-up, now shown
    assert page.evaluate("document.activeElement.tagName") == "TEXTAREA"
    page.keyboard.type("希望配送更快")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_url("**/thanks**")
    assert "感谢您的反馈" in page.content()
    response = Response.objects.unscoped().get(survey=survey)
    assert (response.score, response.comment, response.locale, response.channel) == (
        8,
        "希望配送更快",
        "zh-hans",
        "link",
    )
    page.close()


@pytest.mark.django_db(transaction=True)
def test_widget_retries_a_failed_post_from_local_storage(browser, live_server, organization, other_origin):
    folder, origin = other_origin
    survey = services.survey_create_from_template(organization=organization, template="nps")
    services.survey_update(survey=survey, allowed_origins=[origin])
    services.survey_set_status(survey=survey, action="activate")
    first = survey.questions.order_by("position").first()
    (folder / "blank.html").write_text("<!doctype html><html><body>blank</body></html>")
    (folder / "index.html").write_text(
        f'<!doctype html><html><body><script src="{live_server.url}/static/cxm/embed.js" '
        f'data-survey="{survey.public_id}" data-auto="false"></script></body></html>'
    )
    page = browser.new_page()
    page.goto(f"{origin}/blank.html")
    # An answer whose post failed on an earlier visit (offline, server down) waits in localStorage.
    item = {
        "survey": survey.public_id,
        "body": {"answers": {str(first.pk): 10}, "idempotency_key": "retry-1", "channel": "widget"},
    }
    page.evaluate("item => localStorage.setItem('cxm_pending', JSON.stringify({'retry-1': item}))", item)
    page.goto(f"{origin}/index.html")
    page.wait_for_function("localStorage.getItem('cxm_pending') === '{}'")
    response = Response.objects.unscoped().get(survey=survey)
    assert (response.idempotency_key, response.score) == ("retry-1", 10)
    page.close()


@pytest.mark.django_db(transaction=True)
def test_widget_respects_fatigue_for_an_identified_customer_unless_forced(
    browser, live_server, organization, other_origin
):
    from journeys.models import Customer

    folder, origin = other_origin
    survey = services.survey_create_from_template(organization=organization, template="csat")
    services.survey_update(survey=survey, allowed_origins=[origin])
    services.survey_set_status(survey=survey, action="activate")
    customer = Customer.objects.create(organization=organization, external_id="C42", email="c42@example.com")
    first = survey.questions.order_by("position").first()
    write.response_submit_for_survey(survey=survey, answers={str(first.pk): 4}, customer=customer)
    (folder / "index.html").write_text(
        f'<!doctype html><html><body><script src="{live_server.url}/static/cxm/embed.js" '
        f'data-survey="{survey.public_id}" data-auto="false"></script></body></html>'
    )
    from cxm.tenancy.identity import customer_signature

    signature = customer_signature(secret=organization.widget_secret, external_id="C42")
    page = browser.new_page()
    page.add_init_script(TRACK_FETCHES)
    page.goto(f"{origin}/index.html")
    page.evaluate(
        f"window.cxm.survey({{customer: {{id: 'C42', signature: '{signature}'}}, touchpoint: null}})"
    )
    _wait_for_fetches(page, 1)  # the configuration arrived and the widget decided
    assert page.locator("[data-cxm-widget]").count() == 0  # answered recently: not shown
    page.evaluate(
        f"window.cxm.survey({{customer: {{id: 'C42', signature: '{signature}'}}, force: true, lang: 'zh-hans'}})"
    )
    page.locator("[data-cxm-widget] button", has_text="5").first.wait_for()
    assert "您对本次体验的满意程度如何" in page.locator("[data-cxm-widget] .q").first.inner_text()
    page.locator("[data-cxm-widget] button", has_text="5").first.click()
    # The signed identity travels with the answer: it is attached to the customer. Wait for the
    # server's answer (the widget's outbox empties), not only the row: the request's after-commit
    # work must end before the test's database is flushed.
    page.wait_for_function("localStorage.getItem('cxm_pending') === '{}'")
    assert Response.objects.unscoped().get(survey=survey, score=5).customer == customer
    page.close()
