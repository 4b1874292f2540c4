"""Writes: building surveys and inviting customers (collecting responses: `surveys.collection`)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from cxm.audit.services import audit_change, audit_delete, audit_record, stored_snapshot
from cxm.tenancy.models import Organization
from journeys.models import Customer

from .content import TEMPLATES
from .models import (
    Invitation,
    InvitationStatus,
    Question,
    QuestionKind,
    Response,
    Survey,
    SurveyStatus,
)
from .selectors import (
    customers_fatigued_ids,
    snapshot_invalidate,
    survey_fatigue_days,
)

Actor = AbstractBaseUser | AnonymousUser | None
logger = logging.getLogger(__name__)


# --- Building surveys --------------------------------------------------------------------------


def survey_create(
    *,
    organization: Organization,
    name: str,
    languages: list[str] | None = None,
    default_language: str = "en",
    touchpoint: Any = None,
    allowed_origins: list[str] | None = None,
    thank_you: dict[str, str] | None = None,
    fatigue_days: int | None = None,
) -> Survey:
    with transaction.atomic():
        survey = Survey.objects.create(
            organization=organization,
            name=name,
            languages=languages or ["en", "zh-hans"],
            default_language=default_language,
            touchpoint=touchpoint,
            allowed_origins=allowed_origins or [],
            thank_you=thank_you or {},
            fatigue_days=fatigue_days,
        )
        audit_change(action="survey.create", instance=survey)
    return survey


def survey_create_from_template(
    *, organization: Organization, template: str, name: str = "", touchpoint: Any = None, language: str = "en"
) -> Survey:
    """One click: the NPS, CSAT or CES survey with its standard wording and a "why?" follow-up."""
    spec = TEMPLATES[template]
    with transaction.atomic():
        survey = survey_create(
            organization=organization,
            name=name or spec["name"].get(language, spec["name"]["en"]),
            touchpoint=touchpoint,
            thank_you=dict(spec["thank_you"]),
        )
        first: Question | None = None
        for position, q in enumerate(spec["questions"]):
            show_if = dict(q.get("show_if") or {})
            if show_if and first is not None:
                show_if["question"] = first.id
            question = Question.objects.create(
                organization=organization,
                survey=survey,
                position=position,
                kind=q["kind"],
                text=dict(q["text"]),
                required=q.get("required", False),
                show_if=show_if,
            )
            audit_change(action="question.create", instance=question)
            first = first or question
    return survey


@transaction.atomic
def survey_update(*, survey: Survey, **fields: Any) -> Survey:
    before = stored_snapshot(survey)
    for name, value in fields.items():
        setattr(survey, name, value)
    survey.full_clean(exclude=["organization", "touchpoint"])
    survey.save()
    audit_change(action="survey.update", instance=survey, before=before)
    snapshot_invalidate(public_id=survey.public_id)
    return survey


ALLOWED_TRANSITIONS = {
    "activate": (SurveyStatus.ACTIVE, {SurveyStatus.DRAFT, SurveyStatus.PAUSED, SurveyStatus.CLOSED}),
    "pause": (SurveyStatus.PAUSED, {SurveyStatus.ACTIVE}),
    "close": (SurveyStatus.CLOSED, {SurveyStatus.ACTIVE, SurveyStatus.PAUSED, SurveyStatus.DRAFT}),
}


@transaction.atomic
def survey_set_status(*, survey: Survey, action: str) -> Survey:
    """activate (publish), pause or close. Activating needs at least one question."""
    if action not in ALLOWED_TRANSITIONS:
        raise ValidationError({"action": _("Unknown action.")})
    target, sources = ALLOWED_TRANSITIONS[action]
    if survey.status == target:
        return survey
    if survey.status not in sources:
        raise ValidationError(
            {"status": _("A %(status)s survey cannot do this.") % {"status": survey.status}}
        )
    if target == SurveyStatus.ACTIVE and not survey.questions.exists():
        raise ValidationError({"questions": _("Add at least one question before activating.")})
    before = {"status": survey.status}
    survey.status = target
    survey.save(update_fields=["status", "updated_at"])
    audit_record(
        organization=survey.organization_id,
        action=f"survey.{action}",
        object_type="survey",
        object_id=survey.pk,
        object_repr=str(survey),
        before=before,
        after={"status": survey.status},
    )
    snapshot_invalidate(public_id=survey.public_id)
    return survey


def survey_duplicate(*, survey: Survey) -> Survey:
    """A draft copy with the same questions (follow-up conditions re-pointed at the copies)."""
    with transaction.atomic():
        copy = Survey.objects.create(
            organization=survey.organization,
            name=_("%(name)s (copy)") % {"name": survey.name},
            languages=list(survey.languages),
            default_language=survey.default_language,
            touchpoint=survey.touchpoint,
            allowed_origins=list(survey.allowed_origins),
            thank_you=dict(survey.thank_you),
            fatigue_days=survey.fatigue_days,
        )
        mapping: dict[int, int] = {}
        pending: list[Question] = []
        for q in survey.questions.all():
            new = Question.objects.create(
                organization=survey.organization,
                survey=copy,
                position=q.position,
                kind=q.kind,
                text=dict(q.text),
                required=q.required,
                options=list(q.options),
                show_if=dict(q.show_if),
                scale_max=q.scale_max,
            )
            mapping[q.id] = new.id
            if new.show_if.get("question") is not None:
                pending.append(new)
        for new in pending:
            new.show_if["question"] = mapping.get(int(new.show_if["question"]))
            new.save(update_fields=["show_if"])
        audit_change(action="survey.duplicate", instance=copy)
    return copy


def _validate_question(
    *, survey: Survey, kind: str, options: list[Any], show_if: dict[str, Any], scale_max: Any
) -> None:
    errors: dict[str, str] = {}
    if kind not in QuestionKind.values:
        errors["kind"] = _("Unknown question type.")
    if kind in (QuestionKind.SINGLE_CHOICE, QuestionKind.MULTIPLE_CHOICE):
        values = [o.get("value") for o in options if isinstance(o, dict)]
        if (
            len(values) < 2
            or len(values) != len(options)
            or len(set(values)) != len(values)
            or not all(values)
        ):
            errors["options"] = _("Give at least two options with distinct values.")
    if scale_max is not None and (kind != QuestionKind.CSAT or scale_max not in (3, 5, 7)):
        errors["scale_max"] = _("Only CSAT has a choice of scale: 3, 5 or 7.")
    if show_if:
        target = survey.questions.filter(pk=show_if.get("question") or 0).first()
        if target is None or target.score_range() is None:
            errors["show_if"] = _("A follow-up depends on an earlier scored question of this survey.")
        else:
            try:
                low, high = int(show_if.get("min")), int(show_if.get("max"))  # type: ignore[arg-type]
            except (TypeError, ValueError):
                errors["show_if"] = _("Give the range as whole numbers.")
            else:
                if low > high:
                    errors["show_if"] = _("The minimum is above the maximum.")
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def question_create(
    *,
    survey: Survey,
    kind: str,
    text: dict[str, str],
    required: bool = False,
    options: list[Any] | None = None,
    show_if: dict[str, Any] | None = None,
    scale_max: int | None = None,
    position: int | None = None,
) -> Question:
    options, show_if = options or [], show_if or {}
    _validate_question(survey=survey, kind=kind, options=options, show_if=show_if, scale_max=scale_max)
    if position is None:
        highest = survey.questions.aggregate(m=Max("position"))["m"]
        position = 0 if highest is None else highest + 1
    question = Question.objects.create(
        organization=survey.organization,
        survey=survey,
        kind=kind,
        text=text,
        required=required,
        options=options,
        show_if=show_if,
        scale_max=scale_max,
        position=position,
    )
    audit_change(action="question.create", instance=question)
    snapshot_invalidate(public_id=survey.public_id)
    return question


@transaction.atomic
def question_update(*, question: Question, **fields: Any) -> Question:
    before = stored_snapshot(question)
    for name, value in fields.items():
        setattr(question, name, value)
    if question.show_if and int(question.show_if.get("question") or 0) == question.id:
        raise ValidationError({"show_if": _("A question cannot depend on itself.")})
    _validate_question(
        survey=question.survey,
        kind=question.kind,
        options=question.options or [],
        show_if=question.show_if or {},
        scale_max=question.scale_max,
    )
    question.save()
    audit_change(action="question.update", instance=question, before=before)
    snapshot_invalidate(public_id=question.survey.public_id)
    return question


@transaction.atomic
def question_delete(*, question: Question) -> None:
    public_id = question.survey.public_id
    audit_delete(action="question.delete", instance=question)
    question.delete()
    snapshot_invalidate(public_id=public_id)


def question_move(*, question: Question, direction: int) -> None:
    """Swap with the neighbour above (-1) or below (+1); positions are renumbered 0..n-1."""
    with transaction.atomic():
        questions = list(
            Question.objects.for_organization(question.organization_id)
            .select_for_update()
            .filter(survey_id=question.survey_id)
        )
        questions.sort(key=lambda q: (q.position, q.id))
        index = next(i for i, q in enumerate(questions) if q.id == question.id)
        other = index + direction
        if 0 <= other < len(questions):
            questions[index], questions[other] = questions[other], questions[index]
        before = [q.id for q in sorted(questions, key=lambda q: (q.position, q.id))]
        for position, q in enumerate(questions):
            if q.position != position:
                q.position = position
                q.save(update_fields=["position"])
        _audit_order(
            survey_id=question.survey_id,
            organization_id=question.organization_id,
            before=before,
            after=[q.id for q in questions],
        )
    snapshot_invalidate(public_id=question.survey.public_id)


def questions_reorder(*, survey: Survey, order: list[int]) -> None:
    with transaction.atomic():
        questions = {q.id: q for q in survey.questions.select_for_update()}
        if sorted(order) != sorted(questions):
            raise ValidationError({"order": _("Give every question id of the survey exactly once.")})
        before = [q.id for q in sorted(questions.values(), key=lambda q: (q.position, q.id))]
        for position, pk in enumerate(order):
            questions[pk].position = position
            questions[pk].save(update_fields=["position"])
        _audit_order(
            survey_id=survey.pk, organization_id=survey.organization_id, before=before, after=list(order)
        )
    snapshot_invalidate(public_id=survey.public_id)


def _audit_order(*, survey_id: int, organization_id: int, before: list[int], after: list[int]) -> None:
    if before != after:
        audit_record(
            organization=organization_id,
            action="question.reorder",
            object_type="survey",
            object_id=survey_id,
            before={"questions": before},
            after={"questions": after},
        )


# --- Invitations and unsubscribe ---------------------------------------------------------------

UNSUBSCRIBE_SALT = "surveys.unsubscribe"


def unsubscribe_token(*, customer: Customer) -> str:
    return signing.dumps({"o": customer.organization_id, "c": customer.id}, salt=UNSUBSCRIBE_SALT)


def customer_unsubscribe(*, token: str) -> Customer | None:
    """Honour an unsubscribe link: the customer is never surveyed or invited again."""
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    customer = Customer.objects.for_organization(data.get("o")).filter(pk=data.get("c")).first()
    if customer is not None:
        customer_mark_unsubscribed(customer=customer)
    return customer


def customer_mark_unsubscribed(*, customer: Customer) -> Customer:
    """The customer is never surveyed or invited again (an unsubscribe link, an integrator's request)."""
    if not customer.unsubscribed:
        customer.unsubscribed = True
        customer.unsubscribed_at = timezone.now()
        customer.save(update_fields=["unsubscribed", "unsubscribed_at", "updated_at"])
    return customer


def response_hidden_fields_set(*, response: Response, hidden_fields: dict[str, Any]) -> None:
    """Replaces the hidden fields (properties) of a response; its answers and scores do not change."""
    Response.objects.for_organization(response.organization_id).filter(pk=response.pk).update(
        hidden_fields=hidden_fields, updated_at=timezone.now()
    )
    response.hidden_fields = hidden_fields


def invitations_cancel_queued(*, organization: Organization, customer: Customer) -> int:
    """Skips the customer's invitations that are still queued and not being sent; returns how many."""
    return (
        Invitation.objects.for_organization(organization)
        .filter(customer=customer, status=InvitationStatus.QUEUED, sending_at__isnull=True)
        .update(status=InvitationStatus.SKIPPED, error="canceled before it was sent")
    )


@dataclass
class InviteResult:
    invitations: list[Invitation]
    skipped: list[Customer]
    # After commit: whether their send reached the broker (False: it was down; they stay queued).
    dispatched: bool | None = None


def invitations_create(
    *,
    survey: Survey,
    customers: list[Customer],
    language: str | None = None,
    send: bool = True,
    personalisation: dict[str, str] | None = None,
) -> InviteResult:
    """Queue one invitation per eligible customer (fatigue and unsubscribe honoured); after commit,
    try to send them (with `send=False`, or the broker down, `invitations_sweep` sends them later)."""
    if survey.status != SurveyStatus.ACTIVE:
        raise ValidationError({"survey": _("Only an active survey can be sent.")})
    organization = survey.organization
    days = survey_fatigue_days(survey=survey, organization=organization)
    with transaction.atomic():
        blocked = customers_fatigued_ids(
            organization=organization, customer_ids=[c.id for c in customers], days=days
        )
        eligible = [c for c in customers if c.id not in blocked and c.email]
        skipped = [c for c in customers if c.id in blocked or not c.email]
        lang = language if language in (survey.languages or []) else survey.default_language
        invitations = Invitation.objects.bulk_create(
            [
                Invitation(
                    organization=organization,
                    survey=survey,
                    customer=c,
                    language=str(lang),
                    personalisation=personalisation or {},
                )
                for c in {c.id: c for c in eligible}.values()
            ]
        )
        result = InviteResult(invitations, skipped)
        if send and invitations:
            ids = [i.id for i in invitations]

            def dispatch() -> None:
                result.dispatched = invitations_dispatch(invitation_ids=ids)

            transaction.on_commit(dispatch)
    return result


# The invitation rows are the outbox and the broker message only a nudge: the request queues rows
# and, after commit, tries to send them; beat's `invitations_sweep` sends again the ones whose message
# never reached the broker or was lost (or whose email failed), at most INVITATION_MAX_ATTEMPTS times.
# A queued invitation never sent (the broker was down) is sent again after this long.
INVITATION_UNSENT_AFTER = timedelta(minutes=1)
# One sent to the broker this long ago and still queued (its message lost, its email failed) is sent again.
INVITATION_REQUEUE_AFTER = timedelta(minutes=30)
# A send that claimed an invitation this long ago and never finished was killed (the task's time
# limit is 5 minutes): it may have reached the mail server, so it is failed, not sent twice.
INVITATION_SENDING_STALE_AFTER = timedelta(minutes=30)
INVITATION_MAX_ATTEMPTS = 3
# One still not sent this long after it was created is failed, not sent: the question comes too late
# (and rows queued before invitations were swept are not all mailed at once).
INVITATION_EXPIRES_AFTER = timedelta(days=7)
# Ids per task message, so that one message's emails fit in the task's time limit.
INVITATION_DISPATCH_BATCH = 200


def invitations_dispatch(*, invitation_ids: list[int]) -> bool:
    """Sends the send task of these invitations to the broker (in batches) and notes when. With the
    broker down they stay queued, a warning is logged, nothing is raised: the sweep sends them once it
    is back. True if every batch was sent."""
    from kombu.exceptions import OperationalError as BrokerUnreachable

    from .tasks import send_invitation_emails

    for start in range(0, len(invitation_ids), INVITATION_DISPATCH_BATCH):
        batch = invitation_ids[start : start + INVITATION_DISPATCH_BATCH]
        try:
            # Nobody waits for the result: no result subscription to set up.
            send_invitation_emails.apply_async((batch,), ignore_result=True)
        except BrokerUnreachable as exc:
            logger.warning(
                "%d invitation(s) from id %s: the broker is unreachable (%s); they stay queued",
                len(invitation_ids) - start,
                batch[0],
                exc,
            )
            return False
        Invitation.objects.unscoped().filter(pk__in=batch).update(
            dispatched_at=timezone.now(), attempts=F("attempts") + 1
        )
    return True


def invitations_sweep(
    *, now: datetime | None = None, dispatch: Callable[[list[int]], bool] | None = None
) -> dict[str, int]:
    """Beat: sends again the queued invitations nothing is sending (never sent after
    INVITATION_UNSENT_AFTER, or sent INVITATION_REQUEUE_AFTER ago), fails the ones already sent
    INVITATION_MAX_ATTEMPTS times, the ones INVITATION_EXPIRES_AFTER old and the ones whose send was
    killed half way, with a reason."""
    now = now or timezone.now()
    send = dispatch or (lambda ids: invitations_dispatch(invitation_ids=ids))
    counts = {"sent": 0, "failed": 0}
    queued = Invitation.objects.unscoped().filter(status=InvitationStatus.QUEUED)
    counts["failed"] += queued.filter(sending_at__lt=now - INVITATION_SENDING_STALE_AFTER).update(
        status=InvitationStatus.FAILED,
        error="The send was interrupted (its worker stopped) and may have reached the mail server; "
        "it is not sent again.",
    )
    due = queued.filter(sending_at__isnull=True).filter(
        Q(dispatched_at__isnull=True, created_at__lt=now - INVITATION_UNSENT_AFTER)
        | Q(dispatched_at__lt=now - INVITATION_REQUEUE_AFTER)
    )
    counts["failed"] += due.filter(created_at__lt=now - INVITATION_EXPIRES_AFTER).update(
        status=InvitationStatus.FAILED, error="Not sent within 7 days of its creation: too late to ask."
    )
    for invitation_id, attempts, error in due.filter(attempts__gte=INVITATION_MAX_ATTEMPTS).values_list(
        "pk", "attempts", "error"
    ):
        reason = f"Not sent after {attempts} attempts: " + (error or "no worker took the send task.")
        counts["failed"] += due.filter(pk=invitation_id).update(
            status=InvitationStatus.FAILED, error=reason[:500]
        )
    ids = list(due.filter(attempts__lt=INVITATION_MAX_ATTEMPTS).order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), INVITATION_DISPATCH_BATCH):
        batch = ids[start : start + INVITATION_DISPATCH_BATCH]
        if not send(batch):
            break  # the broker is down: the next sweep tries again
        counts["sent"] += len(batch)
    return counts


