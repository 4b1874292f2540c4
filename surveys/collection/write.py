"""The ORM write of a submission: one transaction that creates the response or merges into the one
with the same idempotency key, for every server that is not the ASGI lane's group commit (runserver,
WSGI, the link page, the integrator API, CSV imports), and for what the group commit hands back.
`response_recorded` is sent by `transaction.on_commit`, never before the commit."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction

from journeys.models import Customer
from journeys.services import customer_resolve

from .. import signals
from ..models import Answer, Invitation, InvitationStatus, Response, ResponseChannel, Survey
from ..selectors import SurveySnapshot, survey_snapshot, touchpoint_id_for_key
from .batch import PendingResponse
from .fields import service_kwargs
from .rules import (
    PreparedResponse,
    SubmitResult,
    answer_columns,
    answer_value,
    answers_check_required,
    answers_denormalised,
    customer_reference_signed,
    pending_result,
    response_pending,
    response_prepare,
    submitted_at_check,
    unknown_touchpoint,
)


def touchpoint_for_submission(*, snapshot: SurveySnapshot, touchpoint_key: str | None) -> int | None:
    """The touchpoint a response belongs to: the one named in the submission, else the survey's."""
    if not touchpoint_key:
        return snapshot.touchpoint_id
    touchpoint_id = touchpoint_id_for_key(organization_id=snapshot.organization_id, key=str(touchpoint_key))
    if touchpoint_id is None:
        raise unknown_touchpoint()
    return touchpoint_id


def submit_envelope(
    *,
    snapshot: SurveySnapshot,
    data: dict[str, Any],
    idempotency_header: str,
    default_channel: str,
    trusted_identity: bool = False,
    submitted_at: datetime | None = None,
) -> SubmitResult:
    """The one mapping of a submission envelope onto `response_submit`, for every collection endpoint.

    `trusted_identity`: the caller is the organization itself (an API key), whose customer ids need
    no signature; a public caller's customer counts only when signed. Only the integrator API (an
    API key that may write) passes `submitted_at`; the public endpoint never reads it from the envelope."""
    reference = data.get("customer")
    if not trusted_identity:
        reference = customer_reference_signed(snapshot=snapshot, reference=reference)
    customer = customer_resolve(organization_id=snapshot.organization_id, reference=reference)
    return response_submit(
        snapshot=snapshot,
        answers=data["answers"],
        customer=customer,
        submitted_at=submitted_at,
        **service_kwargs(data, idempotency_header=idempotency_header, default_channel=default_channel),
    )


def response_submit(
    *,
    snapshot: SurveySnapshot,
    answers: Any,
    customer: Customer | None = None,
    locale: str = "",
    page_url: str = "",
    touchpoint_key: str | None = None,
    channel: str = ResponseChannel.LINK,
    idempotency_key: str | None = None,
    hidden_fields: dict[str, Any] | None = None,
    invitation: Invitation | None = None,
    now: datetime | None = None,
    submitted_at: datetime | None = None,
) -> SubmitResult:
    """Record (or add to) the response for this idempotency key; returns only after commit.

    The same key again stores nothing twice; with new answers (the comment after the score) it adds
    them, and a changed answer replaces the earlier one (a customer may change their score).
    `submitted_at` records a historical answer at its own time (integrators importing history).
    With an invitation the key is the invitation's own (`invitation_response_key`), whatever was sent.
    """
    if submitted_at is not None:
        now = submitted_at_check(value=submitted_at)
    if invitation is not None:
        idempotency_key = invitation_response_key(invitation=invitation)
    prepared = response_prepare(
        snapshot=snapshot,
        answers=answers,
        customer_id=customer.id if customer is not None else None,
        locale=locale,
        page_url=page_url,
        touchpoint_id=touchpoint_for_submission(snapshot=snapshot, touchpoint_key=touchpoint_key),
        channel=channel,
        idempotency_key=idempotency_key,
        hidden_fields=hidden_fields,
        now=now,
        historical=submitted_at is not None,
        server_key=invitation is not None,
    )
    return response_write(prepared=prepared, invitation=invitation)


def response_write(
    *, prepared: PreparedResponse, invitation: Invitation | None = None, notify: bool = True
) -> SubmitResult:
    """The ordinary path: one transaction that creates the response or merges into the one with this key.
    A CSV import passes notify=False and sends `response_recorded` once per batch."""
    for attempt in range(2):
        try:
            return _submit_one(prepared=prepared, invitation=invitation, notify=notify)
        except IntegrityError:
            if attempt:  # a concurrent first submission won the insert; the second try merges into it
                raise
    raise AssertionError("unreachable")


