"""Writes: building surveys, collecting responses without loss, inviting customers."""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeGuard

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from cxm.tenancy.identity import customer_signature_valid
from cxm.tenancy.models import Organization
from journeys.models import Customer

from . import signals
from .committer import PendingResponse, committer, group_commit_enabled
from .content import TEMPLATES, normalise_language
from .models import (
    CHANNELS,
    Answer,
    Invitation,
    InvitationStatus,
    Question,
    QuestionKind,
    Response,
    ResponseChannel,
    Survey,
    SurveyStatus,
)
from .selectors import (
    SurveySnapshot,
    customers_fatigued_ids,
    snapshot_invalidate,
    survey_fatigue_days,
    survey_snapshot,
    touchpoint_id_for_key,
)

Actor = AbstractBaseUser | AnonymousUser | None
logger = logging.getLogger(__name__)

MAX_TEXT = 5000
MAX_KEY = 128
# Historical answers (imports, integrators) carry their own time: not before 2000, and not later than
# now plus a small allowance for the sender's clock.
EARLIEST_SUBMITTED_AT = datetime(2000, 1, 1, tzinfo=UTC)
SUBMITTED_AT_SKEW = timedelta(minutes=5)
# Idempotency keys the server derives (an invitation's answer); a client's key never starts so.
# "inv-" is how invitations' answers were keyed before: those stored keys stay out of reach too.
RESERVED_KEY_PREFIXES = ("inv:", "inv-")


class SurveyNotAccepting(Exception):
    """The survey is not active (draft, paused or closed): it takes no responses."""

    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


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
    return Survey.objects.create(
        organization=organization,
        name=name,
        languages=languages or ["en", "zh-hans"],
        default_language=default_language,
        touchpoint=touchpoint,
        allowed_origins=allowed_origins or [],
        thank_you=thank_you or {},
        fatigue_days=fatigue_days,
    )


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
            first = first or question
    return survey


def survey_update(*, survey: Survey, **fields: Any) -> Survey:
    for name, value in fields.items():
        setattr(survey, name, value)
    survey.full_clean(exclude=["organization", "touchpoint"])
    survey.save()
    snapshot_invalidate(public_id=survey.public_id)
    return survey


ALLOWED_TRANSITIONS = {
    "activate": (SurveyStatus.ACTIVE, {SurveyStatus.DRAFT, SurveyStatus.PAUSED, SurveyStatus.CLOSED}),
    "pause": (SurveyStatus.PAUSED, {SurveyStatus.ACTIVE}),
    "close": (SurveyStatus.CLOSED, {SurveyStatus.ACTIVE, SurveyStatus.PAUSED, SurveyStatus.DRAFT}),
}


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
    survey.status = target
    survey.save(update_fields=["status", "updated_at"])
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
    snapshot_invalidate(public_id=survey.public_id)
    return question


def question_update(*, question: Question, **fields: Any) -> Question:
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
    snapshot_invalidate(public_id=question.survey.public_id)
    return question


def question_delete(*, question: Question) -> None:
    public_id = question.survey.public_id
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
        for position, q in enumerate(questions):
            if q.position != position:
                q.position = position
                q.save(update_fields=["position"])
    snapshot_invalidate(public_id=question.survey.public_id)


def questions_reorder(*, survey: Survey, order: list[int]) -> None:
    with transaction.atomic():
        questions = {q.id: q for q in survey.questions.select_for_update()}
        if sorted(order) != sorted(questions):
            raise ValidationError({"order": _("Give every question id of the survey exactly once.")})
        for position, pk in enumerate(order):
            questions[pk].position = position
            questions[pk].save(update_fields=["position"])
    snapshot_invalidate(public_id=survey.public_id)


# --- Collecting responses ----------------------------------------------------------------------


