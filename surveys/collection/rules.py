"""The rules of a submission that need no query, so the event loop may run them: the survey
accepts responses, the answers fit the survey's snapshot (types, ranges, options, required questions
and follow-ups shown), the idempotency key and channel are valid, a public caller's customer counts
only when signed. `response_prepare` runs them all and yields what either write path stores."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeGuard

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from cxm.tenancy.identity import customer_signature_valid
from journeys.services import customer_reference_parse

from ..content import normalise_language
from ..models import CHANNELS, Answer, QuestionKind, ResponseChannel, SurveyStatus
from ..selectors import SurveySnapshot
from .batch import PendingResponse

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
    """The answers the customer was shown (the others dropped); ValidationError when a shown required
    one is missing."""
    visible = visible_questions(snapshot=snapshot, answers=answers)
    missing = [q.id for q in snapshot.questions if q.required and q.id in visible and q.id not in answers]
    if missing:
        raise ValidationError({f"answers.{qid}": _("This question is required.") for qid in missing})
    return {qid: value for qid, value in answers.items() if qid in visible}


def answers_denormalised(snapshot: SurveySnapshot, answers: dict[int, Any]) -> tuple[str, int | None, str]:
    primary = snapshot.primary
    score = answers.get(primary.id) if primary is not None else None
    comment = next((answers[qid] for qid in snapshot.comment_ids if answers.get(qid)), "")
    return (primary.kind if primary is not None else ""), score, comment


def answer_columns(snapshot: SurveySnapshot, qid: int, value: Any) -> tuple[int | None, str, list[str]]:
    q = snapshot.by_id[qid]
    if q.range is not None:
        return value, "", []
    if q.kind == QuestionKind.MULTIPLE_CHOICE:
        return None, "", list(value)
    return None, str(value), []


def answer_value(answer: Answer, snapshot: SurveySnapshot) -> Any:
    q = snapshot.by_id.get(answer.question_id)
    if q is None:
        return answer.text or answer.number
    if q.range is not None:
        return answer.number
    if q.kind == QuestionKind.MULTIPLE_CHOICE:
        return answer.choices
    return answer.text


def customer_reference_signed(*, snapshot: SurveySnapshot, reference: Any) -> dict[str, Any] | None:
    """The customer a public caller names, only when its id carries the signature the organization's
    server made (`cxm.tenancy.identity`); else None. No query: the event loop calls it.

    A bare id or an email is a claim anyone can make: it never attaches an answer to a customer nor
    creates one. Raises ValidationError for a reference of the wrong shape, signed or not."""
    if reference in (None, "", {}):
        return None
    reference, external_id, _email = customer_reference_parse(reference)
    if customer_signature_valid(
        secret=snapshot.widget_secret, external_id=external_id, signature=reference.get("signature")
    ):
        return reference
    return None


@dataclass
class PreparedResponse:
    """A validated submission: the columns of a new response and the clean answers, for either write path."""

    snapshot: SurveySnapshot
    clean: dict[int, Any]
    key: str
    row_fields: dict[str, Any]
    customer_id: int | None


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
        visible_answers = answers_check_required(snapshot=snapshot, answers=prepared.clean)
    except ValidationError:
        return None
    score_kind, score, comment = answers_denormalised(snapshot, visible_answers)
    columns = {
        **prepared.row_fields,
        "customer_id": prepared.customer_id,
        "score_kind": score_kind,
        "score": score,
        "comment": comment,
    }
    answers = []
    for qid, value in visible_answers.items():
        number, text, choices = answer_columns(snapshot, qid, value)
        answers.append({"question_id": qid, "number": number, "text": text, "choices": choices})
    pending = PendingResponse(columns, answers)
    return pending, visible_answers


def pending_result(
    pending: PendingResponse, visible_answers: dict[int, Any], response_id: int
) -> SubmitResult:
    columns = pending.columns
    return SubmitResult(
        response_id,
        True,
        columns["score_kind"],
        columns["score"],
        columns["comment"],
        visible_answers,
        columns["idempotency_key"],
    )