def _submit_one(*, prepared: PreparedResponse, invitation: Invitation | None, notify: bool) -> SubmitResult:
    snapshot, clean, key, customer_id = prepared.snapshot, prepared.clean, prepared.key, prepared.customer_id
    now = prepared.row_fields["submitted_at"]
    with transaction.atomic():
        response = (
            Response.objects.select_for_update()
            .for_organization(snapshot.organization_id)
            .filter(survey_id=snapshot.id, idempotency_key=key)
            .first()
        )
        created = response is None
        existing: dict[int, Answer] = {}
        if response is not None:
            existing = {a.question_id: a for a in response.answers.all()}
        merged = {qid: answer_value(a, snapshot) for qid, a in existing.items()}
        merged.update(clean)
        visible_answers = answers_check_required(snapshot=snapshot, answers=merged)
        score_kind, score, comment = answers_denormalised(snapshot, visible_answers)
        if response is None:
            with transaction.atomic():
                response = Response.objects.create(
                    **prepared.row_fields,
                    customer_id=customer_id,
                    score_kind=score_kind,
                    score=score,
                    comment=comment,
                )
        changed = created
        to_create = []
        for qid, value in visible_answers.items():
            number, text, choices = answer_columns(snapshot, qid, value)
            answer = existing.get(qid)
            if answer is None:
                to_create.append(
                    Answer(
                        organization_id=snapshot.organization_id,
                        response=response,
                        question_id=qid,
                        number=number,
                        text=text,
                        choices=choices,
                    )
                )
            elif (answer.number, answer.text, answer.choices) != (number, text, choices):
                answer.number, answer.text, answer.choices = number, text, choices
                answer.save(update_fields=["number", "text", "choices"])
                changed = True
        stale = [a.id for qid, a in existing.items() if qid not in visible_answers]
        if stale:
            Answer.objects.for_organization(snapshot.organization_id).filter(id__in=stale).delete()
            changed = True
        if to_create:
            Answer.objects.bulk_create(to_create)
            changed = True
        if not created:
            updates = {
                "score_kind": score_kind,
                "score": score,
                "comment": comment,
            }
            if customer_id is not None and response.customer_id is None:
                updates["customer_id"] = customer_id  # type: ignore[assignment]
            dirty = [k for k, v in updates.items() if getattr(response, k) != v]
            if dirty:
                for k in dirty:
                    setattr(response, k, updates[k])
                response.save(update_fields=[*dirty, "updated_at"])
                changed = True
        if invitation is not None and (
            invitation.response_id != response.id or invitation.status != InvitationStatus.ANSWERED
        ):
            Invitation.objects.for_organization(invitation.organization_id).filter(pk=invitation.pk).update(
                status=InvitationStatus.ANSWERED,
                response=response,
                answered_at=invitation.answered_at or now,
            )
        if changed and notify:
            organization_id, response_id = snapshot.organization_id, response.id
            transaction.on_commit(
                lambda: signals.response_recorded.send(
                    sender=Response, organization_id=organization_id, response_ids=[response_id]
                )
            )
    return SubmitResult(response.id, created, score_kind, score, comment, visible_answers, key)


def responses_write_many(*, items: list[PreparedResponse]) -> list[SubmitResult]:
    """Many validated responses of one organization in one transaction (a CSV import of history).

    Responses under new idempotency keys are inserted in bulk (three queries for the batch); a key
    already stored, or repeated within the batch, merges through `response_write` as a resubmission
    would. Sends no signal: the caller sends `response_recorded` once, after commit.
    """
    if not items:
        return []
    organization_id = items[0].snapshot.organization_id
    results: list[SubmitResult | None] = [None] * len(items)
    with transaction.atomic():
        stored = set(
            Response.objects.for_organization(organization_id)
            .filter(idempotency_key__in={item.key for item in items})
            .values_list("survey_id", "idempotency_key")
        )
        fresh: list[tuple[int, PendingResponse, dict[int, Any]]] = []
        later: list[int] = []
        for index, item in enumerate(items):
            identity = (item.snapshot.id, item.key)
            pending = None if identity in stored else response_pending(prepared=item)
            if pending is None:
                later.append(index)
                continue
            stored.add(identity)
            fresh.append((index, *pending))
        rows = Response.objects.bulk_create([Response(**p.columns) for _index, p, _visible in fresh])
        Answer.objects.bulk_create(
            [
                Answer(organization_id=organization_id, response_id=row.pk, **answer)
                for row, (_index, p, _visible) in zip(rows, fresh, strict=True)
                for answer in p.answers
            ]
        )
        for row, (index, p, visible) in zip(rows, fresh, strict=True):
            results[index] = pending_result(p, visible, row.pk)
        for index in later:
            results[index] = response_write(prepared=items[index], notify=False)
    return [result for result in results if result is not None]


def invitation_response_key(*, invitation: Invitation) -> str:
    """The idempotency key of an invitation's answer, derived from its unguessable token (never from
    its sequential id), in the reserved namespace no client key may use. An invitation answered
    before keeps the key its response has."""
    if invitation.response_id is not None:
        stored = (
            Response.objects.for_organization(invitation.organization_id)
            .filter(pk=invitation.response_id)
            .values_list("idempotency_key", flat=True)
            .first()
        )
        if stored:
            return stored
    digest = hashlib.sha256(f"cxm-invitation:{invitation.token}".encode()).hexdigest()
    return f"inv:{digest}"


def response_submit_for_survey(*, survey: Survey, **kwargs: Any) -> SubmitResult:
    snapshot = survey_snapshot(public_id=survey.public_id)
    assert snapshot is not None
    return response_submit(snapshot=snapshot, **kwargs)
