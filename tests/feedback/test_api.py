"""The feedback and text API: ingest, list, themes, search, taxonomy, corrections; bad input; other
organizations get 404 or nothing."""

from __future__ import annotations

import pytest

from feedback import services
from feedback.models import FeedbackRecord, TextAnalysis
from journeys.models import Touchpoint
from metrics.filters import MetricFilters
from metrics.selectors import metric_summary

from .helpers import Comments, record

pytestmark = pytest.mark.django_db


def _records():
    return [
        {
            "id": "t-1",
            "text": "物流很快但是东西坏了",
            "channel": "app_store",
            "source": "App Store",
            "occurred_at": "2026-11-20T10:00:00Z",
            "customer_external_id": "C1",
            "touchpoint": "web",
            "rating": 2,
            "rating_scale": 5,
            "language": "zh",
            "properties": {"version": "3.1"},
        },
        {"id": "t-2", "text": "Support was rude and slow", "channel": "ticket", "occurred_at": "2026-11-21"},
        {"id": "t-3", "text": "", "channel": "chat", "occurred_at": "2026-11-21"},
        {"id": "t-4", "text": "x" * 10_001, "channel": "chat", "occurred_at": "2026-11-21"},
        {"id": "t-5", "text": "fine", "channel": "chat", "occurred_at": "2026-11-21", "touchpoint": "nope"},
        {"id": "t-6", "text": "fine", "channel": "chat", "occurred_at": "yesterday"},
        {"id": "t-7", "text": "fine", "channel": "fax", "occurred_at": "2026-11-21"},
        {
            "id": "t-8",
            "text": "fine",
            "channel": "chat",
            "occurred_at": "2026-11-21",
            "rating": 9,
            "rating_scale": 5,
        },
    ]


@pytest.fixture
def web(organization):
    return Touchpoint.objects.create(organization=organization, name="Web", key="web")


