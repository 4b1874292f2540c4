"""The official `delighted` Python client, unchanged, against a live server on loopback."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime, timedelta

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore", FutureWarning)  # the client's own notice of Delighted's sunset
    import delighted

from journeys.models import Customer
from metrics.selectors import nps_between
from surveys.models import Invitation, Response

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def client_for(live_server, api_key, survey):
    client = delighted.Client(api_key=api_key, api_base_url=f"{live_server.url}/delighted/v1/")
    return client


def test_people_responses_metrics_unsubscribe_and_delete(client_for, organization, survey, mailoutbox):
    client = client_for
    ann = delighted.Person.create(
        client=client, email="ann@example.com", name="Ann", properties={"plan": "pro"}
    )
    assert ann["email"] == "ann@example.com" and ann["name"] == "Ann"
    assert isinstance(ann["id"], str) and isinstance(ann["created_at"], int)
    assert isinstance(ann["survey_scheduled_at"], int)
    customer = Customer.objects.for_organization(organization).get(pk=int(ann["id"]))
    assert customer.attributes == {"plan": "pro"}
    # The NPS invitation went through the surveys rules (sent, the email in the outbox).
    invitation = Invitation.objects.for_organization(organization).get(customer=customer)
    assert invitation.survey_id == survey.pk
    assert [m.to for m in mailoutbox] == [["ann@example.com"]]
    # Asking again at once: the fatigue rule skips the second invitation.
    again = delighted.Person.create(client=client, email="ANN@example.com")
    assert again["id"] == ann["id"]
    assert Invitation.objects.for_organization(organization).filter(customer=customer).count() == 1

    people = [ann]
    for i in range(4):
        people.append(delighted.Person.create(client=client, email=f"p{i}@example.com", send=False))
    scores = [10, 9, 7, 3, 0]
    created = []
    for person, score in zip(people, scores, strict=True):
        created.append(
            delighted.SurveyResponse.create(
                client=client,
                person=person["id"],
                score=score,
                comment=f"said {score}",
                person_properties={"Region": "EU"},
            )
        )
    assert created[0]["score"] == 10 and created[0]["comment"] == "said 10"
    assert created[0]["person"] == ann["id"] and created[0]["survey_type"] == "nps"
    assert created[0]["person_properties"] == {"Region": "EU"}

    # Page by page, oldest first (the client follows Link rel="next").
    listed = list(delighted.Person.list(client=client, per_page=2).auto_paging_iter())
    assert [p["email"] for p in listed] == [p["email"] for p in people]
    responses = delighted.SurveyResponse.all(client=client, per_page=3, page=2)
    assert [r["score"] for r in responses] == [3, 0]
    expanded = delighted.SurveyResponse.all(client=client, expand=["person"], per_page=1)
    assert expanded[0]["person"]["email"] == "ann@example.com"

    # Metrics: 2 promoters, 1 passive, 2 detractors -> NPS 0; the dashboards' figure too.
    metrics = delighted.Metrics.retrieve(client=client)
    assert metrics == {
        "nps": 0,
        "promoter_count": 2,
        "promoter_percent": 40.0,
        "passive_count": 1,
        "passive_percent": 20.0,
        "detractor_count": 2,
        "detractor_percent": 40.0,
        "response_count": 5,
    }
    now = datetime.now(UTC)
    own = nps_between(
        organization=organization, since=now - timedelta(days=30), until=now + timedelta(seconds=5)
    )
    assert own["nps"] == metrics["nps"] and own["n"] == metrics["response_count"]

    # Update a response: tags and a note.
    first = delighted.SurveyResponse.retrieve(created[1]["id"], client=client)
    first["tags"] = ["pricing"]
    saved = first.save(client=client)
    assert saved["tags"] == ["pricing"] and saved["score"] == 9

    # Unsubscribe, then it is listed.
    assert delighted.Unsubscribe.create(client=client, person_email="p1@example.com") == {"ok": True}
    unsubscribed = delighted.Unsubscribe.all(client=client)
    assert [u["email"] for u in unsubscribed] == ["p1@example.com"]
    assert isinstance(unsubscribed[0]["unsubscribed_at"], int)

    # Delete (erase) a person by email: 202, their data gone, their score kept.
    assert delighted.Person.delete(client=client, email="ann@example.com") == {"ok": True}
    customer.refresh_from_db()
    assert customer.erased_at is not None and customer.email == ""
    assert Response.objects.for_organization(organization).get(pk=int(created[0]["id"])).score == 10
    assert [p["email"] for p in delighted.Person.list(client=client).auto_paging_iter()] == [
        "p0@example.com",
        "p1@example.com",
        "p2@example.com",
        "p3@example.com",
    ]
    assert delighted.Metrics.retrieve(client=client)["response_count"] == 5
