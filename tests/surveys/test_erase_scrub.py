"""Erasing a customer (API or page) scrubs what surveys holds about them: comments, open answers,
hidden fields. Scores and choices stay, so the figures do not move."""

from __future__ import annotations

import pytest

from cxm.tenancy.roles import Role
from surveys.models import Answer, Question, Response, Survey
from tests.journeys.factories import CustomerFactory, TouchpointFactory


def _answered(organization, customer, other):
    touchpoint = TouchpointFactory(stage__journey__organization=organization, key="web")
    survey = Survey.objects.create(organization=organization, name="NPS", touchpoint=touchpoint)
    nps = Question.objects.create(organization=organization, survey=survey, kind="nps", position=1)
    why = Question.objects.create(organization=organization, survey=survey, kind="text", position=2)
    reason = Question.objects.create(
        organization=organization,
        survey=survey,
        kind="single_choice",
        position=3,
        options=[{"value": "price"}, {"value": "service"}],
    )
    rows = {}
    for who, key in ((customer, "erased"), (other, "kept")):
        response = Response.objects.create(
            organization=organization,
            survey=survey,
            customer=who,
            touchpoint=touchpoint,
            idempotency_key=key,
            score_kind="nps",
            score=4,
            comment=f"Call me at 138 0000 {key}",
            hidden_fields={"order": f"A-{key}", "email": f"{key}@example.com"},
        )
        Answer.objects.create(organization=organization, response=response, question=nps, number=4)
        Answer.objects.create(organization=organization, response=response, question=why, text=f"I am {key}")
        Answer.objects.create(
            organization=organization, response=response, question=reason, choices=["price"]
        )
        rows[key] = response.pk
    return rows


def _assert_scrubbed(rows):
    erased = Response.objects.unscoped().get(pk=rows["erased"])
    assert (erased.comment, erased.hidden_fields, erased.score, erased.score_kind) == ("", {}, 4, "nps")
    answers = {a.question.kind: a for a in Answer.objects.unscoped().filter(response_id=rows["erased"])}
    assert (
        answers["text"].text == ""
        and answers["nps"].number == 4
        and answers["single_choice"].choices == ["price"]
    )
    # Another customer's answers are untouched.
    kept = Response.objects.unscoped().get(pk=rows["kept"])
    assert kept.comment == "Call me at 138 0000 kept" and kept.hidden_fields["email"] == "kept@example.com"
    assert Answer.objects.unscoped().get(response_id=rows["kept"], question__kind="text").text == "I am kept"


@pytest.mark.django_db
def test_erase_through_the_api_scrubs_comments_answers_and_hidden_fields(
    client, organization, make_member, django_capture_on_commit_callbacks
):
    customer = CustomerFactory(organization=organization, external_id="C1", name="Zhang Wei")
    other = CustomerFactory(organization=organization, external_id="C2")
    rows = _answered(organization, customer, other)
    client.force_login(make_member(organization, Role.ADMIN))
    with django_capture_on_commit_callbacks(execute=True):
        erased = client.post("/api/v1/customers/C1/erase/")
    assert erased.status_code == 200, erased.content
    _assert_scrubbed(rows)
    # The privacy export of the erased customer no longer carries what they wrote.
    exported = client.get(f"/customers/{customer.pk}/export/").json()
    assert [r["comment"] for r in exported["responses"]] == [""]
    assert exported["responses"][0]["hidden_fields"] == {} and exported["responses"][0]["score"] == 4


@pytest.mark.django_db
def test_erase_from_the_customer_page_scrubs_the_responses(
    client, organization, other_organization, make_member, django_capture_on_commit_callbacks
):
    customer = CustomerFactory(organization=organization, external_id="C1")
    other = CustomerFactory(organization=organization, external_id="C2")
    rows = _answered(organization, customer, other)
    # The same external id in another organization keeps its responses.
    foreign_customer = CustomerFactory(organization=other_organization, external_id="C1")
    foreign = _answered(
        other_organization, foreign_customer, CustomerFactory(organization=other_organization)
    )
    client.force_login(make_member(organization, Role.ADMIN))
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/customers/{customer.pk}/erase/").status_code == 302
    _assert_scrubbed(rows)
    assert Response.objects.unscoped().get(pk=foreign["erased"]).comment == "Call me at 138 0000 erased"
    html = client.get(f"/customers/{customer.pk}/").content.decode()
    assert "138 0000" not in html and "I am erased" not in html
