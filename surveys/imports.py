"""CSV import of historical survey responses (kind `responses`), through journeys' import machinery.

Journeys cannot import surveys, so this module registers the kind (`SurveysConfig.ready`). Every row
passes the same checks as a submission (`collection.rules.response_prepare` and the required-question rule)
and is written by the same service (`collection.write.response_write`), at its own `submitted_at`.
A row without an idempotency key gets one derived from its content, so a re-import stores nothing twice.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cxm.tenancy.models import Organization
from journeys.imports import ImportKindHandler, header_problem, import_kind_register
from journeys.ingest import IngestResult, RecordInvalid, parse_datetime_value
from journeys.models import Customer
from journeys.services import customer_resolve

from . import signals
from .collection import rules, write
from .models import QuestionKind, Response, ResponseChannel, Survey
from .selectors import QuestionSnapshot, SurveySnapshot, survey_snapshot

KIND = "responses"
COLUMNS = (
    "survey",
    "submitted_at",
    "customer_external_id",
    "touchpoint",
    "channel",
    "locale",
    "idempotency_key",
    # The survey's first scored question and its first open question, for files mixing surveys.
    "score",
    "comment",
)
REQUIRED = ("survey", "submitted_at")
QUESTION_COLUMN = re.compile(r"^q_(\d+)$")
MULTIPLE_SEPARATOR = "|"


@dataclass
class ResponseImportContext:
    """Surveys looked up once per file (by public id or id), the organization's zone and now."""

    organization: Organization
    tz: tzinfo
    now: datetime
    surveys: dict[str, SurveySnapshot | None] = field(default_factory=dict)

    def survey(self, reference: str) -> SurveySnapshot | None:
        if reference not in self.surveys:
            surveys = Survey.objects.for_organization(self.organization)
            public_id = surveys.filter(public_id=reference).values_list("public_id", flat=True).first() or (
                surveys.filter(pk=int(reference)).values_list("public_id", flat=True).first()
                if reference.isdigit()
                else None
            )
            self.surveys[reference] = survey_snapshot(public_id=public_id) if public_id else None
        return self.surveys[reference]


@dataclass
class ResponseRow:
    prepared: rules.PreparedResponse
    customer_external_id: str


def _context(organization: Organization) -> ResponseImportContext:
    return ResponseImportContext(organization, organization.tzinfo, timezone.now())


def _check_header(organization: Organization, header: list[str]) -> str | None:
    columns = [name for name in header if not QUESTION_COLUMN.match(name)]
    return header_problem(columns, allowed=[*COLUMNS, "q_<question id>"], required=REQUIRED)


def _question_for(snapshot: SurveySnapshot, column: str) -> QuestionSnapshot | None:
    if column == "score":
        return snapshot.primary
    match = QUESTION_COLUMN.match(column)
    return snapshot.by_id.get(int(match.group(1))) if match else None


def _cell_value(question: QuestionSnapshot, text: str) -> Any:
    """A cell as the value a submission would carry; the service judges it."""
    text = text.strip()
    if question.range is not None:
        return int(text) if re.fullmatch(r"-?\d+", text) else text
    if question.kind == QuestionKind.MULTIPLE_CHOICE:
        return [part.strip() for part in text.split(MULTIPLE_SEPARATOR) if part.strip()]
    return text


def _answers(record: dict[str, str], snapshot: SurveySnapshot) -> dict[int, Any]:
    answers: dict[int, Any] = {}
    for column, text in record.items():
        if column in COLUMNS and column != "score":
            continue
        question = _question_for(snapshot, column)
        if question is None:
            raise RecordInvalid(column, _("%(column)s is not a question of this survey") % {"column": column})
        answers[question.id] = _cell_value(question, text)
    if record.get("comment", "").strip():
        # The open question the customer was shown (NPS asks detractors and promoters different ones).
        visible = rules.visible_questions(snapshot=snapshot, answers=answers)
        shown = [qid for qid in snapshot.comment_ids if qid in visible and qid not in answers]
        if not shown:
            raise RecordInvalid("comment", _("comment: this survey asks no open question here"))
        answers[shown[0]] = record["comment"].strip()
    return answers


def _record_invalid(exc: ValidationError) -> RecordInvalid:
    """The first problem a service found, named by the file's column (`answers.12` is `q_12`)."""
    errors = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
    name, messages = next(iter(errors.items()))
    column = "q_" + name.split(".", 1)[1] if name.startswith("answers.") else name
    # An answer's message does not say which question it is about: name its column (the command prints
    # only the reason).
    reason = f"{column}: {messages[0]}" if column.startswith("q_") else messages[0]
    return RecordInvalid(column or None, reason)