def invitation_send(*, invitation_id: int) -> str:
    """Send one invitation email (HTML and text), at most once: the send first claims the queued
    invitation with a conditional update, so of two sends that race only one emails it. A failed
    email leaves it queued (the sweep tries again)."""
    from .emails import invitation_message

    claimed_at = timezone.now()
    claimed = (
        Invitation.objects.unscoped()
        .filter(pk=invitation_id, status=InvitationStatus.QUEUED, sending_at__isnull=True)
        .update(sending_at=claimed_at)
    )
    if not claimed:
        return "ignored"
    invitation = (
        Invitation.objects.unscoped()
        .select_related("survey", "customer", "organization")
        .filter(pk=invitation_id)
        .first()
    )
    if invitation is None:  # deleted since (with its survey)
        return "ignored"
    mine = Invitation.objects.unscoped().filter(
        pk=invitation_id, status=InvitationStatus.QUEUED, sending_at=claimed_at
    )
    if invitation.customer.unsubscribed or not invitation.customer.email:
        mine.update(status=InvitationStatus.SKIPPED)
        return "skipped"
    if invitation.survey.status != SurveyStatus.ACTIVE:
        mine.update(status=InvitationStatus.SKIPPED, error="survey not active")
        return "skipped"
    try:
        invitation_message(invitation=invitation).send()
    except Exception as exc:  # noqa: BLE001  (recorded on the invitation; the sweep sends it again)
        logger.warning("invitation %s: the email could not be sent (%s)", invitation_id, exc)
        mine.update(sending_at=None, error=str(exc)[:500])
        return "failed"
    mine.update(status=InvitationStatus.SENT, sent_at=timezone.now(), error="")
    return "sent"
