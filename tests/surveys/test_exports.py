"""Response exports: every question as its own column, dates as dates in the organization's zone."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from django.utils import translation
from openpyxl import load_workbook

from surveys import exports, services
from surveys.collection import write
from surveys.models import Response
from surveys.selectors import survey_snapshot

pytestmark = pytest.mark.django_db
MOMENT = datetime(2026, 6, 30, 20, 0, tzinfo=UTC)  # 2026-07-01 04:00 in Shanghai


@pytest.fixture
def shanghai(organization):
    organization.time_zone = "Asia/Shanghai"
    organization.save()
    return organization


@pytest.fixture
def product_survey(organization):
    survey = services.survey_create(organization=organization, name="Product")
    rating = services.question_create(survey=survey, kind="rating", text={"en": "Rate the product"})
    colour = services.question_create(
        survey=survey,
        kind="single_choice",
        text={"en": "Colour", "zh-hans": "颜色"},
        options=[
            {"value": "r", "label": {"en": "Red", "zh-hans": "红"}},
            {"value": "b", "label": {"en": "Blue"}},
        ],
    )
    extras = services.question_create(
        survey=survey,
        kind="multiple_choice",
        text={"en": "Extras"},
        options=[{"value": "gift", "label": {"en": "Gift wrap"}}, {"value": "card", "label": {"en": "Card"}}],
    )
    services.survey_set_status(survey=survey, action="activate")
    return survey, {"rating": rating.id, "colour": colour.id, "extras": extras.id}


def _submit(survey, answers, key, **kwargs):
    snapshot = survey_snapshot(public_id=survey.public_id)
    return write.response_submit(
        snapshot=snapshot, answers=answers, idempotency_key=key, now=MOMENT, **kwargs
    )


@pytest.fixture
def answered(shanghai, nps_survey, questions, product_survey):
    survey, q = product_survey
    _submit(nps_survey, {questions["score"]: 3, questions["detractor"]: "=cmd|' /C calc'!A0"}, "n1")
    _submit(nps_survey, {questions["score"]: 10, questions["promoter"]: "Lovely"}, "n2")
    _submit(survey, {q["rating"]: 4, q["colour"]: "r", q["extras"]: ["gift", "card"]}, "p1")
    return q


def _csv(client, query=""):
    r = client.get(f"/surveys/responses/export.csv{query}")
    assert r.status_code == 200 and r.streaming
    return list(csv.reader(io.StringIO(b"".join(r.streaming_content).decode("utf-8-sig"))))


def test_csv_has_a_column_per_question_of_every_survey(owner_client, answered, questions):
    rows = _csv(owner_client)
    header = rows[0]
    assert header[:11] == exports.FIXED_COLUMNS
    assert header[11:] == [
        f"Net Promoter Score: How likely are you to recommend us to a friend or colleague? (q_{questions['score']})",
        f"Net Promoter Score: Sorry to hear that. What went wrong? (q_{questions['detractor']})",
        f"Net Promoter Score: What would make it a 10 for you? (q_{questions['passive']})",
        f"Net Promoter Score: Great! What did you like most? (q_{questions['promoter']})",
        f"Product: Rate the product (q_{answered['rating']})",
        f"Product: Colour (q_{answered['colour']})",
        f"Product: Extras (q_{answered['extras']})",
    ]
    by_key = {row[0]: dict(zip(header, row, strict=True)) for row in rows[1:]}
    by_id = {r.idempotency_key: str(r.id) for r in Response.objects.unscoped().all()}
    detractor, promoter, product = by_key[by_id["n1"]], by_key[by_id["n2"]], by_key[by_id["p1"]]
    assert detractor["submitted_at"] == "2026-07-01T04:00:00+08:00"
    assert detractor[header[11]] == "3"
    assert detractor[header[12]] == "'=cmd|' /C calc'!A0"  # formula guard on answers too
    assert promoter[header[14]] == "Lovely" and promoter[header[12]] == ""
    assert product[header[15]] == "4"
    assert product[header[16]] == "Red"
    assert product[header[17]] == "Gift wrap; Card"
    assert product[header[11]] == ""


def test_one_survey_headers_need_no_survey_name(owner_client, answered, nps_survey, questions):
    rows = _csv(owner_client, f"?survey={nps_survey.pk}")
    assert (
        rows[0][11]
        == f"How likely are you to recommend us to a friend or colleague? (q_{questions['score']})"
    )
    assert len(rows[0]) == 15 and len(rows) == 3


def test_choice_labels_follow_the_language(owner_client, answered):
    owner_client.cookies["django_language"] = "zh-hans"
    with translation.override("en"):  # restores this thread's language after the request
        rows = _csv(owner_client, "?language=")
    header = rows[0]
    colour = next(i for i, h in enumerate(header) if f"q_{answered['colour']}" in h)
    assert header[colour] == f"Product: 颜色 (q_{answered['colour']})"
    assert "红" in [row[colour] for row in rows[1:]]


def test_xlsx_dates_are_dates_in_the_organization_zone(owner_client, answered, questions):
    r = owner_client.get("/surveys/responses/export.xlsx")
    assert r.status_code == 200
    book = load_workbook(io.BytesIO(b"".join(r.streaming_content)))
    sheet = book.active
    header = [c.value for c in sheet[1]]
    assert header[1] == "submitted_at (Asia/Shanghai)"
    assert header[11].endswith(f"(q_{questions['score']})")
    for row in sheet.iter_rows(min_row=2):
        cell = row[1]
        assert isinstance(cell.value, datetime) and cell.is_date
        # Excel keeps a wall-clock time without a zone: the time in Shanghai, naive.
        assert cell.value == datetime(2026, 7, 1, 4, 0)  # noqa: DTZ001
        assert cell.number_format == "yyyy-mm-dd hh:mm:ss"
    scores = sorted(row[11].value for row in sheet.iter_rows(min_row=2) if row[11].value is not None)
    assert scores == [3, 10] and all(isinstance(s, int) for s in scores)
    extras = [row[17].value for row in sheet.iter_rows(min_row=2) if row[17].value]
    assert extras == ["Gift wrap; Card"]


def test_export_reads_in_chunks_with_a_fixed_number_of_queries_per_chunk(
    owner_client, shanghai, nps_survey, questions, monkeypatch, django_assert_num_queries
):
    monkeypatch.setattr(exports, "CHUNK", 3)
    for i in range(7):
        _submit(nps_survey, {questions["score"]: i, questions["detractor"]: f"c{i}"}, f"k{i}")
    # Session, user, language, membership, questions, the session's save (3), then rows + answers per
    # chunk of 3 (7 rows: 3 chunks), never a query per row; and the export's audit event (the chain
    # head created if missing, locked and read, the event inserted, the head advanced: 5). The proof
    # of the sealed responses is only made when asked for (`?proof=1`).
    with django_assert_num_queries(8 + 5 + 2 * 3):
        rows = _csv(owner_client)
    assert len(rows) == 8
    assert sorted(int(row[11]) for row in rows[1:]) == list(range(7))
    assert sorted(row[12] for row in rows[1:]) == [f"c{i}" for i in range(7)]
