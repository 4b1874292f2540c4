"""Alert rules on constructed responses: each condition, a combination, never twice for the same
response, text conditions waiting for the analysis, the test mode, and a detractor submitted through
the public API becoming a case after commit."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from feedback.models import TextSettings
from loop import cases, rules
from loop.models import AlertRule, Case, CaseResponse, RuleMatch, WebhookDelivery
from metrics.models import CustomerValue
from tests.loop.case_fixtures import respond

pytestmark = pytest.mark.django_db(transaction=True)


def _rule(organization, **conditions):
    return cases.rule_create(organization=organization, name="Unhappy", conditions=conditions)


def _evaluate(*responses):
    return cases.responses_evaluate(
        organization_id=responses[0].organization_id, response_ids=[r.pk for r in responses]
    )


def test_a_combination_matches_only_when_every_condition_holds(
    organization, nps_survey, li, shop, notifications
):
    rule = _rule(
        organization,
        score_kind="nps",
        score_max=6,
        keywords=["Refund"],
        channels=["email"],
        touchpoint_ids=[shop.pk],
        customer_property={"name": "plan", "value": "gold"},
    )
    hit = respond(
        nps_survey, score=3, customer=li, comment="I want a REFUND now", touchpoint=shop, channel="email"
    )
    misses = [
        respond(nps_survey, score=7, customer=li, comment="refund", touchpoint=shop, channel="email"),
        respond(nps_survey, score=3, customer=li, comment="slow", touchpoint=shop, channel="email"),
        respond(nps_survey, score=3, customer=li, comment="refund", touchpoint=shop, channel="link"),
        respond(nps_survey, score=3, customer=li, comment="refund", touchpoint=None, channel="email"),
        respond(nps_survey, score=3, customer=None, comment="refund", touchpoint=shop, channel="email"),
    ]
    _evaluate(hit, *misses)
    assert list(RuleMatch.objects.for_organization(organization).values_list("response_id", flat=True)) == [
        hit.pk
    ]
    case = Case.objects.for_organization(organization).get()
    assert case.response_id == hit.pk and case.rule_id == rule.pk and case.customer_id == li.pk
    # The later responses of the same customer (not matching) joined the open case.
    linked = set(CaseResponse.objects.for_organization(organization).values_list("response_id", flat=True))
    assert hit.pk in linked and misses[0].pk in linked and misses[4].pk not in linked
    assert [n["kind"] for n in notifications] == ["case.created"]


def test_a_rule_never_fires_twice_for_the_same_response(organization, nps_survey, li, notifications, owner):
    rule = _rule(organization, score_kind="nps", score_max=6)
    rule.notify_users.set([owner])
    response = respond(nps_survey, score=2, customer=li)
    _evaluate(response)
    _evaluate(response)
    cases.responses_evaluate(organization_id=organization.pk, response_ids=[response.pk, response.pk])
    assert RuleMatch.objects.for_organization(organization).count() == 1
    assert Case.objects.for_organization(organization).count() == 1
    assert [n["kind"] for n in notifications].count("alert.matched") == 1
    alert = next(n for n in notifications if n["kind"] == "alert.matched")
    assert alert["user_ids"] == [owner.pk] and alert["facts"]["score"] == 2
    assert alert["facts"]["value"] is None  # no predicted value yet
    assert alert["facts"]["path"] == f"/cases/{Case.objects.for_organization(organization).get().pk}/"


def test_a_score_drop_against_the_previous_response(organization, nps_survey, li):
    _rule(organization, score_drop=3)
    now = timezone.now()
    first = respond(nps_survey, score=9, customer=li, at=now - timedelta(days=20))
    small = respond(nps_survey, score=7, customer=li, at=now - timedelta(days=10))  # 2 points
    big = respond(nps_survey, score=4, customer=li, at=now)  # 3 points below 7
    _evaluate(first, small, big)
    assert list(RuleMatch.objects.for_organization(organization).values_list("response_id", flat=True)) == [
        big.pk
    ]


def test_value_tier_and_predicted_value(organization, nps_survey, li, make_member, notifications):
    from journeys.models import Customer

    small = Customer.objects.create(organization=organization, external_id="C2")
    CustomerValue.objects.create(
        organization=organization, customer=li, value_tier="high", predicted_clv=50000.0
    )
    CustomerValue.objects.create(
        organization=organization, customer=small, value_tier="high", predicted_clv=50.0
    )
    _rule(organization, score_kind="nps", score_max=6, value_tiers=["high"], min_predicted_value="1000")
    worth = respond(nps_survey, score=5, customer=li)
    cheap = respond(nps_survey, score=5, customer=small)
    unknown = respond(nps_survey, score=5, customer=None)
    notifications.clear()
    _evaluate(worth, cheap, unknown)
    assert [n["facts"]["value"] for n in notifications] == ["50000.00 USD"]
    assert list(RuleMatch.objects.for_organization(organization).values_list("response_id", flat=True)) == [
        worth.pk
    ]


def test_sentiment_waits_for_the_analysis_or_is_skipped_without_text_analytics(organization, nps_survey, li):
    _rule(organization, score_kind="nps", score_max=6, sentiments=["negative"])
    # No text analytics in this organization: the sentiment condition is skipped.
    plain = respond(nps_survey, score=3, customer=li, comment="bad")
    assert _evaluate(plain) == []
    assert RuleMatch.objects.for_organization(organization).filter(response=plain).exists()
    # With text analytics, a comment not analysed yet waits (nothing fires), then matches.
    TextSettings.objects.create(organization=organization, current_version="v1")
    waiting = respond(nps_survey, score=3, comment="terrible service")
    assert _evaluate(waiting) == [waiting.pk]
    assert not RuleMatch.objects.for_organization(organization).filter(response=waiting).exists()
    facts = rules.Facts(text_version="v1", sentiments={waiting.pk: {"negative"}})
    assert (
        rules.rule_evaluate(conditions={"sentiments": ["negative"]}, response=waiting, facts=facts)
        == rules.MATCH
    )
    facts = rules.Facts(text_version="v1", sentiments={waiting.pk: {"positive"}})
    assert (
        rules.rule_evaluate(conditions={"sentiments": ["negative"]}, response=waiting, facts=facts)
        == rules.NO_MATCH
    )
    no_comment = respond(nps_survey, score=3)
    assert _evaluate(no_comment) == []  # no comment, no sentiment: no match, nothing to wait for
    assert not RuleMatch.objects.for_organization(organization).filter(response=no_comment).exists()


def test_the_test_mode_shows_the_last_30_days_without_acting(organization, nps_survey, li, notifications):
    rule = _rule(organization, score_kind="nps", score_max=6)
    now = timezone.now()
    recent = respond(nps_survey, score=1, customer=li, at=now - timedelta(days=3))
    respond(nps_survey, score=1, customer=li, at=now - timedelta(days=40))
    respond(nps_survey, score=9, customer=li, at=now - timedelta(days=2))
    result = rules.rule_test(rule=rule)
    assert [r.pk for r in result.matched] == [recent.pk] and result.examined == 1
    assert not RuleMatch.objects.for_organization(organization).exists()
    assert not Case.objects.for_organization(organization).exists() and notifications == []


@pytest.mark.parametrize(
    ("conditions", "field"),
    [
        ({"score_max": 6}, "score_max"),
        ({"score_kind": "nps", "score_max": 11}, "score_max"),
        ({"score_kind": "nps", "score_min": 7, "score_max": 3}, "score_max"),
        ({"score_kind": "stars"}, "score_kind"),
        ({"sentiments": ["angry"]}, "sentiments"),
        ({"channels": ["pigeon"]}, "channels"),
        ({"survey_ids": [999999]}, "survey_ids"),
        ({"min_predicted_value": "-1"}, "min_predicted_value"),
        ({"customer_property": {"name": "plan"}}, "customer_property"),
        ({"colour": "red"}, "conditions"),
        ({"score_drop": 0}, "score_drop"),
    ],
)
def test_bad_conditions_are_refused_with_a_message(organization, conditions, field):
    with pytest.raises(ValidationError) as refused:
        cases.rule_create(organization=organization, name="x", conditions=conditions)
    assert field in refused.value.message_dict
    assert not AlertRule.objects.for_organization(organization).exists()


def test_another_organizations_survey_is_an_unknown_id(organization, other_organization):
    from surveys import services as survey_services

    theirs = survey_services.survey_create(organization=other_organization, name="Theirs")
    with pytest.raises(ValidationError) as refused:
        cases.rule_create(organization=organization, name="x", conditions={"survey_ids": [theirs.pk]})
    assert "survey_ids" in refused.value.message_dict


def test_a_submitted_detractor_becomes_a_case_and_a_webhook_after_commit(
    api_client,
    client,
    receiver,
    allow_loopback,
    organization,
    nps_survey,
    questions,
    notifications,
    django_capture_on_commit_callbacks,
):
    _rule(organization, score_kind="nps", score_max=6)
    created = api_client.post(
        "/api/v1/webhooks/", {"url": receiver.url, "events": ["case.created"]}, format="json"
    )
    assert created.status_code == 201
    with django_capture_on_commit_callbacks(execute=True):
        answered = client.post(
            f"/api/v1/public/surveys/{nps_survey.public_id}/responses",
            data=json.dumps({"answers": {str(questions["score"]): 2}, "idempotency_key": "d1"}),
            content_type="application/json",
            HTTP_ORIGIN="https://shop.example.com",
        )
    assert answered.status_code == 201
    case = Case.objects.for_organization(organization).get()
    assert case.response_id == answered.json()["id"] and case.status == "new" and case.due_at is not None
    [delivery] = WebhookDelivery.objects.for_organization(organization)
    assert delivery.event_type == "case.created" and delivery.payload["data"]["id"] == case.pk
    [message] = receiver.received
    assert json.loads(message["body"])["data"]["response"] == case.response_id
    assert [n["kind"] for n in notifications] == ["case.created"]


def test_rules_run_in_a_background_task_after_the_answer(
    client, organization, nps_survey, questions, background_tasks
):
    """The embedded default: the submit queues the rules' task to the background threads and answers;
    the task opens the case."""
    from tests.waiting import wait_until

    _rule(organization, score_kind="nps", score_max=6)
    answered = client.post(
        f"/api/v1/public/surveys/{nps_survey.public_id}/responses",
        data=json.dumps({"answers": {str(questions["score"]): 1}, "idempotency_key": "in-background"}),
        content_type="application/json",
        HTTP_ORIGIN="https://shop.example.com",
    )
    assert answered.status_code == 201
    found = wait_until(
        lambda: Case.objects.for_organization(organization).filter(response_id=answered.json()["id"]).first()
    )
    assert found.status == "new" and found.rule.name == "Unhappy"


def test_an_organization_without_rules_queues_nothing(organization, nps_survey, li):
    assert cases.cases_active(organization_id=organization.pk) is False
    _rule(organization, score_kind="nps", score_max=6)
    assert cases.cases_active(organization_id=organization.pk) is True
