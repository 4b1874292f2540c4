"""The question editor's answer options: one row per option (value, English, Chinese), a formset that
works without JavaScript, enhanced by a static script (Chromium)."""

from __future__ import annotations

import re

import pytest

from cxm.tenancy.roles import Role
from surveys import services
from surveys.models import Question

from .test_pages import option_rows

pytestmark = pytest.mark.django_db


@pytest.fixture
def survey(organization):
    return services.survey_create(organization=organization, name="Checkout", languages=["en", "zh-hans"])


def new_question(survey):
    return f"/surveys/{survey.pk}/questions/new/"


def test_options_are_saved_from_rows_in_order(owner_client, survey):
    r = owner_client.post(
        new_question(survey),
        {
            "kind": "multiple_choice",
            "text_en": "What did you like?",
            "text_zh": "您喜欢什么？",
            **option_rows(
                [("price", "Price", "价格"), ("", "", ""), ("staff", "Staff | people", "")], extra=1
            ),
        },
    )
    assert r.status_code == 302
    q = Question.objects.unscoped().get(survey=survey)
    assert q.options == [
        {"value": "price", "label": {"en": "Price", "zh-hans": "价格"}},
        {"value": "staff", "label": {"en": "Staff | people"}},  # a "|" is just a character now
    ]


def test_editing_shows_one_row_per_option_and_removes_a_row(owner_client, survey):
    q = services.question_create(
        survey=survey,
        kind="single_choice",
        text={"en": "Why?"},
        options=[
            {"value": "a", "label": {"en": "A", "zh-hans": "甲"}},
            {"value": "b", "label": {"en": "B"}},
            {"value": "c", "label": {"en": "C"}},
        ],
    )
    url = f"/surveys/{survey.pk}/questions/{q.pk}/"
    html = owner_client.get(url).content.decode()
    assert 'name="options-TOTAL_FORMS" value="5"' in html  # three options and two empty rows
    assert re.search(r'name="options-0-value" value="a"', html) and 'value="甲"' in html
    assert "value | English | Chinese" not in html and "options_text" not in html
    r = owner_client.post(
        url,
        {
            "kind": "single_choice",
            "text_en": "Why?",
            **option_rows([("a", "A", "甲"), ("b", "B", ""), ("c", "C", "")]),
            "options-1-DELETE": "on",
        },
    )
    assert r.status_code == 302
    q.refresh_from_db()
    assert [o["value"] for o in q.options] == ["a", "c"]


def test_add_option_without_javascript_adds_a_row_and_keeps_the_input(owner_client, survey):
    r = owner_client.post(
        new_question(survey),
        {"kind": "single_choice", "text_en": "Why?", "add_option": "1", **option_rows([("a", "A", "甲")])},
    )
    html = r.content.decode()
    assert r.status_code == 200 and Question.objects.unscoped().count() == 0
    assert 'name="options-TOTAL_FORMS" value="2"' in html and 'name="options-1-value"' in html
    assert 'value="甲"' in html and 'value="Why?"' in html


def test_bad_options_are_explained_on_the_page(owner_client, survey):
    dup = owner_client.post(
        new_question(survey),
        {"kind": "single_choice", "text_en": "Why?", **option_rows([("a", "A", ""), ("a", "B", "")])},
    ).content.decode()
    assert "Each option needs its own value: a used twice." in dup
    nameless = owner_client.post(
        new_question(survey),
        {"kind": "single_choice", "text_en": "Why?", **option_rows([("a", "A", ""), ("", "B", "乙")])},
    ).content.decode()
    assert "Give this option a value." in nameless
    one = owner_client.post(
        new_question(survey), {"kind": "single_choice", "text_en": "Why?", **option_rows([("a", "A", "")])}
    ).content.decode()
    assert "Give at least two options with distinct values." in one
    assert Question.objects.unscoped().count() == 0
    zh = owner_client.post(
        new_question(survey),
        {"kind": "single_choice", "text_en": "Why?", **option_rows([("a", "A", ""), ("a", "B", "")])},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    ).content.decode()
    assert "每个选项需要唯一的值：a 重复了。" in zh


def test_options_of_a_non_choice_question_are_not_kept(owner_client, survey):
    owner_client.post(
        new_question(survey),
        {"kind": "text", "text_en": "Tell us", **option_rows([("a", "A", ""), ("b", "B", "")])},
    )
    assert Question.objects.unscoped().get(survey=survey).options == []


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_options_editor_in_chromium(browser, live_server, organization, make_member):
    survey = services.survey_create(organization=organization, name="Checkout", languages=["en", "zh-hans"])
    make_member(organization, Role.OWNER, "editor@acme.test")
    page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "editor@acme.test")
    page.fill("#id_password", "pw-123456!")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/dashboards/")
    page.goto(f"{live_server.url}/surveys/{survey.pk}/questions/new/")
    editor = page.locator("[data-options-editor]")
    page.select_option("select[name=kind]", "text")
    assert not editor.is_visible()  # options only for choice questions
    page.select_option("select[name=kind]", "single_choice")
    assert editor.is_visible()
    page.fill("input[name=text_en]", "Why?")
    page.fill("input[name=text_zh]", "为什么？")
    page.fill("#id_options-0-value", "price")
    page.fill("#id_options-0-label_en", "Price")
    page.fill("#id_options-0-label_zh", "价格")
    page.fill("#id_options-1-value", "staff")
    page.fill("#id_options-1-label_en", "Staff")
    page.click("[data-add-option]")  # a third row appears without a round trip
    assert page.url.endswith("/questions/new/") and page.locator("[data-option-row]").count() == 3
    assert page.evaluate("document.activeElement.id") == "id_options-2-value"
    page.fill("#id_options-2-value", "speed")
    page.fill("#id_options-2-label_en", "Speed")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.click("button.primary")
    page.wait_for_url(f"{live_server.url}/surveys/{survey.pk}/")
    q = Question.objects.unscoped().get(survey=survey)
    assert [o["value"] for o in q.options] == ["price", "staff", "speed"]
    assert q.options[0]["label"] == {"en": "Price", "zh-hans": "价格"}
    assert problems == []
