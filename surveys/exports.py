"""The responses export: the fixed columns, then one column per question of the exported surveys.

Rows are read a chunk at a time (keyset pages by id) with the chunk's answers in one more query, so
an export of any size holds one chunk in memory and costs two queries per chunk.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from cxm.tenancy.models import Organization

from .content import localised
from .models import Answer, Question, QuestionKind, Response

CHUNK = 2000

FIXED_COLUMNS = [
    "id",
    "submitted_at",
    "survey",
    "touchpoint",
    "channel",
    "language",
    "customer",
    "score_kind",
    "score",
    "comment",
    "page_url",
]
_FIXED_FIELDS = (
    "id",
    "submitted_at",
    "survey__name",
    "touchpoint__key",
    "channel",
    "locale",
    "customer__external_id",
    "score_kind",
    "score",
    "comment",
    "page_url",
)


@dataclass(frozen=True)
class QuestionColumn:
    id: int
    kind: str
    header: str
    labels: dict[str, str]  # option value -> label in the export's language, in the options' order

    def value(self, number: int | None, text: str, choices: list[str]) -> Any:
        if self.kind == QuestionKind.SINGLE_CHOICE:
            return self.labels.get(text, text) if text else None
        if self.kind == QuestionKind.MULTIPLE_CHOICE:
            order = {value: i for i, value in enumerate(self.labels)}
            chosen = sorted(choices, key=lambda c: (order.get(c, len(order)), c))
            return "; ".join(self.labels.get(c, c) for c in chosen) if choices else None
        if self.kind == QuestionKind.TEXT:
            return text or None
        return number


def question_columns(*, responses: QuerySet[Response], language: str) -> list[QuestionColumn]:
    """The questions of every survey among the responses, survey by survey in their order. With several
    surveys a header names the survey too; every header ends with the question's import column."""
    survey_ids = responses.order_by().values_list("survey_id", flat=True).distinct()
    questions = list(
        Question.objects.unscoped()
        .filter(survey_id__in=survey_ids)  # of the (scoped) responses
        .select_related("survey")
        .order_by("survey__name", "survey_id", "position", "id")
    )
    several = len({q.survey_id for q in questions}) > 1
    columns = []
    for q in questions:
        default = q.survey.default_language
        text = localised(q.text, language, default) or q.kind
        header = f"{text} (q_{q.id})"
        if several:
            header = f"{q.survey.name}: {header}"
        labels = {
            str(o.get("value")): localised(o.get("label"), language, default) or str(o.get("value"))
            for o in (q.options or [])
            if isinstance(o, dict)
        }
        columns.append(QuestionColumn(q.id, q.kind, header, labels))
    return columns


def export_headers(*, columns: list[QuestionColumn], time_zone: str | None = None) -> list[str]:
    """The header row; `time_zone` names the zone of submitted_at where the values cannot carry it
    (Excel dates have no offset)."""
    headers = list(FIXED_COLUMNS)
    if time_zone:
        headers[1] = f"submitted_at ({time_zone})"
    return headers + [c.header for c in columns]


def export_rows(
    *, responses: QuerySet[Response], columns: list[QuestionColumn], tz: tzinfo
) -> Iterator[list[Any]]:
    """Each response as [fixed values…, one value per question column]; submitted_at is an aware
    datetime in the organization's zone."""
    position = {c.id: i for i, c in enumerate(columns)}
    base = responses.order_by("id")
    last_id = 0
    while True:
        chunk = list(base.filter(id__gt=last_id).values_list(*_FIXED_FIELDS)[:CHUNK])
        if not chunk:
            return
        last_id = chunk[-1][0]
        answers: dict[int, list[Any]] = {}
        for response_id, question_id, number, text, choices in (
            Answer.objects.unscoped()
            .filter(response_id__in=[row[0] for row in chunk])
            .values_list("response_id", "question_id", "number", "text", "choices")
        ):
            index = position.get(question_id)
            if index is None:
                continue
            cells = answers.setdefault(response_id, [None] * len(columns))
            cells[index] = columns[index].value(number, text, choices or [])
        for row in chunk:
            values = list(row)
            submitted: datetime = values[1]
            values[1] = submitted.astimezone(tz)
            yield values + answers.get(row[0], [None] * len(columns))
        if len(chunk) < CHUNK:
            return


def export_proof(
    *, organization: Organization, fmt: str, filters: dict[str, Any], verify: bool = True
) -> dict[str, Any] | None:
    """Records the export in the audit trail. With `verify` (an export asked with its proof), first
    seals every response not sealed yet and verifies the organization's chain of sealed responses
    (each one's content against its seal, none missing), and returns the proof the export carries in
    its metadata. Verifying reads every sealed response (about a minute per 100,000 here), so a
    plain export does not wait for it."""
    from cxm.audit.sealing import response_seals_verify
    from cxm.audit.services import audit_record

    from .sealing import SEAL_SETTLE, responses_seal_pending, responses_unsealed_count

    if not verify:
        audit_record(
            organization=organization,
            action="responses.export",
            object_type="response",
            after={"format": fmt, "filters": filters},
        )
        return None
    responses_seal_pending(organization_id=organization.pk, full=True)
    report = response_seals_verify(organization_id=organization.pk)
    proof = {
        "verified_at": timezone.now().isoformat(),
        **report.as_metadata(),
        # Stored (or added to) within the settle window: not sealed yet, so not covered.
        "unsealed_recent_responses": responses_unsealed_count(organization_id=organization.pk),
        "settle_minutes": int(SEAL_SETTLE.total_seconds() // 60),
    }
    audit_record(
        organization=organization,
        action="responses.export",
        object_type="response",
        after={"format": fmt, "filters": filters, "proof": proof},
    )
    return proof
