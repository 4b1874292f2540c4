"""Raw HTTP against /delighted/v1/: every status code, both Basic forms, paths with and without
`.json`, and the cross-organization rule."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from delighted_api import services
from delighted_api.models import AutopilotMembership, RequestStatus, SurveyRequest
from journeys.models import Customer
from surveys.models import Invitation, InvitationStatus, Response
from tests.delighted.conftest import basic
from tests.journeys.factories import CustomerFactory
from tests.surveys.factories import ResponseFactory

pytestmark = pytest.mark.django_db


def test_both_basic_forms_and_both_path_forms(api_key, survey):
    for colon in (True, False):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=basic(api_key, colon=colon))
        for path in ("/delighted/v1/people", "/delighted/v1/people.json"):
            response = client.get(path)
            assert response.status_code == 200, (colon, path)
            assert response.json() == []
            assert response["Content-Type"] == "application/json"


@pytest.mark.parametrize(
    "authorization",
    [None, "Basic " + "bm90LWEta2V5Og==", "Bearer nothing", "Basic %%%"],
)
def test_401_without_a_valid_key(authorization, survey):
    client = APIClient()
    if authorization:
        client.credentials(HTTP_AUTHORIZATION=authorization)
    response = client.get("/delighted/v1/people.json")
    assert response.status_code == 401
    assert response.json()["status"] == 401 and response.json()["message"]
    assert response["WWW-Authenticate"].startswith("Basic")


def test_406_for_another_format_or_accept(delighted_client, survey):
    response = delighted_client.get("/delighted/v1/people.xml")
    assert response.status_code == 406
    assert response.json()["status"] == 406
    response = delighted_client.get("/delighted/v1/people.json", HTTP_ACCEPT="text/html")
    assert response.status_code == 406


def test_404_unknown_path_and_unknown_person(delighted_client, survey):
    response = delighted_client.get("/delighted/v1/nothing.json")
    assert response.status_code == 404 and response.json() == {"status": 404, "message": "Not found."}
    response = delighted_client.delete("/delighted/v1/people/email:nobody@example.com.json")
    assert response.status_code == 404 and response.json()["status"] == 404


def test_422_lists_errors_per_field(delighted_client, survey):
    response = delighted_client.post(
        "/delighted/v1/survey_responses.json",
        {"person": "", "score": 11, "created_at": "yesterday"},
        format="json",
    )
    assert response.status_code == 422
    body = response.json()
    assert body["status"] == 422 and set(body["errors"]) == {"person", "score", "created_at"}
    response = delighted_client.post("/delighted/v1/people.json", {"name": "No Contact"}, format="json")
    assert response.status_code == 422 and "email" in response.json()["errors"]
    response = delighted_client.get("/delighted/v1/people.json?per_page=1000&since=soon")
    assert response.status_code == 422 and set(response.json()["errors"]) == {"per_page", "since"}


def test_422_sms_is_not_configured(delighted_client, survey):
    response = delighted_client.post(
        "/delighted/v1/people.json", {"phone_number": "+15555550100", "channel": "sms"}, format="json"
    )
    assert response.status_code == 422
    assert "SMS is not configured" in response.json()["errors"]["channel"][0]
    response = delighted_client.get("/delighted/v1/autopilot/sms/memberships.json")
    assert response.status_code == 422 and "SMS is not configured" in response.json()["errors"]["platform"][0]


def test_422_without_an_nps_survey(delighted_client):
    response = delighted_client.post("/delighted/v1/people.json", {"email": "a@example.com"}, format="json")
    assert response.status_code == 422 and "survey" in response.json()["errors"]


def test_429_with_retry_after(delighted_client, survey, settings):
    from cxm.api.throttling import ApiKeyRateThrottle

    rates = {**ApiKeyRateThrottle.THROTTLE_RATES, "api_key": "2/min"}
    original = ApiKeyRateThrottle.THROTTLE_RATES
    ApiKeyRateThrottle.THROTTLE_RATES = rates
    try:
        statuses = [delighted_client.get("/delighted/v1/people.json").status_code for _ in range(3)]
        response = delighted_client.get("/delighted/v1/people.json")
    finally:
        ApiKeyRateThrottle.THROTTLE_RATES = original
    assert statuses == [200, 200, 429]
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    assert response.json()["status"] == 429


def test_form_encoded_body_with_properties(delighted_client, survey, organization):
    response = delighted_client.post(
        "/delighted/v1/people.json",
        "email=form%40example.com&name=Form&properties%5Bplan%5D=gold&send=false",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 201, response.json()
    customer = Customer.objects.for_organization(organization).get(email="form@example.com")
    assert customer.name == "Form" and customer.attributes == {"plan": "gold"}
    assert response.json()["survey_scheduled_at"] is None


def test_delay_schedules_a_request_then_the_beat_invites(
    delighted_client, survey, organization, mailoutbox, django_capture_on_commit_callbacks
):
    response = delighted_client.post(
        "/delighted/v1/people.json", {"email": "later@example.com", "delay": 3600}, format="json"
    )
    assert response.status_code == 201
    request = SurveyRequest.objects.for_organization(organization).get()
    assert response.json()["survey_scheduled_at"] == int(request.scheduled_at.timestamp())
    assert not Invitation.objects.for_organization(organization).exists()
    listed = delighted_client.get("/delighted/v1/people.json").json()
    assert listed[0]["next_survey_scheduled_at"] == int(request.scheduled_at.timestamp())
    assert services.survey_requests_send_due() == {"invited": 0, "skipped": 0}
    with django_capture_on_commit_callbacks(execute=True):
        due = services.survey_requests_send_due(now=timezone.now() + timedelta(hours=2))
    assert due == {"invited": 1, "skipped": 0}
    request.refresh_from_db()
    assert request.status == RequestStatus.INVITED and request.invitation is not None
    assert [m.to for m in mailoutbox] == [["later@example.com"]]


def test_delete_pending_survey_requests(delighted_client, survey, organization):
    delighted_client.post(
        "/delighted/v1/people.json", {"email": "p@example.com", "delay": 600}, format="json"
    )
    response = delighted_client.delete("/delighted/v1/people/p%40example.com/survey_requests/pending.json")
    assert response.status_code == 202 and response.json() == {"ok": True}
    assert SurveyRequest.objects.for_organization(organization).get().status == RequestStatus.CANCELED
    assert services.survey_requests_send_due(now=timezone.now() + timedelta(hours=1))["invited"] == 0


def test_delete_person_by_id_and_by_phone(delighted_client, survey, organization):
    ids = []
    for body in (
        {"email": "x@example.com", "send": False},
        {"email": "y@example.com", "phone_number": "+15550001", "send": False},
    ):
        ids.append(delighted_client.post("/delighted/v1/people.json", body, format="json").json()["id"])
    assert delighted_client.delete(f"/delighted/v1/people/{ids[0]}").status_code == 202
    assert delighted_client.delete("/delighted/v1/people/phone_number:%2B15550001.json").status_code == 202
    erased = Customer.objects.for_organization(organization).filter(pk__in=ids)
    assert [c.erased_at is not None and c.email == "" for c in erased] == [True, True]


def test_survey_responses_filters_order_and_notes(delighted_client, survey, organization):
    ann = CustomerFactory(organization=organization, email="ann@example.com")
    bob = CustomerFactory(organization=organization, email="bob@example.com")
    now = timezone.now()
    rows = [
        ResponseFactory(
            survey=survey, customer=ann, score=9, score_kind="nps", submitted_at=now - timedelta(days=3)
        ),
        ResponseFactory(
            survey=survey, customer=bob, score=5, score_kind="nps", submitted_at=now - timedelta(days=2)
        ),
        ResponseFactory(
            survey=survey, customer=ann, score=10, score_kind="nps", submitted_at=now - timedelta(days=1)
        ),
    ]
    base = "/delighted/v1/survey_responses.json"
    got = delighted_client.get(base).json()
    assert [r["id"] for r in got] == [str(r.pk) for r in rows]
    assert got[0]["created_at"] == int(rows[0].submitted_at.timestamp()) and "notes" not in got[0]
    got = delighted_client.get(base + "?order=desc").json()
    assert [r["score"] for r in got] == [10, 5, 9]
    got = delighted_client.get(base + f"?since={int((now - timedelta(days=2, hours=1)).timestamp())}").json()
    assert [r["score"] for r in got] == [5, 10]
    got = delighted_client.get(base + "?person_email=bob@example.com").json()
    assert [r["person"] for r in got] == [str(bob.pk)]
    got = delighted_client.get(base + f"?person_id={ann.pk}&expand[]=person&expand[]=notes").json()
    assert [r["person"]["email"] for r in got] == ["ann@example.com"] * 2 and got[0]["notes"] == []
    response = delighted_client.put(
        f"/delighted/v1/survey_responses/{rows[1].pk}.json",
        {
            "tags": ["support", "support", "slow"],
            "notes": ["Called back"],
            "person_properties": {"Plan": "Pro"},
        },
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert body["tags"] == ["support", "slow"] and [n["text"] for n in body["notes"]] == ["Called back"]
    assert body["person_properties"] == {"Plan": "Pro"}
    response = delighted_client.put(
        f"/delighted/v1/survey_responses/{rows[1].pk}", {"score": 8}, format="json"
    )
    assert response.json()["score"] == 8 and response.json()["tags"] == ["support", "slow"]
    assert Response.objects.for_organization(organization).get(pk=rows[1].pk).score == 8
    assert (
        delighted_client.put(
            f"/delighted/v1/survey_responses/{rows[1].pk}", {"score": 12}, format="json"
        ).status_code
        == 422
    )


def test_metrics_window_and_trend(delighted_client, survey, organization):
    from tests.delighted.conftest import nps_survey

    other = nps_survey(organization)
    now = timezone.now()
    for score, days in ((10, 1), (0, 1), (9, 40)):
        ResponseFactory(survey=survey, score=score, score_kind="nps", submitted_at=now - timedelta(days=days))
    ResponseFactory(survey=other, score=10, score_kind="nps", submitted_at=now - timedelta(days=1))
    got = delighted_client.get(f"/delighted/v1/metrics.json?trend={survey.pk}").json()
    assert (got["nps"], got["response_count"], got["promoter_percent"]) == (0, 2, 50.0)
    since = int((now - timedelta(days=60)).timestamp())
    got = delighted_client.get(f"/delighted/v1/metrics?trend={survey.pk}&since={since}").json()
    assert (got["nps"], got["response_count"]) == (33, 3)
    got = delighted_client.get(f"/delighted/v1/metrics?trend={other.pk}").json()
    assert (got["nps"], got["response_count"]) == (100, 1)


def test_autopilot_memberships(
    delighted_client, survey, organization, mailoutbox, django_capture_on_commit_callbacks
):
    base = "/delighted/v1/autopilot/email/memberships.json"
    with django_capture_on_commit_callbacks(execute=True):
        response = delighted_client.post(
            base, {"person_email": "auto@example.com", "properties": {"Team": "A"}}, format="json"
        )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["person"]["email"] == "auto@example.com"
    membership = AutopilotMembership.objects.for_organization(organization).get()
    assert membership.next_survey_at > timezone.now() + timedelta(days=89)
    assert [m.to for m in mailoutbox] == [["auto@example.com"]]
    listed = delighted_client.get(base).json()
    assert [m["person"]["email"] for m in listed] == ["auto@example.com"]
    config = delighted_client.get("/delighted/v1/autopilot/email.json").json()
    assert config["platform_id"] == "email" and config["frequency"] == 90 * 86400
    # The next turn comes after the interval; the fatigue rule still applies (it has passed by then).
    later = timezone.now() + timedelta(days=91)
    Invitation.objects.for_organization(organization).update(created_at=timezone.now() - timedelta(days=91))
    with django_capture_on_commit_callbacks(execute=True):
        assert services.survey_requests_send_due(now=later) == {"invited": 1, "skipped": 0}
    assert Invitation.objects.for_organization(organization).filter(status=InvitationStatus.SENT).count() == 2
    response = delighted_client.delete(base, {"person_email": "auto@example.com"}, format="json")
    assert response.status_code == 200 and response.json()["person"]["email"] == "auto@example.com"
    assert not AutopilotMembership.objects.for_organization(organization).exists()
    assert (
        delighted_client.delete(base, {"person_email": "auto@example.com"}, format="json").status_code == 404
    )


def test_unsubscribes_and_bounces(delighted_client, survey, organization):
    delighted_client.post("/delighted/v1/unsubscribes.json", {"person_email": "u@example.com"}, format="json")
    customer = Customer.objects.for_organization(organization).get(email="u@example.com")
    assert customer.unsubscribed
    # An unsubscribed person is never invited: the request is skipped by the fatigue rules.
    delighted_client.post("/delighted/v1/people.json", {"email": "u@example.com"}, format="json")
    assert SurveyRequest.objects.for_organization(organization).get().status == RequestStatus.SKIPPED
    failed = CustomerFactory(organization=organization, email="gone@example.com")
    Invitation.objects.create(
        organization=organization, survey=survey, customer=failed, status=InvitationStatus.FAILED
    )
    bounces = delighted_client.get("/delighted/v1/bounces.json").json()
    assert [(b["person_id"], b["email"]) for b in bounces] == [(str(failed.pk), "gone@example.com")]


def test_another_organizations_key_sees_nothing(
    delighted_client, other_delighted_client, survey, organization
):
    person = delighted_client.post(
        "/delighted/v1/people.json", {"email": "mine@example.com", "send": False}, format="json"
    ).json()
    created = delighted_client.post(
        "/delighted/v1/survey_responses.json", {"person": person["id"], "score": 9}, format="json"
    ).json()
    other = other_delighted_client
    assert other.get("/delighted/v1/people.json").json() == []
    assert other.get("/delighted/v1/people.json?email=mine@example.com").json() == []
    assert other.get("/delighted/v1/survey_responses.json").json() == []
    assert other.get("/delighted/v1/metrics.json").json()["response_count"] == 0
    assert other.get(f"/delighted/v1/survey_responses/{created['id']}.json").status_code == 404
    assert (
        other.put(
            f"/delighted/v1/survey_responses/{created['id']}.json", {"tags": ["x"]}, format="json"
        ).status_code
        == 404
    )
    assert other.delete(f"/delighted/v1/people/{person['id']}.json").status_code == 404
    assert other.delete("/delighted/v1/people/email:mine@example.com").status_code == 404
    assert (
        other.delete("/delighted/v1/people/mine%40example.com/survey_requests/pending.json").status_code
        == 404
    )
    assert (
        other.post(
            "/delighted/v1/survey_responses.json", {"person": person["id"], "score": 1}, format="json"
        ).status_code
        == 422
    )
    assert other.get(f"/delighted/v1/metrics.json?trend={survey.pk}").status_code == 422
    assert (
        other.delete(
            "/delighted/v1/autopilot/email/memberships.json", {"person_id": person["id"]}, format="json"
        ).status_code
        == 404
    )
    assert Customer.objects.for_organization(organization).get(pk=int(person["id"])).erased_at is None


def test_special_properties_reach_the_invitation(
    delighted_client, organization, mailoutbox, django_capture_on_commit_callbacks, client
):
    from tests.delighted.conftest import nps_survey

    survey = nps_survey(organization, languages=["en", "zh-hans"], default_language="en")
    question = survey.questions.get(kind="nps")
    question.text = {"en": f"How likely are you to recommend {organization.name}?", "zh-hans": "推荐吗？"}
    question.save()
    properties = {
        "locale": "zh-CN",
        "question_product_name": "Widget Pro",
        "thank_you_message": "Thanks, friend!",
        "thank_you_link_url": "https://example.com/next",
        "thank_you_link_text": "Read more",
        "Plan": "gold",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = delighted_client.post(
            "/delighted/v1/people.json", {"email": "zh@example.com", "properties": properties}, format="json"
        )
    assert response.status_code == 201
    invitation = Invitation.objects.for_organization(organization).get()
    assert invitation.language == "zh-hans"
    assert invitation.personalisation["question_product_name"] == "Widget Pro"
    assert "推荐吗" in mailoutbox[0].body
    # The question names the product (English, where the organization's name appears).
    invitation.language = "en"
    from surveys.emails import invitation_message

    assert "recommend Widget Pro?" in invitation_message(invitation=invitation).body
    from django.urls import reverse

    page = client.get(reverse("survey-thanks", args=[survey.public_id]) + f"?inv={invitation.token}")
    html = page.content.decode()
    assert "Thanks, friend!" in html and 'href="https://example.com/next"' in html and "Read more" in html
    customer = Customer.objects.for_organization(organization).get(email="zh@example.com")
    assert customer.attributes == {"Plan": "gold"}
