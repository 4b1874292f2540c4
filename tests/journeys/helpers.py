"""Survey responses for journeys tests, written straight through surveys.models."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import count

from django.utils import timezone

_keys = count()


def make_responses(
    touchpoint,
    kind: str,
    scores: list[int],
    *,
    when: datetime | None = None,
    customer=None,
    comment: str = "",
):
    from surveys.models import Response, Survey

    survey, _ = Survey.objects.unscoped().get_or_create(
        organization=touchpoint.organization,
        name=f"{kind} at {touchpoint.key}",
        defaults={"touchpoint": touchpoint},
    )
    when = when or timezone.now() - timedelta(days=3)
    return [
        Response.objects.create(
            organization=touchpoint.organization,
            survey=survey,
            touchpoint=touchpoint,
            customer=customer,
            idempotency_key=f"k{next(_keys)}",
            score_kind=kind,
            score=score,
            comment=comment,
            submitted_at=when,
        )
        for score in scores
    ]
