"""What surveys does when journeys erases a customer (`journeys.signals.customer_erased`): the free
text and hidden fields of their responses go; the scores stay, so no figure moves."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from . import signals
from .models import Answer, Response
from .sealing import responses_reseal


def customer_responses_scrub(*, organization_id: int, customer_id: int) -> int:
    """Removes what an erased customer wrote or was tagged with from their responses: comments,
    open-ended answers and hidden fields. Scores, choices and times stay, so every figure is
    unchanged. Returns how many responses were scrubbed; tells metrics (its snapshots show comments)."""
    with transaction.atomic():
        responses = Response.objects.for_organization(organization_id).filter(customer_id=customer_id)
        response_ids = list(responses.values_list("id", flat=True))
        if not response_ids:
            return 0
        responses.update(comment="", hidden_fields={}, updated_at=timezone.now())
        Answer.objects.for_organization(organization_id).filter(response_id__in=response_ids).exclude(
            text=""
        ).update(text="")
        # The scrubbed content is sealed again, saying why, so the export proof stays true.
        responses_reseal(organization_id=organization_id, response_ids=response_ids, reason="erased")
        transaction.on_commit(
            lambda: signals.response_recorded.send(
                sender=Response, organization_id=organization_id, response_ids=response_ids
            )
        )
    return len(response_ids)


def on_customer_erased(*, organization_id: int, customer_id: int, **kwargs: Any) -> None:
    """Receiver of `journeys.signals.customer_erased`."""
    customer_responses_scrub(organization_id=organization_id, customer_id=customer_id)