@dataclass
class SubmitResult:
    response_id: int
    created: bool
    score_kind: str
    score: int | None
    comment: str
    answers: dict[int, Any]
    idempotency_key: str


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def answers_validate(*, snapshot: SurveySnapshot, answers: Any) -> dict[int, Any]:
    """Types, ranges and known questions. Returns {question id: clean value}; raises ValidationError."""
    if isinstance(answers, dict):
        items = list(answers.items())
    elif isinstance(answers, list):
        items = []
        for entry in answers:
            if not isinstance(entry, dict) or "question" not in entry:
                raise ValidationError(
                    {"answers": _('Each answer is an object {"question": id, "value": …}.')}
                )
            items.append((entry["question"], entry.get("value")))
    else:
        raise ValidationError({"answers": _("Send the answers as an object or a list.")})
    clean: dict[int, Any] = {}
    errors: dict[str, str] = {}
    for raw_id, value in items:
        try:
            qid = int(raw_id)
        except (TypeError, ValueError):
            errors[str(raw_id)[:40]] = _("Unknown question.")
            continue
        q = snapshot.by_id.get(qid)
        if q is None:
            errors[str(qid)] = _("Unknown question.")
            continue
        if value is None:
            continue
        if q.range is not None:
            if not _is_int(value):
                errors[str(qid)] = _("A score must be a whole number.")
            elif not q.range[0] <= value <= q.range[1]:
                errors[str(qid)] = _("The score must be between %(low)d and %(high)d.") % {
                    "low": q.range[0],
                    "high": q.range[1],
                }
            else:
                clean[qid] = value
        elif q.kind == QuestionKind.TEXT:
            if not isinstance(value, str):
                errors[str(qid)] = _("An open answer must be text.")
            elif len(value) > MAX_TEXT:
                errors[str(qid)] = _("An open answer has at most %(n)d characters.") % {"n": MAX_TEXT}
            elif value.strip():
                clean[qid] = value.strip()
        elif q.kind == QuestionKind.SINGLE_CHOICE:
            if not isinstance(value, str):
                errors[str(qid)] = _("A single choice must be one option value.")
            elif value not in q.options:
                errors[str(qid)] = _("Not one of the options.")
            else:
                clean[qid] = value
        elif q.kind == QuestionKind.MULTIPLE_CHOICE:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                errors[str(qid)] = _("A multiple choice must be a list of option values.")
            elif not set(value) <= q.options:
                errors[str(qid)] = _("Not one of the options.")
            elif value:
                clean[qid] = sorted(set(value))
    if errors:
        raise ValidationError({f"answers.{qid}": message for qid, message in errors.items()})
    return clean


def submitted_at_check(*, value: datetime, now: datetime | None = None) -> datetime:
    """A historical answer's own time (aware), or ValidationError on `submitted_at`."""
    if timezone.is_naive(value):
        raise ValidationError({"submitted_at": _("Give the time with its UTC offset.")})
    if value < EARLIEST_SUBMITTED_AT:
        raise ValidationError({"submitted_at": _("The time is before 2000.")})
    if value > (now or timezone.now()) + SUBMITTED_AT_SKEW:
        raise ValidationError({"submitted_at": _("The time is in the future.")})
    return value


def visible_questions(*, snapshot: SurveySnapshot, answers: dict[int, Any]) -> set[int]:
    visible = set()
    for q in snapshot.questions:
        if q.show_if is None:
            visible.add(q.id)
            continue
        source, low, high = q.show_if
        value = answers.get(source)
        if _is_int(value) and low <= value <= high:
            visible.add(q.id)
    return visible


def answers_check_required(*, snapshot: SurveySnapshot, answers: dict[int, Any]) -> dict[int, Any]:
    """The answers the customer was shown; raises ValidationError when a shown required one is missing."""
    return _check_required(snapshot=snapshot, answers=answers)


def _check_required(*, snapshot: SurveySnapshot, answers: dict[int, Any]) -> dict[int, Any]:
    """Drops answers to questions the customer was not shown; raises if a shown required one is missing."""
    visible = visible_questions(snapshot=snapshot, answers=answers)
    missing = [q.id for q in snapshot.questions if q.required and q.id in visible and q.id not in answers]
    if missing:
        raise ValidationError({f"answers.{qid}": _("This question is required.") for qid in missing})
    return {qid: value for qid, value in answers.items() if qid in visible}


def _denormalised(snapshot: SurveySnapshot, answers: dict[int, Any]) -> tuple[str, int | None, str]:
    primary = snapshot.primary
    score = answers.get(primary.id) if primary is not None else None
    comment = next((answers[qid] for qid in snapshot.comment_ids if answers.get(qid)), "")
    return (primary.kind if primary is not None else ""), score, comment


def _answer_columns(snapshot: SurveySnapshot, qid: int, value: Any) -> tuple[int | None, str, list[str]]:
    q = snapshot.by_id[qid]
    if q.range is not None:
        return value, "", []
    if q.kind == QuestionKind.MULTIPLE_CHOICE:
        return None, "", list(value)
    return None, str(value), []


def _answer_value(answer: Answer, snapshot: SurveySnapshot) -> Any:
    q = snapshot.by_id.get(answer.question_id)
    if q is None:
        return answer.text or answer.number
    if q.range is not None:
        return answer.number
    if q.kind == QuestionKind.MULTIPLE_CHOICE:
        return answer.choices
    return answer.text