def test_feedback_bulk_is_idempotent_and_reports_bad_records_without_losing_good_ones(
    api_client, organization, web, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post("/api/v1/feedback/bulk", _records(), format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["received"], body["created"], body["rejected"]) == (8, 2, 6)
    errors = {(e["index"], e["field"]) for e in body["errors"]}
    assert errors == {
        (2, "text"),
        (3, "text"),
        (4, "touchpoint"),
        (5, "occurred_at"),
        (6, "channel"),
        (7, "rating"),
    }
    reasons = {e["index"]: e["reason"] for e in body["errors"]}
    assert reasons[2] == "text is required" and "10000" in reasons[3]
    stored = FeedbackRecord.objects.for_organization(organization).get(external_id="t-1")
    assert stored.touchpoint == web and stored.customer.external_id == "C1" and stored.rating == 2
    assert stored.properties == {"version": "3.1"} and stored.language == "zh"

    again = api_client.post("/api/v1/feedback/bulk", _records()[:2], format="json").json()
    assert (again["created"], again["duplicates"]) == (0, 2)
    assert FeedbackRecord.objects.for_organization(organization).count() == 2

    # Analysed after commit, listed with language, sentiment and themes.
    listed = api_client.get("/api/v1/feedback/", {"channel": "app_store"}).json()
    assert len(listed["results"]) == 1
    item = listed["results"][0]
    assert item["id"] == "t-1" and item["language"] == "zh" and item["touchpoint"] == "web"
    assert {t["theme"]: t["sentiment"] for t in item["themes"]} == {
        "delivery": "positive",
        "product_quality": "negative",
    }
    assert (
        api_client.get("/api/v1/feedback/", {"touchpoint": "web", "source": "App Store"})
        .json()["results"]
        .__len__()
        == 1
    )
    assert (
        api_client.get("/api/v1/feedback/", {"start": "2026-11-21T00:00:00Z"}).json()["results"].__len__()
        == 1
    )


def test_feedback_never_changes_nps(api_client, organization, settings):
    settings.FEEDBACK_ANALYSE_ON_SIGNAL = False
    comments = Comments(organization)
    comments.add(10, "great")
    before = metric_summary(organization=organization, filters=MetricFilters())["current"]["nps"]
    api_client.post(
        "/api/v1/feedback/bulk",
        [
            {
                "id": "r",
                "text": "awful",
                "channel": "review_site",
                "occurred_at": "2026-11-01",
                "rating": 1,
                "rating_scale": 10,
            }
        ],
        format="json",
    )
    assert metric_summary(organization=organization, filters=MetricFilters())["current"]["nps"] == before


def test_bulk_rejects_bad_envelopes(api_client):
    assert api_client.post("/api/v1/feedback/bulk", {"x": 1}, format="json").status_code == 400
    assert api_client.post("/api/v1/feedback/bulk", [], format="json").status_code == 400
    too_many = [
        {"id": str(i), "text": "a", "channel": "chat", "occurred_at": "2026-01-01"} for i in range(10_001)
    ]
    assert api_client.post("/api/v1/feedback/bulk", too_many, format="json").status_code == 400


@pytest.fixture
def analysed(organization, settings):
    settings.FEEDBACK_ANALYSE_ON_SIGNAL = False
    comments = Comments(organization)
    comments.add(2, "the delivery was slow")
    comments.add(10, "delivery was fast")
    record(organization, "zh-1", "物流很快但是东西坏了")
    services.text_pending_analyse(organization_id=organization.pk)
    return comments


def test_text_reads(api_client, analysed):
    themes = api_client.get("/api/v1/text/themes").json()
    delivery = next(row for row in themes["themes"] if row["theme"] == "delivery")
    assert themes["responses_with_comment"] == 3 and delivery["mentions"] == 3
    assert delivery["impact"] == pytest.approx(50.0)  # one negative detractor of two NPS responses
    trend = api_client.get("/api/v1/text/trend", {"bucket": "day"}).json()
    assert sum(row["comments"] for row in trend["sentiment"]) == 3
    search = api_client.get("/api/v1/text/search", {"q": "东西"}).json()
    assert len(search["results"]) == 1 and search["results"][0]["feedback"] == "zh-1"
    assert search["results"][0]["kind"] == "feedback"
    emerging = api_client.get("/api/v1/text/emerging", {"min_count": "1"}).json()
    assert emerging["current"]["comments"] == 3 and isinstance(emerging["terms"], list)
    model = api_client.get("/api/v1/text/model").json()
    assert model["status"]["reanalysing"] is False and model["own_accuracy"]["n"] == 0


@pytest.mark.parametrize(
    ("url", "params", "field"),
    [
        ("/api/v1/text/themes", {"start": "2026-13-01"}, "start"),
        ("/api/v1/text/themes", {"sentiment": "angry"}, "sentiment"),
        ("/api/v1/text/trend", {"bucket": "year"}, "bucket"),
        ("/api/v1/text/search", {"language": "fr"}, "language"),
        ("/api/v1/text/search", {"q": "x" * 201}, "q"),
        ("/api/v1/text/emerging", {"min_count": "-1"}, "min_count"),
        ("/api/v1/text/search", {"segment": "tier-high"}, "segment"),
    ],
)
def test_text_reads_refuse_bad_filters(api_client, url, params, field):
    response = api_client.get(url, params)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_taxonomy_crud_and_promote(api_client, organization, settings):
    settings.FEEDBACK_ANALYSE_ON_SIGNAL = False
    taxonomy = api_client.get("/api/v1/text/taxonomy").json()
    keys = [t["key"] for t in taxonomy["themes"]]
    assert "delivery" in keys and "billing" in keys
    created = api_client.post(
        "/api/v1/text/taxonomy/themes",
        {
            "key": "packaging",
            "name_en": "Packaging",
            "name_zh": "包装",
            "phrases_en": ["box"],
            "phrases_zh": ["包装"],
        },
        format="json",
    )
    assert created.status_code == 201 and created.json()["phrases_zh"] == ["包装"]
    assert (
        api_client.post("/api/v1/text/taxonomy/themes", {"key": "packaging"}, format="json").status_code
        == 400
    )
    updated = api_client.put(
        "/api/v1/text/taxonomy/themes/packaging",
        {"name_en": "Boxes", "phrases_en": ["box", "carton"]},
        format="json",
    )
    assert updated.json()["phrases_en"] == ["box", "carton"]
    promoted = api_client.post(
        "/api/v1/text/emerging/promote", {"term": "纸箱", "theme": "packaging"}, format="json"
    )
    packaging = next(t for t in promoted.json()["taxonomy"]["themes"] if t["key"] == "packaging")
    assert packaging["phrases_zh"] == ["纸箱"] and packaging["name_en"] == "Boxes"  # PUT replaced the theme
    assert api_client.delete("/api/v1/text/taxonomy/themes/packaging").status_code == 204
    assert api_client.get("/api/v1/text/taxonomy/themes/packaging").status_code == 404
    bad = api_client.put("/api/v1/text/taxonomy", {"themes": "nope"}, format="json")
    assert bad.status_code == 400
    words = api_client.put("/api/v1/text/dictionary", {"words": ["小米手环", "小米手环", " "]}, format="json")
    assert words.json() == {"words": ["小米手环"]}
    assert api_client.put("/api/v1/text/dictionary", {"words": "x"}, format="json").status_code == 400


def test_a_correction_overrides_the_model_and_fits_the_adaptation(
    api_client, organization, analysed, django_capture_on_commit_callbacks
):
    answer_id = TextAnalysis.objects.for_organization(organization).filter(response__score=10).get().answer_id
    before = api_client.get(f"/api/v1/text/comments/answer/{answer_id}").json()
    assert before["sentiment"] == "positive"
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(
            "/api/v1/text/corrections",
            {"answer": answer_id, "sentiment": "negative", "themes": ["delivery", "price"]},
            format="json",
        )
    assert response.status_code == 201, response.content
    assert response.json()["model_sentiment"] == "positive" and response.json()["model_themes"] == [
        "delivery"
    ]
    after = api_client.get(f"/api/v1/text/comments/answer/{answer_id}").json()
    assert after["sentiment"] == "negative" and after["corrected"] is True
    assert {t["theme"] for t in after["themes"]} == {"delivery", "price"}
    # The adaptation changed the version: the re-analysis waits (signals off here), the old results serve.
    model = api_client.get("/api/v1/text/model").json()
    assert model["status"]["reanalysing"] is True and model["status"]["target_version"].endswith("+d0")
    services.text_pending_analyse(organization_id=organization.pk)
    model = api_client.get("/api/v1/text/model").json()
    assert model["status"]["reanalysing"] is False
    assert model["status"]["served_version"] == model["status"]["target_version"]
    again = api_client.get(f"/api/v1/text/comments/answer/{answer_id}").json()
    assert again["sentiment"] == "negative" and {t["theme"] for t in again["themes"]} == {"delivery", "price"}
    assert model["own_accuracy"]["n"] == 1 and model["own_accuracy"]["agreed_at_correction"] == 0
    listed = api_client.get("/api/v1/text/corrections").json()
    assert len(listed["results"]) == 1 and listed["results"][0]["sentiment"] == "negative"
    themes = api_client.get("/api/v1/text/themes").json()
    assert next(r for r in themes["themes"] if r["theme"] == "price")["mentions"] == 1


def test_corrections_refuse_bad_input(api_client, analysed, organization):
    answer_id = TextAnalysis.objects.for_organization(organization).exclude(answer=None).first().answer_id
    cases = [
        {"sentiment": "negative"},
        {"answer": answer_id},
        {"answer": answer_id, "sentiment": "furious"},
        {"answer": answer_id, "themes": ["no-such-theme"]},
        {"answer": answer_id, "feedback": "zh-1", "sentiment": "neutral"},
    ]
    for body in cases:
        assert api_client.post("/api/v1/text/corrections", body, format="json").status_code == 400, body
    assert (
        api_client.post(
            "/api/v1/text/corrections", {"answer": 999999, "sentiment": "neutral"}, format="json"
        ).status_code
        == 404
    )


def test_other_organizations_get_404_or_nothing(
    api_client, other_api_client, organization, other_organization, settings
):
    settings.FEEDBACK_ANALYSE_ON_SIGNAL = False
    Comments(organization).add(3, "delivery slow")
    record(organization, "mine", "物流很慢")
    services.text_pending_analyse(organization_id=organization.pk)
    answer_id = TextAnalysis.objects.for_organization(organization).exclude(answer=None).get().answer_id
    services.taxonomy_theme_put(organization=organization, key=None, data={"key": "ours-only"})

    assert other_api_client.get(f"/api/v1/text/comments/answer/{answer_id}").status_code == 404
    assert other_api_client.get("/api/v1/text/comments/feedback/mine").status_code == 404
    assert other_api_client.get("/api/v1/text/taxonomy/themes/ours-only").status_code == 404
    assert (
        other_api_client.put("/api/v1/text/taxonomy/themes/ours-only", {}, format="json").status_code == 404
    )
    assert other_api_client.delete("/api/v1/text/taxonomy/themes/ours-only").status_code == 404
    corrected = other_api_client.post(
        "/api/v1/text/corrections", {"answer": answer_id, "sentiment": "neutral"}, format="json"
    )
    assert corrected.status_code == 404
    assert (
        other_api_client.post(
            "/api/v1/text/corrections", {"feedback": "mine", "sentiment": "neutral"}, format="json"
        ).status_code
        == 404
    )
    assert other_api_client.get("/api/v1/feedback/").json()["results"].__len__() == 0
    assert other_api_client.get("/api/v1/text/search", {"q": "物流"}).json()["results"].__len__() == 0
    assert other_api_client.get("/api/v1/text/themes").json()["responses_with_comment"] == 0
    assert api_client.get(f"/api/v1/text/comments/answer/{answer_id}").status_code == 200


def test_response_payloads_carry_sentiment_and_themes(api_client, organization, analysed):
    listed = api_client.get("/api/v1/responses").json()["results"]
    by_score = {item["score"]: item for item in listed}
    assert by_score[2]["sentiment"] == "negative"
    assert [t["theme"] for t in by_score[2]["themes"]] == ["delivery"]
    one = api_client.get(f"/api/v1/responses/{by_score[10]['id']}").json()
    assert one["sentiment"] == "positive" and one["themes"][0]["sentiment"] == "positive"
