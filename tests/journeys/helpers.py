"""Survey responses for journeys tests: one survey per kind and touchpoint, its responses from the factory."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone


def make_responses(
    touchpoint,
    kind: str,
    scores: list[int],
    *,
    when: datetime | None = None,
    customer=None,
    comment: str = "",
):
    from surveys.models import Survey
    from tests.surveys.factories import ResponseFactory

    survey, _ = Survey.objects.unscoped().get_or_create(
        organization=touchpoint.organization,
        name=f"{kind} at {touchpoint.key}",
        defaults={"touchpoint": touchpoint},
    )
    when = when or timezone.now() - timedelta(days=3)
    return [
        ResponseFactory(
            survey=survey,
            touchpoint=touchpoint,
            customer=customer,
            score_kind=kind,
            score=score,
            comment=comment,
            submitted_at=when,
        )
        for score in scores
    ]
