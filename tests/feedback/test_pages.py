"""The text pages: the Text dashboard, the comment explorer (search, highlight, filters, export,
corrections), the model card, and sentiment and themes on the journey and response pages."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from cxm.tenancy.roles import Role
from feedback import services
from feedback.models import TextAnalysis
from metrics import services as metric_services
from tests.journeys.factories import TouchpointFactory

from .helpers import Comments, record

pytestmark = pytest.mark.django_db


@pytest.fixture
def comments(organization, settings):
    settings.FEEDBACK_ANALYSE_ON_SIGNAL = False
    touchpoint = TouchpointFactory(stage__journey__organization=organization, name="Home delivery")
    made = Comments(organization, touchpoint=touchpoint)
    made.first = made.add(2, "物流很慢，包装也坏了")
    made.add(10, "delivery was fast, great service")
    made.add(3, "the price is too expensive")
    record(organization, "rev-1", "客服态度很好，退款很快", channel="app_store", source="App Store")
    services.text_pending_analyse(organization_id=organization.pk)
    return made


def _served(organization):
    return TextAnalysis.objects.unscoped().filter(organization=organization)


def test_explorer_shows_each_comment_with_its_sentiment_and_themes(owner_client, comments):
    page = owner_client.get(reverse("feedback:explorer"))
    html = page.content.decode()
    assert page.status_code == 200
    assert "物流很慢，包装也坏了" in html and "delivery was fast, great service" in html
    assert 'data-count="4"' in html
    assert 'data-theme="delivery"' in html
    assert 'data-sentiment="negative"' in html and 'data-sentiment="positive"' in html


def test_chinese_search_finds_a_word_inside_a_sentence_and_highlights_it(owner_client, comments):
    page = owner_client.get(reverse("feedback:explorer"), {"q": "包装"})
    html = page.content.decode()
    assert 'data-count="1"' in html
    assert "物流很慢，<mark>包装</mark>也坏了" in html
    assert "delivery was fast" not in html


def test_matches_are_highlighted_in_escaped_text(owner_client, organization, comments):
    record(organization, "rev-x", "<b>price</b> was bad & the price rose")
    services.text_pending_analyse(organization_id=organization.pk)
    html = owner_client.get(reverse("feedback:explorer"), {"q": "price"}).content.decode()
    assert "&lt;b&gt;<mark>price</mark>&lt;/b&gt; was bad &amp; the <mark>price</mark> rose" in html
    assert "<b>price</b>" not in html


def test_filters_narrow_the_comments(owner_client, comments):
    assert (
        'data-count="1"'
        in owner_client.get(reverse("feedback:explorer"), {"source": "app_store"}).content.decode()
    )
    assert (
        'data-count="3"'
        in owner_client.get(reverse("feedback:explorer"), {"source": "survey"}).content.decode()
    )
    html = owner_client.get(reverse("feedback:explorer"), {"score_band": "detractor"}).content.decode()
    assert 'data-count="2"' in html and "delivery was fast" not in html
    html = owner_client.get(reverse("feedback:explorer"), {"sentiment": "positive"}).content.decode()
    assert "物流很慢" not in html


def test_bad_filters_are_form_errors_not_500(owner_client, comments):
    page = owner_client.get(reverse("feedback:explorer"), {"start": "2026-13-01", "touchpoint": "x"})
    assert page.status_code == 200
    assert page.content.decode().count('class="form-errors"') == 2


def test_csv_export_contains_the_filtered_rows(owner_client, comments):
    response = owner_client.get(reverse("feedback:explorer-export", args=["csv"]), {"q": "包装"})
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0][0] == "occurred_at" and len(rows) == 2
    assert rows[1][-1] == "物流很慢，包装也坏了"
    assert rows[1][5] == "negative"


def test_xlsx_export_contains_the_filtered_rows(owner_client, comments):
    response = owner_client.get(reverse("feedback:explorer-export", args=["xlsx"]), {"source": "survey"})
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    texts = sorted(row[-1] for row in sheet.iter_rows(min_row=2, values_only=True))
    assert texts == sorted(
        ["物流很慢，包装也坏了", "delivery was fast, great service", "the price is too expensive"]
    )


def test_a_manager_corrects_a_comment_and_sees_the_change(owner_client, organization, comments):
    analysis = _served(organization).get(record__external_id="rev-1")
    response = owner_client.post(
        reverse("feedback:correct"),
        {
            "feedback": "rev-1",
            "sentiment": "negative",
            "themes": ["price"],
            "themes_before": ",".join(sorted({m.theme for m in analysis.mentions.all()})),
            "next": reverse("feedback:explorer") + "?source=app_store",
        },
        follow=True,
    )
    html = response.content.decode()
    assert 'data-sentiment="negative"' in html and 'data-theme="price"' in html
    analysis = _served(organization).get(record__external_id="rev-1")
    assert analysis.sentiment == "negative" and analysis.corrected


def test_a_viewer_cannot_correct(client, organization, make_member, comments):
    client.force_login(make_member(organization, Role.VIEWER))
    html = client.get(reverse("feedback:explorer")).content.decode()
    assert "Save correction" not in html
    response = client.post(reverse("feedback:correct"), {"feedback": "rev-1", "sentiment": "negative"})
    assert response.status_code == 403
    assert _served(organization).get(record__external_id="rev-1").sentiment == "positive"
    assert client.get(reverse("feedback:explorer-export", args=["csv"])).status_code == 403


def test_every_route_is_404_for_another_organizations_comment(
    client, other_organization, make_member, comments
):
    client.force_login(make_member(other_organization, Role.OWNER))
    html = client.get(reverse("feedback:explorer")).content.decode()
    assert 'data-count="0"' in html and "物流" not in html
    response = client.post(reverse("feedback:correct"), {"feedback": "rev-1", "sentiment": "negative"})
    assert response.status_code == 404
    answer_id = _served(comments.organization).exclude(answer=None).first().answer_id
    assert (
        client.post(reverse("feedback:correct"), {"answer": answer_id, "sentiment": "negative"}).status_code
        == 404
    )
    body = b"".join(client.get(reverse("feedback:explorer-export", args=["csv"])).streaming_content)
    assert "物流".encode() not in body
    assert "rev-1" not in client.get(reverse("feedback:model-card")).content.decode()


def test_explorer_runs_a_fixed_number_of_queries(
    owner_client, organization, comments, django_assert_num_queries
):
    owner_client.get(reverse("feedback:explorer"))  # sessions, caches
    with CaptureQueriesContext(connection) as captured:
        owner_client.get(reverse("feedback:explorer"))
    few = len(captured)
    with CaptureQueriesContext(connection) as captured:
        owner_client.get(reverse("feedback:explorer"), {"q": "delivery"})
    searched = len(captured)
    for i in range(30):
        record(organization, f"more-{i}", f"delivery was slow again {i}")
    services.text_pending_analyse(organization_id=organization.pk)
    with django_assert_num_queries(few):
        owner_client.get(reverse("feedback:explorer"))
    with django_assert_num_queries(searched):
        owner_client.get(reverse("feedback:explorer"), {"q": "delivery", "page": "2"})


def test_promote_an_emerging_term_to_a_theme(owner_client, organization, comments):
    response = owner_client.post(reverse("feedback:promote"), {"term": "包装", "next": "/text/comments/"})
    assert response.status_code == 302 and response["Location"] == "/text/comments/"
    taxonomy = services.text_settings_get(organization=organization).taxonomy
    assert any(t["key"] == "包装" and "包装" in t["phrases_zh"] for t in taxonomy["themes"])


def test_model_card_shows_own_accuracy_and_status(owner_client, organization, comments):
    analysis = _served(organization).get(record__external_id="rev-1")
    services.correction_create(organization=organization, analysis=analysis, sentiment="negative")
    html = owner_client.get(reverse("feedback:model-card")).content.decode()
    assert 'data-own="then">0%' in html
    assert "4 comments analysed" in html


def test_text_dashboard_shows_themes_and_words(owner_client, organization, comments):
    metric_services.dashboards_recompute(organization=organization)
    html = owner_client.get(reverse("dashboard-text")).content.decode()
    assert 'data-kpi="comments">4<' in html
    assert "Delivery" in html
    assert 'data-words="zh"' in html


def test_journey_touchpoint_response_and_customer_pages_show_what_the_comment_says(
    owner_client, organization, comments
):
    touchpoint = comments.touchpoint
    html = owner_client.get(f"/journeys/{touchpoint.stage.journey_id}/").content.decode()
    assert "data-top-themes" in html and 'data-theme="delivery"' in html
    html = owner_client.get(f"/journeys/touchpoints/{touchpoint.pk}/").content.decode()
    assert "data-top-themes" in html and 'data-sentiment="negative"' in html
    html = owner_client.get(reverse("response-detail-page", args=[comments.first.pk])).content.decode()
    assert (
        "data-text-result" in html and 'data-sentiment="negative"' in html and 'data-theme="delivery"' in html
    )
