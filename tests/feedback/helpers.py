"""Comments for the text tests: NPS responses with an open answer, and feedback records."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from feedback.models import FeedbackRecord
from surveys.models import QuestionKind
from tests.surveys.factories import AnswerFactory, QuestionFactory, ResponseFactory, SurveyFactory


class Comments:
    """A survey with an NPS and an open question, to add scored comments to."""

    def __init__(self, organization: Any, *, touchpoint: Any = None) -> None:
        self.organization = organization
        self.survey = SurveyFactory(organization=organization, touchpoint=touchpoint)
        self.nps = QuestionFactory(survey=self.survey, organization=organization, kind=QuestionKind.NPS)
        self.open = QuestionFactory(survey=self.survey, organization=organization, kind=QuestionKind.TEXT)
        self.touchpoint = touchpoint

    def add(
        self,
        score: int | None,
        text: str,
        *,
        at: datetime | None = None,
        locale: str = "",
        customer: Any = None,
    ) -> Any:
        if customer is not None:
            return self._add(score, text, at=at, locale=locale, customer=customer)
        return self._add(score, text, at=at, locale=locale)

    def _add(self, score: int | None, text: str, *, at: datetime | None, locale: str, **extra: Any) -> Any:
        response = ResponseFactory(
            survey=self.survey,
            organization=self.organization,
            score_kind="nps" if score is not None else "",
            score=score,
            comment=text,
            touchpoint=self.touchpoint,
            locale=locale,
            submitted_at=at or timezone.now(),
            **extra,
        )
        if score is not None:
            AnswerFactory(response=response, organization=self.organization, question=self.nps, number=score)
        if text:
            AnswerFactory(response=response, organization=self.organization, question=self.open, text=text)
        return response


def record(organization: Any, external_id: str, text: str, **fields: Any) -> FeedbackRecord:
    fields.setdefault("channel", "review_site")
    fields.setdefault("occurred_at", timezone.now())
    return FeedbackRecord.objects.create(
        organization=organization, external_id=external_id, text=text, **fields
    )