def _customer_reference(reference: Any) -> tuple[dict[str, Any], str, str]:
    """(the reference as an object, its external id, its email); raises ValidationError for a bad shape."""
    if isinstance(reference, str | int) and not isinstance(reference, bool):
        reference = {"id": str(reference)}
    if not isinstance(reference, dict):
        raise ValidationError({"customer": _("Give the customer as an object with id and/or email.")})
    external_id = str(reference.get("id") or "").strip()[:255]
    email = str(reference.get("email") or "").strip()[:254]
    if email and "@" not in email:
        raise ValidationError({"customer": _("The customer's email is not valid.")})
    return reference, external_id, email


def customer_reference_signed(*, snapshot: SurveySnapshot, reference: Any) -> dict[str, Any] | None:
    """The customer a public caller names, only when its id carries the signature the organization's
    server made (`cxm.tenancy.identity`); else None. No query: the event loop calls it.

    A bare id or an email is a claim anyone can make: it never attaches an answer to a customer nor
    creates one. Raises ValidationError for a reference of the wrong shape, signed or not."""
    if reference in (None, "", {}):
        return None
    reference, external_id, _email = _customer_reference(reference)
    if customer_signature_valid(
        secret=snapshot.widget_secret, external_id=external_id, signature=reference.get("signature")
    ):
        return reference
    return None


def customer_resolve(*, organization_id: int, reference: Any) -> Customer | None:
    """A customer by external id (created when unknown) or by email (never created). The reference
    must be trusted: an integrator's (API key), or a public caller's signed one
    (`customer_reference_signed`)."""
    if reference in (None, "", {}):
        return None
    reference, external_id, email = _customer_reference(reference)
    if external_id:
        customer = Customer.objects.for_organization(organization_id).filter(external_id=external_id).first()
        if customer is not None:
            return customer
        properties = reference.get("properties")
        try:
            with transaction.atomic():
                return Customer.objects.create(
                    organization_id=organization_id,
                    external_id=external_id,
                    email=email,
                    name=str(reference.get("name") or "")[:255],
                    attributes=properties if isinstance(properties, dict) else {},
                    first_seen_at=timezone.now(),
                )
        except IntegrityError:
            return Customer.objects.for_organization(organization_id).get(external_id=external_id)
    if email:
        return (
            Customer.objects.for_organization(organization_id)
            .filter(email__iexact=email)
            .order_by("id")
            .first()
        )
    return None


@dataclass
class PreparedResponse:
    """A validated submission: the columns of a new response and the clean answers, for either write path."""

    snapshot: SurveySnapshot
    clean: dict[int, Any]
    key: str
    row_fields: dict[str, Any]
    customer_id: int | None


def touchpoint_for_submission(*, snapshot: SurveySnapshot, touchpoint_key: str | None) -> int | None:
    """The touchpoint a response belongs to: the one named in the submission, else the survey's."""
    if not touchpoint_key:
        return snapshot.touchpoint_id
    touchpoint_id = touchpoint_id_for_key(organization_id=snapshot.organization_id, key=str(touchpoint_key))
    if touchpoint_id is None:
        raise unknown_touchpoint()
    return touchpoint_id


def unknown_touchpoint() -> ValidationError:
    return ValidationError({"touchpoint": _("Unknown touchpoint key.")})


def response_prepare(
    *,
    snapshot: SurveySnapshot,
    answers: Any,
    customer_id: int | None = None,
    locale: str = "",
    page_url: str = "",
    touchpoint_id: int | None = None,
    channel: str = ResponseChannel.LINK,
    idempotency_key: str | None = None,
    hidden_fields: dict[str, Any] | None = None,
    now: datetime | None = None,
    historical: bool = False,
    server_key: bool = False,
) -> PreparedResponse:
    """Every check a submission passes before anything is written (no query: the event loop calls it).

    `server_key`: the key was derived by the server (an invitation's), not sent by a client.
    A historical answer (imported with its own time) may belong to a survey that is paused or closed
    by now, never to a draft."""
    accepting = (
        snapshot.status != SurveyStatus.DRAFT if historical else snapshot.status == SurveyStatus.ACTIVE
    )
    if not accepting:
        raise SurveyNotAccepting(snapshot.status)
    clean = answers_validate(snapshot=snapshot, answers=answers)
    key = (idempotency_key or "").strip() or uuid.uuid4().hex
    if len(key) > MAX_KEY:
        raise ValidationError({"idempotency_key": _("At most %(n)d characters.") % {"n": MAX_KEY}})
    if not server_key and key[:4].lower() in RESERVED_KEY_PREFIXES:
        raise ValidationError(
            {"idempotency_key": _("Keys starting with “inv:” or “inv-” are reserved; choose another key.")}
        )
    if channel not in CHANNELS:
        raise ValidationError({"channel": _("Unknown channel.")})
    # The columns a new response gets, whichever path writes it (group commit or one transaction).
    row_fields: dict[str, Any] = {
        "organization_id": snapshot.organization_id,
        "survey_id": snapshot.id,
        "touchpoint_id": touchpoint_id,
        "channel": channel,
        "locale": normalise_language(locale)[:16],
        "page_url": (page_url or "")[:2000],
        "idempotency_key": key,
        "hidden_fields": hidden_fields or {},
        "submitted_at": now or timezone.now(),
    }
    return PreparedResponse(snapshot, clean, key, row_fields, customer_id)


