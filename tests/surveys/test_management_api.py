"""Management API: surveys and questions CRUD, publish/close, responses, invitations."""

from __future__ import annotations

import pytest
from django.core import mail

from journeys.models import Customer
from surveys import services
from surveys.collection import write
from surveys.models import Invitation, Question, Survey

pytestmark = pytest.mark.django_db


def test_survey_crud_publish_close(api_client, organization, touchpoint):
    r = api_client.post(
        "/api/v1/surveys",
        {"template": "nps", "touchpoint": "web-checkout", "allowed_origins": ["https://a.example.com/"]},
        format="json",
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert (
        body["name"] == "Net Promoter Score"
        and body["touchpoint"] == "web-checkout"
        and body["status"] == "draft"
    )
    assert len(body["questions"]) == 4 and body["allowed_origins"] == ["https://a.example.com"]
    pk = body["id"]
    r = api_client.patch(
        f"/api/v1/surveys/{pk}", {"name": "Relationship NPS", "fatigue_days": 14}, format="json"
    )
    assert r.status_code == 200 and r.json()["name"] == "Relationship NPS" and r.json()["fatigue_days"] == 14
    assert api_client.post(f"/api/v1/surveys/{pk}/publish").json()["status"] == "active"
    assert api_client.post(f"/api/v1/surveys/{pk}/pause").json()["status"] == "paused"
    assert api_client.post(f"/api/v1/surveys/{pk}/close").json()["status"] == "closed"
    r = api_client.post(f"/api/v1/surveys/{pk}/pause")
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid"
    copy = api_client.post(f"/api/v1/surveys/{pk}/duplicate")
    assert copy.status_code == 201 and copy.json()["status"] == "draft" and len(copy.json()["questions"]) == 4
    listing = api_client.get("/api/v1/surveys").json()
    assert {s["id"] for s in listing["results"]} == {pk, copy.json()["id"]}
    assert api_client.delete(f"/api/v1/surveys/{copy.json()['id']}").status_code == 204
    assert Survey.objects.unscoped().filter(organization=organization).count() == 1


def test_survey_bad_inputs(api_client, read_only_api_client, other_organization):
    assert api_client.post("/api/v1/surveys", {}, format="json").json()["error"]["fields"].keys() >= {"name"}
    r = api_client.post("/api/v1/surveys", {"name": "x", "allowed_origins": ["not a url"]}, format="json")
    assert r.status_code == 400 and "allowed_origins" in r.json()["error"]["fields"]
    r = api_client.post("/api/v1/surveys", {"name": "x", "languages": ["fr"]}, format="json")
    assert r.status_code == 400
    r = api_client.post(
        "/api/v1/surveys", {"name": "x", "languages": ["en"], "default_language": "zh-hans"}, format="json"
    )
    assert r.status_code == 400 and "default_language" in r.json()["error"]["fields"]
    r = api_client.post("/api/v1/surveys", {"template": "xyz"}, format="json")
    assert r.status_code == 400
    assert read_only_api_client.post("/api/v1/surveys", {"name": "x"}, format="json").status_code == 403
    empty = api_client.post("/api/v1/surveys", {"name": "empty"}, format="json").json()
    r = api_client.post(f"/api/v1/surveys/{empty['id']}/publish")
    assert r.status_code == 400 and "questions" in r.json()["error"]["fields"]


def test_question_crud_and_reorder(api_client, organization, other_organization):
    survey = api_client.post("/api/v1/surveys", {"name": "Custom"}, format="json").json()
    r = api_client.post(
        "/api/v1/questions",
        {
            "survey": survey["id"],
            "kind": "nps",
            "text": {"en": "Recommend?", "zh-hans": "推荐吗？"},
            "required": True,
        },
        format="json",
    )
    assert r.status_code == 201, r.content
    nps = r.json()
    r = api_client.post(
        "/api/v1/questions",
        {
            "survey": survey["id"],
            "kind": "text",
            "text": {"en": "Why?"},
            "show_if": {"question": nps["id"], "min": 0, "max": 6},
        },
        format="json",
    )
    assert r.status_code == 201 and r.json()["position"] == 1
    why = r.json()
    assert api_client.patch(f"/api/v1/questions/{why['id']}", {"required": True}, format="json").json()[
        "required"
    ]
    r = api_client.post(
        f"/api/v1/surveys/{survey['id']}/reorder", {"order": [why["id"], nps["id"]]}, format="json"
    )
    assert [q["id"] for q in r.json()["questions"]] == [why["id"], nps["id"]]
    assert (
        api_client.post(
            f"/api/v1/surveys/{survey['id']}/reorder", {"order": [why["id"]]}, format="json"
        ).status_code
        == 400
    )
    listed = api_client.get(f"/api/v1/questions?survey={survey['id']}").json()["results"]
    assert {q["id"] for q in listed} == {nps["id"], why["id"]}
    assert api_client.delete(f"/api/v1/questions/{why['id']}").status_code == 204
    assert Question.objects.unscoped().filter(survey_id=survey["id"]).count() == 1
    # bad inputs
    theirs = services.survey_create(organization=other_organization, name="theirs")
    r = api_client.post(
        "/api/v1/questions", {"survey": theirs.pk, "kind": "nps", "text": {"en": "x"}}, format="json"
    )
    assert r.status_code == 400 and "survey" in r.json()["error"]["fields"]
    r = api_client.post(
        "/api/v1/questions", {"survey": survey["id"], "kind": "poll", "text": {"en": "x"}}, format="json"
    )
    assert r.status_code == 400 and "kind" in r.json()["error"]["fields"]
    r = api_client.post(
        "/api/v1/questions", {"survey": survey["id"], "kind": "text", "text": {"en": " "}}, format="json"
    )
    assert r.status_code == 400 and "text" in r.json()["error"]["fields"]
    r = api_client.post(
        "/api/v1/questions",
        {"survey": survey["id"], "kind": "single_choice", "text": {"en": "x"}, "options": [{"value": "a"}]},
        format="json",
    )
    assert r.status_code == 400 and "options" in r.json()["error"]["fields"]


def test_response_list_filters_detail_and_query_count(
    api_client, nps_survey, questions, touchpoint, clock, django_assert_num_queries
):
    clock.freeze()  # an API key's "last used" is written once a minute: never inside a counted request
    for i, (score, comment, locale, channel) in enumerate(
        [(10, "great", "en", "widget"), (3, "", "zh-hans", "link"), (7, "ok", "en", "email")]
    ):
        answers = {str(questions["score"]): score}
        if comment:
            answers[
                str(questions["promoter" if score >= 9 else "passive" if score >= 7 else "detractor"])
            ] = comment
        write.response_submit_for_survey(
            survey=nps_survey,
            answers=answers,
            locale=locale,
            channel=channel,
            touchpoint_key="web-checkout" if i == 0 else None,
            idempotency_key=f"k{i}",
        )

    def ids(query):
        return sorted(r["score"] for r in api_client.get(f"/api/v1/responses?{query}").json()["results"])

    assert ids("") == [3, 7, 10]
    assert (
        ids("score_band=promoter") == [10]
        and ids("score_band=detractor") == [3]
        and ids("score_band=passive") == [7]
    )
    assert ids("has_comment=true") == [7, 10] and ids("has_comment=false") == [3]
    assert (
        ids("language=zh-hans") == [3]
        and ids("channel=email") == [7]
        and ids("touchpoint=web-checkout") == [10]
    )
    assert ids(f"survey={nps_survey.pk}") == [3, 7, 10] and ids("start=2100-01-01T00:00:00Z") == []
    r = api_client.get("/api/v1/responses?score_band=awful")
    assert r.status_code == 400
    # 3, and 1 for the comments' sentiment and themes (feedback.selectors.response_text_results).
    with django_assert_num_queries(4):
        results = api_client.get("/api/v1/responses").json()["results"]
    top = next(r for r in results if r["score"] == 10)
    detail = api_client.get(f"/api/v1/responses/{top['id']}").json()
    assert (
        detail["comment"] == "great"
        and detail["touchpoint"] == "web-checkout"
        and len(detail["answers"]) == 2
    )


def test_invitations_api(api_client, nps_survey, customer, organization, django_capture_on_commit_callbacks):
    Customer.objects.create(
        organization=organization, external_id="C2", email="c2@example.com", unsubscribed=True
    )
    with django_capture_on_commit_callbacks(execute=True):
        r = api_client.post(
            "/api/v1/invitations",
            {"survey": nps_survey.pk, "customers": ["C00001", "C2", "C404"], "language": "en"},
            format="json",
        )
    assert r.status_code == 201, r.content
    body = r.json()
    assert [i["customer"] for i in body["invitations"]] == ["C00001"]
    assert body["skipped"] == ["C2"] and body["unknown"] == ["C404"]
    assert body["invitations"][0]["status"] in ("queued", "sent") and len(mail.outbox) == 1
    pk = body["invitations"][0]["id"]
    assert api_client.get(f"/api/v1/invitations/{pk}").json()["status"] == "sent"
    assert len(api_client.get(f"/api/v1/invitations?survey={nps_survey.pk}").json()["results"]) == 1
    r = api_client.post("/api/v1/invitations", {"survey": 999999, "customers": ["C00001"]}, format="json")
    assert r.status_code == 400 and "survey" in r.json()["error"]["fields"]
    assert (
        api_client.post(
            "/api/v1/invitations", {"survey": nps_survey.pk, "customers": []}, format="json"
        ).status_code
        == 400
    )
    services.survey_set_status(survey=nps_survey, action="close")
    r = api_client.post(
        "/api/v1/invitations", {"survey": nps_survey.pk, "customers": ["C00001"]}, format="json"
    )
    assert r.status_code == 400 and Invitation.objects.unscoped().count() == 1
