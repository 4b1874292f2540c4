"""Cross-organization cases for surveys routes (see tests/isolation.py)."""

from __future__ import annotations

from typing import Any

from tests.isolation import EXEMPT_MODELS, EXEMPT_ROUTES, RouteCase, register  # noqa: F401


def _survey(org: Any) -> Any:
    from surveys.services import survey_create_from_template

    return survey_create_from_template(organization=org, template="nps")


def _survey_pk(org: Any) -> dict[str, Any]:
    return {"pk": _survey(org).pk}


def _question(org: Any) -> dict[str, Any]:
    survey = _survey(org)
    return {"pk": survey.pk, "question_pk": survey.questions.first().pk}


def _question_pk(org: Any) -> dict[str, Any]:
    return {"pk": _survey(org).questions.first().pk}


def _response(org: Any) -> dict[str, Any]:
    from surveys.collection.write import response_submit_for_survey
    from surveys.services import survey_set_status

    survey = _survey(org)
    survey_set_status(survey=survey, action="activate")
    result = response_submit_for_survey(survey=survey, answers={str(survey.questions.first().pk): 9})
    return {"pk": result.response_id}


def _invitation(org: Any) -> dict[str, Any]:
    from journeys.models import Customer
    from surveys.models import Invitation

    survey = _survey(org)
    customer = Customer.objects.create(organization=org, external_id="X1", email="x@example.com")
    return {"pk": Invitation.objects.create(organization=org, survey=survey, customer=customer).pk}


SURVEY = ("surveys.Survey",)
# Pages
register("survey-edit", RouteCase(_survey_pk, models=SURVEY, methods=("GET", "POST")))
register("question-create", RouteCase(_survey_pk, methods=("GET", "POST")))
register("question-edit", RouteCase(_question, models=("surveys.Question",), methods=("GET", "POST")))
register("question-action", RouteCase(_question, methods=("POST",)))
register("survey-status", RouteCase(_survey_pk, methods=("POST",)))
register("survey-copy", RouteCase(_survey_pk, methods=("POST",)))
register("survey-preview", RouteCase(_survey_pk))
register("survey-share", RouteCase(_survey_pk, models=("surveys.Invitation",), methods=("GET", "POST")))
register("survey-qr", RouteCase(lambda org: {**_survey_pk(org), "fmt": "svg"}))
register("response-detail-page", RouteCase(_response, models=("surveys.Response", "surveys.Answer")))
# API
register("survey-detail", RouteCase(_survey_pk, models=SURVEY, methods=("GET", "PATCH", "PUT", "DELETE")))
for _action in ("publish", "pause", "close", "duplicate", "reorder"):
    register(f"survey-{_action}", RouteCase(_survey_pk, methods=("POST",)))
register(
    "question-detail",
    RouteCase(_question_pk, models=("surveys.Question",), methods=("GET", "PATCH", "DELETE")),
)
register("response-detail", RouteCase(_response, models=("surveys.Response", "surveys.Answer")))
register("invitation-detail", RouteCase(_invitation, models=("surveys.Invitation",)))

EXEMPT_ROUTES.update(
    {
        "response-export": "the parameter is the file format; rows are the requester's organization's",
        "survey-link": "public survey page, reached by the survey's public id",
        "survey-thanks": "public thank-you page, reached by the survey's public id",
        "survey-unsubscribe": "signed unsubscribe token, not a tenant object id",
        "public-survey": "public widget configuration, reached by the survey's public id",
        "public-survey-responses": "public collection endpoint, reached by the survey's public id",
    }
)