def response_pending(*, prepared: PreparedResponse) -> tuple[PendingResponse, dict[int, Any]] | None:
    """The new response for the group committer (and its visible answers), or None when the answers
    alone miss a required one: they may complete an earlier response with the same key, which only
    the ordinary path merges."""
    snapshot = prepared.snapshot
    try:
        visible_answers = _check_required(snapshot=snapshot, answers=prepared.clean)
    except ValidationError:
        return None
    score_kind, score, comment = _denormalised(snapshot, visible_answers)
    pending = PendingResponse(
        **prepared.row_fields,
        customer_id=prepared.customer_id,
        score_kind=score_kind,
        score=score,
        comment=comment,
        answers=[(qid, *_answer_columns(snapshot, qid, v)) for qid, v in visible_answers.items()],
    )
    return pending, visible_answers


def pending_result(
    pending: PendingResponse, visible_answers: dict[int, Any], response_id: int
) -> SubmitResult:
    return SubmitResult(
        response_id,
        True,
        pending.score_kind,
        pending.score,
        pending.comment,
        visible_answers,
        pending.idempotency_key,
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
    if invitation is None and group_commit_enabled() and not transaction.get_connection().in_atomic_block:
        pending = response_pending(prepared=prepared)
        if pending is not None:
            response_id = committer.submit(pending[0])
            if response_id is not None:
                return pending_result(*pending, response_id)
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
            Response.objects.for_organization(snapshot.organization_id)
            .select_for_update()
            .filter(survey_id=snapshot.id, idempotency_key=key)
            .first()
        )
        created = response is None
        existing: dict[int, Answer] = {}
        if response is not None:
            existing = {a.question_id: a for a in response.answers.all()}
        merged = {qid: _answer_value(a, snapshot) for qid, a in existing.items()}
        merged.update(clean)
        visible_answers = _check_required(snapshot=snapshot, answers=merged)
        score_kind, score, comment = _denormalised(snapshot, visible_answers)
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
            number, text, choices = _answer_columns(snapshot, qid, value)
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
        rows = Response.objects.bulk_create(
            [Response(**p.response_columns()) for _index, p, _visible in fresh]
        )
        Answer.objects.bulk_create(
            [
                Answer(
                    organization_id=organization_id,
                    response_id=row.pk,
                    question_id=qid,
                    number=number,
                    text=text,
                    choices=choices,
                )
                for row, (_index, p, _visible) in zip(rows, fresh, strict=True)
                for qid, number, text, choices in p.answers
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
    if customer is not None and not customer.unsubscribed:
        customer.unsubscribed = True
        customer.unsubscribed_at = timezone.now()
        customer.save(update_fields=["unsubscribed", "unsubscribed_at", "updated_at"])
    return customer


@dataclass
class InviteResult:
    invitations: list[Invitation]
    skipped: list[Customer]
    # After commit: whether their send reached the broker (False: it was down; they stay queued).
    dispatched: bool | None = None


def invitations_create(
    *, survey: Survey, customers: list[Customer], language: str | None = None, send: bool = True
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
                Invitation(organization=organization, survey=survey, customer=c, language=str(lang))
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


# --- Privacy ------------------------------------------------------------------------------------


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
        transaction.on_commit(
            lambda: signals.response_recorded.send(
                sender=Response, organization_id=organization_id, response_ids=response_ids
            )
        )
    return len(response_ids)


def on_customer_erased(*, organization_id: int, customer_id: int, **kwargs: Any) -> None:
    """Receiver of `journeys.signals.customer_erased`."""
    customer_responses_scrub(organization_id=organization_id, customer_id=customer_id)
