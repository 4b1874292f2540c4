"""Builder pages and the response list, detail and exports, as a manager uses them."""

from __future__ import annotations

import csv
import io
import json

import pytest
from openpyxl import load_workbook

from cxm.tenancy.roles import Role
from surveys.collection import write
from surveys.models import Question, Response, Survey

pytestmark = pytest.mark.django_db


def test_create_from_template_edit_reorder_preview_activate_duplicate(owner_client, organization):
    r = owner_client.post("/surveys/new/", {"template": "csat"})
    survey = Survey.objects.unscoped().get(organization=organization)
    assert r.status_code == 302 and r["Location"] == f"/surveys/{survey.pk}/"
    page = owner_client.get(f"/surveys/{survey.pk}/")
    assert "How satisfied were you with your experience?" in page.content.decode()
    q1, q2 = survey.questions.order_by("position")
    owner_client.post(f"/surveys/{survey.pk}/questions/{q2.pk}/action/", {"action": "up"})
    assert list(survey.questions.order_by("position").values_list("id", flat=True)) == [q2.id, q1.id]
    zh = owner_client.get(f"/surveys/{survey.pk}/preview/?lang=zh-hans").content.decode()
    assert "您对本次体验的满意程度如何" in zh and "Preview" in zh or "预览" in zh
    owner_client.post(f"/surveys/{survey.pk}/status/", {"action": "activate"})
    survey.refresh_from_db()
    assert survey.status == "active"
    owner_client.post(f"/surveys/{survey.pk}/status/", {"action": "pause"})
    survey.refresh_from_db()
    assert survey.status == "paused"
    owner_client.post(f"/surveys/{survey.pk}/copy/" if False else f"/surveys/{survey.pk}/duplicate/")
    assert Survey.objects.unscoped().filter(organization=organization).count() == 2
    assert Response.objects.unscoped().count() == 0  # preview records nothing


def test_blank_survey_and_question_forms(owner_client, organization):
    r = owner_client.post(
        "/surveys/new/",
        {
            "name": "Store visit",
            "languages": ["en", "zh-hans"],
            "default_language": "en",
            "allowed_origins_text": "https://shop.example.com/\nhttp://localhost:8080",
            "thank_you_en": "Thanks",
            "thank_you_zh": "谢谢",
        },
    )
    survey = Survey.objects.unscoped().get(organization=organization, name="Store visit")
    assert r.status_code == 302
    assert survey.allowed_origins == ["https://shop.example.com", "http://localhost:8080"]
    assert survey.thank_you == {"en": "Thanks", "zh-hans": "谢谢"}
    bad = owner_client.post(
        "/surveys/new/",
        {
            "name": "X",
            "languages": ["en"],
            "default_language": "en",
            "allowed_origins_text": "shop.example.com/path",
        },
    )
    assert bad.status_code == 200 and "is not an origin" in bad.content.decode()
    r = owner_client.post(
        f"/surveys/{survey.pk}/questions/new/",
        {"kind": "rating", "text_en": "Stars?", "text_zh": "几颗星？", "required": "on"},
    )
    assert r.status_code == 302
    rating = Question.objects.unscoped().get(survey=survey)
    r = owner_client.post(
        f"/surveys/{survey.pk}/questions/new/",
        {
            "kind": "single_choice",
            "text_en": "Why?",
            **option_rows([("price", "Price", "价格"), ("staff", "Staff", "员工")]),
            "show_if_question": str(rating.pk),
            "show_if_min": "1",
            "show_if_max": "2",
        },
    )
    assert r.status_code == 302
    choice = Question.objects.unscoped().get(survey=survey, kind="single_choice")
    assert choice.options[0] == {"value": "price", "label": {"en": "Price", "zh-hans": "价格"}}
    assert choice.show_if == {"question": rating.pk, "min": 1, "max": 2}
    r = owner_client.post(
        f"/surveys/{survey.pk}/questions/new/",
        {"kind": "single_choice", "text_en": "Lonely", **option_rows([("one", "", "")])},
    )
    assert r.status_code == 200 and Question.objects.unscoped().filter(survey=survey).count() == 2
    r = owner_client.post(
        f"/surveys/{survey.pk}/questions/{choice.pk}/", {"kind": "text", "text_en": "Tell us"}
    )
    choice.refresh_from_db()
    assert r.status_code == 302 and choice.kind == "text" and choice.show_if == {}
    owner_client.post(f"/surveys/{survey.pk}/questions/{choice.pk}/action/", {"action": "delete"})
    assert Question.objects.unscoped().filter(survey=survey).count() == 1


