"""Factories of surveys data, with the organization as the root: a response belongs to its survey's
organization, an answer to its response's, so a test names the organization once (or not at all)."""

from __future__ import annotations

import factory

from surveys.models import Answer, Invitation, Question, QuestionKind, Response, Survey, SurveyStatus
from tests.factories import OrganizationFactory
from tests.journeys.factories import CustomerFactory


class SurveyFactory(factory.django.DjangoModelFactory):
    """An active survey (what collects and counts), without questions: add them with QuestionFactory."""

    class Meta:
        model = Survey

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Survey {n}")
    status = SurveyStatus.ACTIVE


class QuestionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Question

    survey = factory.SubFactory(SurveyFactory)
    organization = factory.SelfAttribute("survey.organization")
    position = factory.Sequence(lambda n: n)
    kind = QuestionKind.NPS
    text = factory.LazyAttribute(lambda q: {"en": f"{q.kind}?"})


class ResponseFactory(factory.django.DjangoModelFactory):
    """A response as the committer stores it: `score_kind` and `score` are the survey's primary
    question's, given by the test (empty by default, like a response to a text-only survey)."""

    class Meta:
        model = Response

    survey = factory.SubFactory(SurveyFactory)
    organization = factory.SelfAttribute("survey.organization")
    # Never the shape of a test's own keys ("k1"): a factory response beside them never collides.
    idempotency_key = factory.Sequence(lambda n: f"factory-{n}")


class AnswerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Answer

    response = factory.SubFactory(ResponseFactory)
    organization = factory.SelfAttribute("response.organization")
    question = factory.SubFactory(QuestionFactory, survey=factory.SelfAttribute("..response.survey"))


class InvitationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Invitation

    survey = factory.SubFactory(SurveyFactory)
    organization = factory.SelfAttribute("survey.organization")
    customer = factory.SubFactory(
        CustomerFactory, organization=factory.SelfAttribute("..survey.organization")
    )
