"""Fixtures of the alert rule and case tests: constructed responses, members, the notifications the
loop asks for (a real receiver of `notification_requested`)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from django.utils import timezone

from journeys.models import Customer, Touchpoint
from loop.signals import notification_requested
from surveys.models import Response, Survey


@pytest.fixture
def notifications() -> Iterator[list[dict[str, Any]]]:
    received: list[dict[str, Any]] = []

    def receive(sender: Any, **kwargs: Any) -> None:
        received.append(kwargs)

    notification_requested.connect(receive, dispatch_uid="tests-loop-notifications")
    yield received
    notification_requested.disconnect(dispatch_uid="tests-loop-notifications")


@pytest.fixture
def shop(organization: Any) -> Touchpoint:
    return Touchpoint.objects.create(
        organization=organization, name="Shop", key="shop", channel="store", owner="owner@acme.test"
    )


@pytest.fixture
def li(organization: Any) -> Customer:
    return Customer.objects.create(
        organization=organization,
        external_id="C1",
        email="li@example.com",
        name="Li Wei",
        city="Shanghai",
        attributes={"plan": "gold"},
    )


_keys = iter(range(1, 10**9))


def respond(
    survey: Survey,
    *,
    score: int | None,
    customer: Customer | None = None,
    comment: str = "",
    touchpoint: Touchpoint | None = None,
    channel: str = "link",
    at: datetime | None = None,
    kind: str = "nps",
) -> Response:
    return Response.objects.create(
        organization=survey.organization,
        survey=survey,
        customer=customer,
        touchpoint=touchpoint,
        channel=channel,
        idempotency_key=f"k{next(_keys)}",
        score_kind=kind if score is not None else "",
        score=score,
        comment=comment,
        submitted_at=at or timezone.now(),
    )
