"""Sealing survey responses into the organization's chain (`cxm.audit.sealing`), after commit and
in batches, so the submit path never waits for it: `seal_responses` (beat, every minute) seals what
was stored since, in storage order; an export seals what is pending, then verifies."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Any

from django.db.models import Exists, OuterRef
from django.utils import timezone

from cxm.audit import chain
from cxm.audit.models import ResponseSeal
from cxm.audit.sealing import response_seals_append, sealed_response_ids

from .models import Answer, Response

SEAL_BATCH = 2000

# What a response says, and nothing a later, legitimate change elsewhere rewrites (the customer and
# touchpoint links are set to null when those are deleted).
RESPONSE_FIELDS = (
    "id",
    "survey_id",
    "channel",
    "locale",
    "page_url",
    "idempotency_key",
    "hidden_fields",
    "score_kind",
    "score",
    "comment",
    "submitted_at",
)


def response_digests(organization_id: int, response_ids: list[int]) -> dict[int, str]:
    """{response id: SHA-256 of its canonical content, answers included} for the ids that exist.
    Read by the range of the ids (a sorted batch is close to contiguous): one index range scan
    each for responses and answers, never a scan per id list."""
    if not response_ids:
        return {}
    wanted = set(response_ids)
    low, high = min(wanted), max(wanted)
    answers: dict[int, list[list[Any]]] = defaultdict(list)
    for row in (
        Answer.objects.for_organization(organization_id)
        .filter(response_id__gte=low, response_id__lte=high)
        .order_by("response_id", "question_id")
        .values_list("response_id", "question_id", "number", "text", "choices")
    ):
        if row[0] in wanted:
            answers[row[0]].append(list(row[1:]))
    digests = {}
    for values in (
        Response.objects.for_organization(organization_id)
        .filter(pk__gte=low, pk__lte=high)
        .values(*RESPONSE_FIELDS)
    ):
        if values["id"] not in wanted:
            continue
        values["answers"] = answers.get(values["id"], [])
        digests[values["id"]] = chain.digest(chain.canonical(values))
    return digests


# A response may still be added to for a while (the comment after the score arrives with the same
# idempotency key); it is sealed once it has been left alone this long.
SEAL_SETTLE = timedelta(minutes=15)

# The periodic run looks only this far below the highest sealed id: a transaction that commits
# later than newer ones (an import batch) is still inside it. An export looks at every row.
RECENT_WINDOW = 50_000


def responses_seal_pending(*, organization_id: int, full: bool = False, limit: int = 100_000) -> int:
    """Seals the organization's settled responses that have no seal yet, oldest first. Idempotent:
    a response already sealed (by a concurrent run) is skipped under the chain's lock."""
    sealed = 0
    candidates = Response.objects.for_organization(organization_id).filter(
        updated_at__lt=timezone.now() - SEAL_SETTLE
    )
    if not full:
        top = (
            ResponseSeal.objects.for_organization(organization_id)
            .order_by("-response_id")
            .values_list("response_id", flat=True)
            .first()
        )
        if top is not None:
            candidates = candidates.filter(pk__gt=top - RECENT_WINDOW)
    after = 0
    while sealed < limit:
        pending = list(
            candidates.filter(pk__gt=after)
            .annotate(
                sealed=Exists(
                    ResponseSeal.objects.unscoped().filter(
                        organization_id=organization_id, response_id=OuterRef("pk")
                    )
                )
            )
            .filter(sealed=False)
            .order_by("pk")
            .values_list("pk", flat=True)[:SEAL_BATCH]
        )
        if not pending:
            break
        after = pending[-1]
        digests = response_digests(organization_id, pending)
        sealed += _append_unsealed(organization_id, [(pk, digests[pk]) for pk in pending if pk in digests])
        if len(pending) < SEAL_BATCH:
            break
    return sealed


def _append_unsealed(organization_id: int, items: list[tuple[int, str]]) -> int:
    from django.db import transaction

    from cxm.audit.models import ResponseSealHead

    with transaction.atomic():
        ResponseSealHead.objects.get_or_create(organization_id=organization_id)
        ResponseSealHead.objects.select_for_update().get(organization_id=organization_id)
        already = sealed_response_ids(organization_id=organization_id, response_ids=[pk for pk, _d in items])
        return response_seals_append(
            organization_id=organization_id, digests=[item for item in items if item[0] not in already]
        )


def responses_reseal(*, organization_id: int, response_ids: list[int], reason: str) -> int:
    """After a legitimate change (an erasure's scrub), the new content of the responses that were
    already sealed is sealed again, with the reason, so the proof stays true and says why."""
    already = sealed_response_ids(organization_id=organization_id, response_ids=response_ids)
    if not already:
        return 0
    digests = response_digests(organization_id, sorted(already))
    return response_seals_append(
        organization_id=organization_id, digests=sorted(digests.items()), reason=reason
    )


def responses_seal_all() -> dict[int, int]:
    """Beat: every organization's recently stored responses. {organization id: sealed}."""
    from cxm.tenancy.models import Organization

    counts = {}
    for organization_id in Organization.objects.order_by("pk").values_list("pk", flat=True):
        count = responses_seal_pending(organization_id=organization_id)
        if count:
            counts[organization_id] = count
    return counts


def responses_unsealed_count(*, organization_id: int) -> int:
    """Responses not sealed yet (stored or added to within SEAL_SETTLE): an export says how many."""
    return (
        Response.objects.for_organization(organization_id)
        .annotate(
            sealed=Exists(
                ResponseSeal.objects.unscoped().filter(
                    organization_id=organization_id, response_id=OuterRef("pk")
                )
            )
        )
        .filter(sealed=False)
        .count()
    )
