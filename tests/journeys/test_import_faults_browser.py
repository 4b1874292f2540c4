"""A real Chromium uploads a CSV while the broker is down: the page answers, and the import's page
says it is queued until the task queue is back (English, Simplified Chinese, a phone's width)."""

from __future__ import annotations

import os

import pytest

from cxm.tenancy.roles import Role
from journeys.models import ImportJob, ImportStatus
from tests.workers import send_to_a_dead_broker

from .test_browser import _login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = os.environ.get("CXM_SCREENSHOTS", "")  # a directory to keep screenshots in, when set


@pytest.mark.parametrize(
    ("language", "width", "expected"),
    [
        ("en", 1280, "The task queue cannot be reached right now"),
        ("zh-hans", 1280, "任务队列暂时无法连接"),
        ("en", 390, "The task queue cannot be reached right now"),
    ],
)
def test_an_upload_with_the_broker_down_says_the_import_is_queued(
    browser,
    live_server,
    organization,
    make_member,
    monkeypatch,
    tmp_path,
    settings,
    language,
    width,
    expected,
):
    settings.VAR_DIR = tmp_path
    send_to_a_dead_broker(monkeypatch)
    make_member(organization, Role.ADMIN, "upload@acme.test")
    context = browser.new_context(
        viewport={"width": width, "height": 900}, extra_http_headers={"Accept-Language": language}
    )
    page = context.new_page()
    _login(page, live_server, "upload@acme.test")
    page.goto(f"{live_server.url}/imports/")
    csv_file = tmp_path / "people.csv"
    csv_file.write_text("external_id,name\nC1,Ann\n")
    page.set_input_files("input[type=file]", str(csv_file))
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url("**/imports/*/")
    job = ImportJob.objects.unscoped().get()
    assert (job.status, job.dispatched_at) == (ImportStatus.QUEUED, None)
    message = page.locator('[data-field="message"]')
    message.wait_for()
    assert expected in message.inner_text()
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/import-queued-{language}-{width}.png", full_page=True)
    context.close()