def option_rows(rows, extra=0):
    """The answer options' formset as the page posts it."""
    data = {"options-TOTAL_FORMS": str(len(rows) + extra), "options-INITIAL_FORMS": "0"}
    for i, (value, en, zh) in enumerate(rows):
        data.update({f"options-{i}-value": value, f"options-{i}-label_en": en, f"options-{i}-label_zh": zh})
    return data


def test_viewer_cannot_edit(client, organization, make_member, nps_survey):
    client.force_login(make_member(organization, Role.VIEWER))
    assert client.get("/surveys/").status_code == 200
    assert client.post("/surveys/new/", {"template": "nps"}).status_code == 403
    assert client.post(f"/surveys/{nps_survey.pk}/status/", {"action": "close"}).status_code == 403
    assert client.post(f"/surveys/{nps_survey.pk}/", {"name": "x"}).status_code == 403
    assert client.get("/surveys/responses/export.csv").status_code == 403


def _responses(nps_survey, questions, touchpoint):
    data = [
        (10, "Great <b>service</b>", "en", "widget", "web-checkout"),
        (8, "", "zh-hans", "link", None),
        (2, '=HYPERLINK("http://x")', "en", "email", None),
    ]
    for i, (score, comment, locale, channel, tp) in enumerate(data):
        answers = {str(questions["score"]): score}
        if comment:
            target = questions["promoter"] if score >= 9 else questions["detractor"]
            answers[str(target)] = comment
        write.response_submit_for_survey(
            survey=nps_survey,
            answers=answers,
            locale=locale,
            channel=channel,
            touchpoint_key=tp,
            idempotency_key=f"k{i}",
        )


def test_response_list_filters_escapes_and_fixed_queries(
    owner_client, nps_survey, questions, touchpoint, django_assert_num_queries
):
    _responses(nps_survey, questions, touchpoint)
    page = owner_client.get("/surveys/responses/").content.decode()
    assert "Great &lt;b&gt;service&lt;/b&gt;" in page and "<b>service" not in page
    assert "3 responses" in page
    cases = {
        "score_band=promoter": 1,
        "score_band=detractor": 1,
        "score_band=passive": 1,
        "has_comment=1": 2,
        "has_comment=0": 1,
        "language=zh-hans": 1,
        "channel=widget": 1,
        f"touchpoint={touchpoint.pk}": 1,
        f"survey={nps_survey.pk}": 3,
        "start=2000-01-01&end=2000-01-02": 0,
    }
    for query, expected in cases.items():
        body = owner_client.get(f"/surveys/responses/?{query}").content.decode()
        assert f"{expected} response" in body, (query, expected)
    with django_assert_num_queries(8):
        owner_client.get("/surveys/responses/")
    for _ in range(20):
        write.response_submit_for_survey(survey=nps_survey, answers={str(questions["score"]): 5})
    with django_assert_num_queries(8):
        owner_client.get("/surveys/responses/")


def test_response_detail_escapes_comment(owner_client, nps_survey, questions, touchpoint):
    _responses(nps_survey, questions, touchpoint)
    response = Response.objects.unscoped().get(score=10)
    html = owner_client.get(f"/surveys/responses/{response.pk}/").content.decode()
    assert "Great &lt;b&gt;service&lt;/b&gt;" in html and "How likely are you to recommend" in html


def test_csv_and_xlsx_exports_stream_filtered_rows(owner_client, nps_survey, questions, touchpoint):
    _responses(nps_survey, questions, touchpoint)
    r = owner_client.get("/surveys/responses/export.csv?has_comment=1")
    assert r.streaming and r["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(r.streaming_content).decode("utf-8-sig"))))
    assert rows[0][:3] == ["id", "submitted_at", "survey"] and len(rows) == 3
    comments = {row[9] for row in rows[1:]}
    assert comments == {"Great <b>service</b>", '\'=HYPERLINK("http://x")'}  # formulas neutralised
    x = owner_client.get("/surveys/responses/export.xlsx")
    assert x.streaming
    book = load_workbook(io.BytesIO(b"".join(x.streaming_content)), read_only=True)
    values = list(book.active.values)
    assert len(values) == 4 and values[0][8] == "score" and sorted(v[8] for v in values[1:]) == [2, 8, 10]
    assert owner_client.get("/surveys/responses/export.pdf").status_code == 404


def test_survey_list_counts(owner_client, nps_survey, questions, touchpoint, django_assert_num_queries):
    _responses(nps_survey, questions, touchpoint)
    with django_assert_num_queries(10):  # + the inbox badge's unread count (cold cache)
        html = owner_client.get("/surveys/").content.decode()
    assert nps_survey.name in html and ">3</a>" in html
    json.dumps({})