def _derived_key(survey_id: int, submitted_at: datetime, customer: str, answers: dict[int, Any]) -> str:
    content = json.dumps(
        [survey_id, submitted_at.isoformat(), customer, sorted(answers.items())], default=str
    )
    return "import-" + hashlib.sha256(content.encode()).hexdigest()[:40]


def clean_response(record: dict[str, str], ctx: ResponseImportContext) -> ResponseRow:
    reference = (record.get("survey") or "").strip()
    if not reference:
        raise RecordInvalid("survey", _("%(field)s is required") % {"field": "survey"})
    snapshot = ctx.survey(reference)
    if snapshot is None:
        raise RecordInvalid("survey", _("Unknown survey: %(survey)s") % {"survey": reference[:64]})
    if not record.get("submitted_at"):
        raise RecordInvalid("submitted_at", _("%(field)s is required") % {"field": "submitted_at"})
    try:
        submitted_at = parse_datetime_value(record["submitted_at"], ctx.tz)
    except (ValueError, TypeError, OverflowError):
        raise RecordInvalid(
            "submitted_at", _("%(field)s is not an ISO 8601 date-time") % {"field": "submitted_at"}
        ) from None
    answers = _answers(record, snapshot)
    customer = (record.get("customer_external_id") or "").strip()[:255]
    try:
        rules.submitted_at_check(value=submitted_at, now=ctx.now)
        prepared = rules.response_prepare(
            snapshot=snapshot,
            answers=answers,
            locale=record.get("locale", ""),
            touchpoint_id=write.touchpoint_for_submission(
                snapshot=snapshot, touchpoint_key=(record.get("touchpoint") or "").strip() or None
            ),
            channel=(record.get("channel") or ResponseChannel.API).strip(),
            idempotency_key=record.get("idempotency_key")
            or _derived_key(snapshot.id, submitted_at, customer, answers),
            now=submitted_at,
            historical=True,
        )
        rules.answers_check_required(snapshot=snapshot, answers=prepared.clean)
    except rules.SurveyNotAccepting as exc:
        raise RecordInvalid(
            "survey", _("The survey is a draft.") if exc.status == "draft" else str(exc)
        ) from None
    except ValidationError as exc:
        raise _record_invalid(exc) from None
    return ResponseRow(prepared, customer)


def write_responses(organization: Organization, rows: Sequence[ResponseRow], result: IngestResult) -> None:
    """One transaction per batch: the batch's customers resolved once each, new responses inserted in
    bulk; `response_recorded` once for the batch, after commit."""
    with transaction.atomic():
        wanted = {row.customer_external_id for row in rows if row.customer_external_id}
        customers = dict(
            Customer.objects.for_organization(organization)
            .filter(external_id__in=wanted)
            .values_list("external_id", "id")
        )
        for external_id in sorted(wanted - customers.keys()):
            customer = customer_resolve(organization_id=organization.pk, reference=external_id)
            if customer is not None:  # unresolved: the rows keep no customer, as with `.get()` below
                customers[external_id] = customer.pk
            result.customers_created += 1
        for row in rows:
            row.prepared.customer_id = customers.get(row.customer_external_id)
        submitted = write.responses_write_many(items=[row.prepared for row in rows])
        for one in submitted:
            if one.created:
                result.created += 1
            else:
                result.duplicates += 1
        response_ids = [one.response_id for one in submitted]
        if response_ids:
            transaction.on_commit(
                lambda: signals.response_recorded.send(
                    sender=Response, organization_id=organization.pk, response_ids=response_ids
                )
            )


def _summary(result: IngestResult) -> list[str]:
    return [
        _("%(count)s new") % {"count": result.created},
        _("%(count)s already stored") % {"count": result.duplicates},
        _("%(count)s new customer(s)") % {"count": result.customers_created},
    ]


def register() -> None:
    import_kind_register(
        kind=KIND,
        handler=ImportKindHandler(
            label=gettext_lazy("Survey responses"),
            check_header=_check_header,
            context=_context,
            clean=clean_response,
            write=write_responses,
            notify=lambda organization: None,  # each batch has told metrics after its commit
            summary=_summary,
            columns_help=gettext_lazy(
                "survey* (public id or id), submitted_at*, customer_external_id, touchpoint (key), channel, "
                "locale, idempotency_key, q_<question id> (one column per question), score, comment"
            ),
        ),
    )
