"""Ingest of unsolicited feedback: the bulk API and the CSV import kind `feedback` share one cleaner and
one writer. Records are idempotent by the client's `id` (unique per organization); an invalid record is
reported with its index (API) or line (CSV) and the reason, and the valid ones are kept.

Customers are named only by the organization's own external ids and resolved through journeys'
`customer_resolve`; touchpoints by their key. Feedback is never scored: NPS, CSAT and CES do not move.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from cxm.core.jsonsafe import text_problem
from cxm.tenancy.models import Organization
from journeys.ingest import MAX_RECORDS, CleanContext, IngestResult, RecordInvalid, clean_records

# The field cleaners journeys' own kinds use: the same messages for the same mistakes.
from journeys.ingest.cleaning import _check_fields, _datetime, _json_object, _text, _touchpoint
from journeys.models import Customer
from journeys.services import customer_resolve

from .models import MAX_TEXT_LENGTH, FeedbackChannel, FeedbackRecord

FIELDS = (
    "id",
    "text",
    "channel",
    "source",
    "occurred_at",
    "customer_external_id",
    "touchpoint",
    "rating",
    "rating_scale",
    "language",
    "properties",
)
REQUIRED = ("id", "text", "channel", "occurred_at")
LANGUAGES = ("zh", "en", "other")
MAX_SCALE = 100


@dataclass
class FeedbackRow:
    external_id: str
    text: str
    channel: str
    source: str
    occurred_at: datetime
    customer_external_id: str
    touchpoint_id: int | None
    rating: Decimal | None
    rating_scale: int | None
    language: str
    properties: str


def _feedback_text(record: dict[str, Any]) -> str:
    value = record.get("text")
    if value is None or (isinstance(value, str) and not value.strip()):
        raise RecordInvalid("text", _("%(field)s is required") % {"field": "text"})
    if not isinstance(value, str):
        raise RecordInvalid("text", _("%(field)s must be a string") % {"field": "text"})
    value = value.strip()
    if len(value) > MAX_TEXT_LENGTH:
        raise RecordInvalid(
            "text", _("%(field)s is longer than %(n)d characters") % {"field": "text", "n": MAX_TEXT_LENGTH}
        )
    if "\x00" in value:
        raise RecordInvalid("text", _("%(field)s contains a NUL character") % {"field": "text"})
    if text_problem(value):
        raise RecordInvalid("text", _("%(field)s contains a lone surrogate") % {"field": "text"})
    return value


def _rating(record: dict[str, Any]) -> tuple[Decimal | None, int | None]:
    raw, raw_scale = record.get("rating"), record.get("rating_scale")
    if raw in (None, ""):
        if raw_scale not in (None, ""):
            raise RecordInvalid("rating", _("rating_scale needs a rating"))
        return None, None
    if isinstance(raw, bool):
        raise RecordInvalid("rating", _("rating is not a number"))
    try:
        rating = Decimal(str(raw).strip())
    except InvalidOperation:
        raise RecordInvalid("rating", _("rating is not a number")) from None
    if not rating.is_finite() or rating < 0:
        raise RecordInvalid("rating", _("rating is not a number"))
    try:
        scale = (
            int(str(raw_scale).strip())
            if raw_scale not in (None, "") and not isinstance(raw_scale, bool)
            else None
        )
    except ValueError:
        scale = None
    if scale is None or not 1 <= scale <= MAX_SCALE:
        raise RecordInvalid(
            "rating_scale", _("rating_scale must be a whole number from 1 to %(n)d") % {"n": MAX_SCALE}
        )
    if rating > scale:
        raise RecordInvalid("rating", _("rating is above its scale"))
    return rating.quantize(Decimal("0.01")), scale


def clean_feedback(record: Any, ctx: CleanContext) -> FeedbackRow:
    """A record in, a clean row out; RecordInvalid names the field and the reason."""
    record = _check_fields(record, FIELDS)
    external_id = _text(record, "id", 255, required=True)
    text = _feedback_text(record)
    channel = (_text(record, "channel", 16, required=True) or "").lower()
    if channel not in FeedbackChannel.values:
        raise RecordInvalid(
            "channel",
            _("channel must be one of %(choices)s") % {"choices": ", ".join(FeedbackChannel.values)},
        )
    occurred_at = _datetime(record, "occurred_at", ctx, required=True)
    language = (_text(record, "language", 8) or "").lower()
    if language.startswith("zh"):
        language = "zh"
    elif language.startswith("en"):
        language = "en"
    elif language and language not in LANGUAGES:
        language = "other"
    rating, scale = _rating(record)
    return FeedbackRow(
        external_id=external_id or "",
        text=text,
        channel=channel,
        source=_text(record, "source", 100) or "",
        occurred_at=occurred_at,  # type: ignore[arg-type]
        customer_external_id=_text(record, "customer_external_id", 255) or "",
        touchpoint_id=_touchpoint(record, ctx),
        rating=rating,
        rating_scale=scale,
        language=language,
        properties=_json_object(record, "properties", ctx) or "{}",
    )


def feedback_rows_write(
    *, organization: Organization, rows: Sequence[FeedbackRow], result: IngestResult
) -> None:
    """Writes clean rows in one transaction: customers resolved by external id, records inserted unless
    their id is stored already (then counted as duplicates); the analysis is queued after commit."""
    import json

    from .services import analysis_request

    with transaction.atomic():
        seen: set[str] = set()
        unique = []
        for row in rows:
            if row.external_id in seen:
                result.duplicates += 1
                continue
            seen.add(row.external_id)
            unique.append(row)
        records = FeedbackRecord.objects.for_organization(organization)
        stored = set(records.filter(external_id__in=seen).values_list("external_id", flat=True))
        new = [row for row in unique if row.external_id not in stored]
        result.duplicates += len(unique) - len(new)
        wanted = {row.customer_external_id for row in new if row.customer_external_id}
        customers = dict(
            Customer.objects.for_organization(organization)
            .filter(external_id__in=wanted)
            .values_list("external_id", "id")
        )
        for external_id in sorted(wanted - customers.keys()):
            customer = customer_resolve(organization_id=organization.pk, reference=external_id)
            if customer is not None:
                customers[external_id] = customer.pk
                result.customers_created += 1
        created = FeedbackRecord.objects.bulk_create(
            [
                FeedbackRecord(
                    organization=organization,
                    external_id=row.external_id,
                    text=row.text,
                    channel=row.channel,
                    source=row.source,
                    occurred_at=row.occurred_at,
                    customer_id=customers.get(row.customer_external_id),
                    touchpoint_id=row.touchpoint_id,
                    rating=row.rating,
                    rating_scale=row.rating_scale,
                    language=row.language,
                    properties=json.loads(row.properties),
                )
                for row in new
            ],
            ignore_conflicts=True,  # a concurrent request with the same ids: theirs is kept
        )
        result.created += len(created)
        if new:
            analysis_request(organization_id=organization.pk)


def feedback_bulk_ingest(*, organization: Organization, records: Sequence[Any]) -> IngestResult:
    """Validates and writes up to MAX_RECORDS feedback records; invalid ones come back as errors with
    their index, the valid ones are stored."""
    if len(records) > MAX_RECORDS:
        raise ValidationError(f"At most {MAX_RECORDS} records per request.")
    ctx = CleanContext.load(organization)
    valid, errors = clean_records(clean_feedback, records, ctx)
    result = IngestResult(received=len(records), errors=errors)
    feedback_rows_write(organization=organization, rows=[row for _index, row in valid], result=result)
    return result
