"""Building surveys: templates, follow-ups, status, duplicate, reorder; fatigue rules."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from surveys import services
from surveys.collection import write
from surveys.models import Question, SurveyStatus
from surveys.selectors import customer_is_fatigued, customers_fatigued_ids, survey_fatigue_days
from tests.surveys.factories import InvitationFactory, ResponseFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("template", "kind", "en", "zh"),
    [
        (
            "nps",
            "nps",
            "How likely are you to recommend us to a friend or colleague?",
            "您有多大可能向朋友或同事推荐我们？",
        ),
        ("csat", "csat", "How satisfied were you with your experience?", "您对本次体验的满意程度如何？"),
        (
            "ces",
            "ces",
            "The company made it easy for me to handle my issue.",
            "公司让我能够轻松地解决我的问题。",
        ),
    ],
)
def test_templates_have_standard_wording_in_both_languages_and_a_why(organization, template, kind, en, zh):
    survey = services.survey_create_from_template(organization=organization, template=template)
    questions = list(survey.questions.order_by("position"))
    assert survey.status == SurveyStatus.DRAFT and survey.languages == ["en", "zh-hans"]
    assert (questions[0].kind, questions[0].text["en"], questions[0].text["zh-hans"]) == (kind, en, zh)
    assert questions[0].required
    follow_ups = [q for q in questions[1:] if q.kind == "text"]
    assert follow_ups and all(q.text["en"] and q.text["zh-hans"] for q in follow_ups)
    if template == "nps":
        assert [(q.show_if["min"], q.show_if["max"]) for q in follow_ups] == [(0, 6), (7, 8), (9, 10)]
        assert {q.show_if["question"] for q in follow_ups} == {questions[0].id}
    assert survey.thank_you["zh-hans"]


def test_status_transitions(organization):
    survey = services.survey_create(organization=organization, name="Empty")
    with pytest.raises(ValidationError):
        services.survey_set_status(survey=survey, action="activate")  # no question yet
    services.question_create(survey=survey, kind="rating", text={"en": "Stars?"})
    assert services.survey_set_status(survey=survey, action="activate").status == "active"
    assert services.survey_set_status(survey=survey, action="pause").status == "paused"
    assert services.survey_set_status(survey=survey, action="activate").status == "active"
    assert services.survey_set_status(survey=survey, action="close").status == "closed"
    with pytest.raises(ValidationError):
        services.survey_set_status(survey=survey, action="pause")
    with pytest.raises(ValidationError):
        services.survey_set_status(survey=survey, action="explode")


def test_duplicate_copies_questions_and_repoints_follow_ups(organization):
    survey = services.survey_create_from_template(organization=organization, template="nps")
    copy = services.survey_duplicate(survey=survey)
    assert copy.pk != survey.pk and copy.status == "draft" and copy.public_id != survey.public_id
    originals = list(survey.questions.order_by("position"))
    copies = list(copy.questions.order_by("position"))
    assert [q.text for q in copies] == [q.text for q in originals]
    assert {q.show_if["question"] for q in copies[1:]} == {copies[0].id}


def test_reorder_and_move(organization):
    survey = services.survey_create_from_template(organization=organization, template="csat")
    a, b = list(survey.questions.order_by("position"))
    services.question_move(question=b, direction=-1)
    assert list(survey.questions.order_by("position").values_list("id", flat=True)) == [b.id, a.id]
    services.questions_reorder(survey=survey, order=[a.id, b.id])
    assert list(survey.questions.order_by("position").values_list("id", flat=True)) == [a.id, b.id]
    with pytest.raises(ValidationError):
        services.questions_reorder(survey=survey, order=[a.id])


def test_question_validation(organization):
    survey = services.survey_create_from_template(organization=organization, template="nps")
    text_q = survey.questions.filter(kind="text").first()
    with pytest.raises(ValidationError) as exc:
        services.question_create(
            survey=survey, kind="single_choice", text={"en": "Pick"}, options=[{"value": "a"}]
        )
    assert "options" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.question_create(
            survey=survey, kind="text", text={"en": "?"}, show_if={"question": text_q.id, "min": 0, "max": 1}
        )
    assert "show_if" in exc.value.message_dict
    with pytest.raises(ValidationError):
        services.question_create(survey=survey, kind="nps", text={"en": "?"}, scale_max=7)
    q = services.question_create(survey=survey, kind="csat", text={"en": "Three?"}, scale_max=3)
    assert q.score_range() == (1, 3) and q.position == 4


def test_csat_scale_variant_is_enforced(organization, client):
    survey = services.survey_create(organization=organization, name="CSAT 1-3")
    q = services.question_create(survey=survey, kind="csat", text={"en": "OK?"}, required=True, scale_max=3)
    services.survey_set_status(survey=survey, action="activate")
    with pytest.raises(ValidationError):
        write.response_submit_for_survey(survey=survey, answers={str(q.id): 4})
    assert write.response_submit_for_survey(survey=survey, answers={str(q.id): 3}).score == 3


def test_fatigue_org_default_override_and_unsubscribed(organization, nps_survey, customer):
    assert survey_fatigue_days(survey=nps_survey, organization=organization) == 30
    organization.settings = {"survey_fatigue_days": 10}
    organization.save()
    assert survey_fatigue_days(survey=nps_survey, organization=organization) == 10
    nps_survey.fatigue_days = 3
    assert survey_fatigue_days(survey=nps_survey, organization=organization) == 3
    assert not customer_is_fatigued(organization=organization, customer=customer, days=10)
    ResponseFactory(survey=nps_survey, customer=customer, submitted_at=timezone.now() - timedelta(days=5))
    assert customer_is_fatigued(organization=organization, customer=customer, days=10)
    assert not customer_is_fatigued(organization=organization, customer=customer, days=3)
    assert not customer_is_fatigued(organization=organization, customer=customer, days=0)
    customer.unsubscribed = True
    assert customer_is_fatigued(organization=organization, customer=customer, days=0)


def test_invited_recently_counts_for_fatigue_but_failed_invitations_do_not(
    organization, nps_survey, customer
):
    InvitationFactory(survey=nps_survey, customer=customer)
    other = InvitationFactory(survey=nps_survey, status="failed").customer
    blocked = customers_fatigued_ids(organization=organization, customer_ids=[customer.id, other.id], days=30)
    assert blocked == {customer.id}


def test_response_in_another_org_does_not_fatigue(organization, other_organization, customer):
    survey = services.survey_create_from_template(organization=other_organization, template="nps")
    ResponseFactory(survey=survey)
    assert not customer_is_fatigued(organization=organization, customer=customer, days=30)


def test_question_ordering_and_kinds_are_saved(organization):
    survey = services.survey_create(organization=organization, name="All kinds")
    for kind in ("nps", "csat", "ces", "rating", "text"):
        services.question_create(survey=survey, kind=kind, text={"en": kind})
    services.question_create(
        survey=survey,
        kind="multiple_choice",
        text={"en": "Which?"},
        options=[{"value": "a", "label": {"en": "A", "zh-hans": "甲"}}, {"value": "b", "label": {"en": "B"}}],
    )
    kinds = list(
        Question.objects.unscoped().filter(survey=survey).order_by("position").values_list("kind", flat=True)
    )
    assert kinds == ["nps", "csat", "ces", "rating", "text", "multiple_choice"]
    services.survey_set_status(survey=survey, action="activate")
    ids = list(survey.questions.order_by("position").values_list("id", flat=True))
    result = write.response_submit_for_survey(
        survey=survey, answers={str(ids[3]): 4, str(ids[5]): ["b", "a"], str(ids[0]): 10}
    )
    assert result.score == 10 and result.score_kind == "nps"
    with pytest.raises(ValidationError):
        write.response_submit_for_survey(survey=survey, answers={str(ids[5]): ["z"]})
    with pytest.raises(ValidationError):
        write.response_submit_for_survey(survey=survey, answers={str(ids[3]): 6})
