"""Invitations: plain-text parts without HTML entities; an answer bound to the unguessable token."""

from __future__ import annotations

import json

import pytest
from django.core import mail
from rest_framework.test import APIClient

from cxm.tenancy.models import Organization
from journeys.models import Customer
from surveys import services
from surveys.collection import write
from surveys.models import Response

pytestmark = pytest.mark.django_db


def test_invitation_subject_and_text_body_are_plain_text(
    nps_survey, organization, django_capture_on_commit_callbacks
):
    Organization.objects.filter(pk=organization.pk).update(name="O'Brien <b>&</b> Sons")
    customer = Customer.objects.create(
        organization=organization, external_id="Q1", email="q@example.com", name="Seán O'Brien <b>"
    )
    nps_survey.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        services.invitations_create(survey=nps_survey, customers=[customer], language="en")
    message = mail.outbox[-1]
    assert message.subject == "A quick question from O'Brien <b>&</b> Sons"
    assert "Hello Seán O'Brien <b>," in message.body
    assert "&#x27;" not in message.body and "&lt;" not in message.body and "&amp;" not in message.body
    html = message.alternatives[0][0]
    assert "O&#x27;Brien &lt;b&gt;" in html and "<b>," not in html  # the HTML part stays escaped


ORIGIN = "https://shop.example.com"


def _invite(survey, customer, capture):
    with capture(execute=True):
        invitation = services.invitations_create(
            survey=survey, customers=[customer], language="en"
        ).invitations[0]
    invitation.refresh_from_db()
    return invitation


@pytest.mark.parametrize("lane", ["wsgi", "asgi"])
def test_a_public_caller_can_never_address_an_invitations_answer(
    client,
    lane,
    nps_survey,
    questions,
    customer,
    organization,
    django_capture_on_commit_callbacks,
    monkeypatch,
):
    from surveys.collection import asgi as collection_asgi
    from tests.asgi import AsgiClient, in_test_thread

    if lane == "asgi":
        monkeypatch.setattr(collection_asgi, "in_db_thread", in_test_thread)
        public = AsgiClient()
    else:
        public = APIClient()
    answered = _invite(nps_survey, customer, django_capture_on_commit_callbacks)
    other = Customer.objects.create(organization=organization, external_id="C2", email="b@example.com")
    unanswered = _invite(nps_survey, other, django_capture_on_commit_callbacks)
    # The invited customer answers 9 on the link page.
    page = f"/s/{nps_survey.public_id}"
    assert client.post(page, {"inv": answered.token, f"q{questions['score']}": "9"}).status_code == 302
    stored = Response.objects.unscoped().get()
    assert stored.score == 9 and stored.idempotency_key.startswith("inv:")
    assert answered.token not in stored.idempotency_key  # the token itself is never stored as a key

    forged_keys = [
        f"inv-{answered.pk}",
        f"inv-{unanswered.pk}",
        stored.idempotency_key,
        f"inv:{unanswered.token}",
        "INV-1",
    ]
    for key in forged_keys:
        for body in ({"idempotency_key": key}, {}):
            headers = {} if body else {"HTTP_IDEMPOTENCY_KEY": key}
            r = public.post(
                f"/api/v1/public/surveys/{nps_survey.public_id}/responses",
                data=json.dumps({"answers": {str(questions["score"]): 0}, **body}),
                content_type="application/json",
                HTTP_ORIGIN=ORIGIN,
                **headers,
            )
            assert r.status_code == 400, (key, r.content)
            assert "idempotency_key" in r.json()["error"]["fields"]
        # Nor through the link page without the token.
        r = client.post(page, {"idempotency_key": key, f"q{questions['score']}": "0"})
        assert r.status_code == 400
    stored.refresh_from_db()
    assert Response.objects.unscoped().count() == 1 and stored.score == 9
    # The other invited customer answers first-hand: nothing was pre-filled for them.
    assert client.post(page, {"inv": unanswered.token, f"q{questions['score']}": "7"}).status_code == 302
    theirs = Response.objects.unscoped().exclude(pk=stored.pk).get()
    assert (theirs.score, theirs.customer) == (7, other)
    # And the first customer can still change their score through their own link.
    assert (
        client.post(
            page, {"inv": answered.token, f"q{questions['score']}": "4", "idempotency_key": "x"}
        ).status_code
        == 302
    )
    stored.refresh_from_db()
    assert Response.objects.unscoped().count() == 2 and stored.score == 4


def test_an_invitation_answered_under_the_old_key_keeps_its_response(
    client, nps_survey, questions, customer, django_capture_on_commit_callbacks
):
    invitation = _invite(nps_survey, customer, django_capture_on_commit_callbacks)
    old = write.response_submit_for_survey(
        survey=nps_survey, answers={str(questions["score"]): 2}, customer=customer, invitation=invitation
    )
    Response.objects.unscoped().filter(pk=old.response_id).update(idempotency_key=f"inv-{invitation.pk}")
    invitation.refresh_from_db()
    r = client.post(f"/s/{nps_survey.public_id}", {"inv": invitation.token, f"q{questions['score']}": "8"})
    assert r.status_code == 302
    response = Response.objects.unscoped().get()
    assert (response.pk, response.score, response.idempotency_key) == (
        old.response_id,
        8,
        f"inv-{invitation.pk}",
    )


def test_integrator_keys_cannot_use_the_reserved_namespace(api_client, nps_survey, questions):
    body = {
        "survey": nps_survey.public_id,
        "answers": {str(questions["score"]): 6},
        "idempotency_key": "inv-1",
    }
    r = api_client.post("/api/v1/responses", body, format="json")
    assert r.status_code == 400 and "idempotency_key" in r.json()["error"]["fields"]
    assert Response.objects.unscoped().count() == 0


def test_pages_and_the_eligibility_request_refuse_malformed_ids_without_a_query(
    client, django_assert_num_queries
):
    with django_assert_num_queries(0):
        assert client.get("/s/no~such!id").status_code == 404
        assert client.get("/s/" + "x" * 40 + "/thanks").status_code == 404
        assert APIClient().get("/api/v1/public/surveys/no~such!id").status_code == 404
        assert APIClient().options("/api/v1/public/surveys/no~such!id").status_code == 404
