"""The importer of what a team took from Delighted before its shutdown: the people and responses CSV
exports, and a JSON-lines file of `survey_responses` pages as the API returned them.

Idempotent: a response is keyed by its Delighted id (`delighted:<id>`, the surveys idempotency key),
a person by email (and their Delighted id is remembered, so responses that name only the person id
find them). Each bad row is reported with its number and reason; the others are imported."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from cxm.tenancy.models import Organization
from journeys.models import Customer
from surveys.models import Survey

from . import services
from .models import ImportedRecord, ResponseAnnotation

MAX_ROWS = 100_000
# Columns of Delighted's exports and fields of its API, by a normalised name (lower case, words
# joined by "_"): what each becomes. Any other column is kept as a person property.
_ALIASES = {
    "id": "id",
    "response_id": "id",
    "person_id": "person_id",
    "person": "person",
    "email": "email",
    "person_email": "email",
    "name": "name",
    "person_name": "name",
    "phone_number": "phone_number",
    "phone": "phone_number",
    "score": "score",
    "comment": "comment",
    "created_at": "created_at",
    "date": "created_at",
    "response_timestamp": "created_at",
    "timestamp": "created_at",
    "tags": "tags",
    "notes": "notes",
    "survey_type": "survey_type",
    "permalink": "ignored",
    "updated_at": "ignored",
    "last_sent_at": "ignored",
    "last_responded_at": "ignored",
    "next_survey_scheduled_at": "ignored",
    "additional_answers": "ignored",
    "person_properties": "person_properties",
}
_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S %z", "%Y-%m-%d %H:%M:%S %Z", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d")


@dataclass
class ImportResult:
    people_created: int = 0
    people_updated: int = 0
    responses_created: int = 0
    responses_unchanged: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "people_created": self.people_created,
            "people_updated": self.people_updated,
            "responses_created": self.responses_created,
            "responses_unchanged": self.responses_unchanged,
            "errors": self.errors,
        }


def _normalised(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


def _time(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    text = str(value).strip()
    if re.fullmatch(r"\d{9,11}", text):
        return datetime.fromtimestamp(int(text), tz=UTC)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        parsed = None
        for fmt in _TIME_FORMATS:
            try:
                parsed = datetime.strptime(text.replace(" UTC", " +0000"), fmt)  # noqa: DTZ007  (made aware below)
                break
            except ValueError:
                continue
    if parsed is None:
        raise ValidationError({"created_at": [_("Not a time: %(value)s") % {"value": text[:40]}]})
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _record(row: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """A row as (known fields, other columns as person properties)."""
    known: dict[str, Any] = {}
    properties: dict[str, str] = {}
    for column, value in row.items():
        if column is None:
            continue
        target = _ALIASES.get(_normalised(column))
        if target == "ignored":
            continue
        if target is None:
            if value not in (None, ""):
                properties[str(column).strip()] = str(value)
        else:
            known[target] = value
    person = known.get("person")
    if isinstance(person, dict):  # a page fetched with expand[]=person
        known.setdefault("person_id", person.get("id"))
        for name in ("email", "name", "phone_number"):
            if person.get(name) and not known.get(name):
                known[name] = person[name]
    elif person not in (None, ""):
        known.setdefault("person_id", str(person))
    if isinstance(known.get("person_properties"), dict):
        properties.update({str(k): str(v) for k, v in known["person_properties"].items()})
    return known, properties


def _remembered(organization: Organization, kind: str, delighted_id: Any) -> int | None:
    if delighted_id in (None, ""):
        return None
    return (
        ImportedRecord.objects.for_organization(organization)
        .filter(kind=kind, delighted_id=str(delighted_id))
        .values_list("object_id", flat=True)
        .first()
    )


def _remember(organization: Organization, kind: str, delighted_id: Any, object_id: int) -> None:
    if delighted_id in (None, ""):
        return
    ImportedRecord.objects.for_organization(organization).update_or_create(
        organization=organization,
        kind=kind,
        delighted_id=str(delighted_id)[:64],
        defaults={"object_id": object_id},
    )


def _person(
    organization: Organization, known: dict[str, Any], result: ImportResult, *, is_person_row: bool
) -> Customer:
    email = str(known.get("email") or "").strip()
    phone = str(known.get("phone_number") or "").strip()
    delighted_id = (known.get("id") or known.get("person_id")) if is_person_row else known.get("person_id")
    if not email and not phone:
        customer_id = _remembered(organization, "person", delighted_id)
        customer = (
            Customer.objects.for_organization(organization).filter(pk=customer_id).first()
            if customer_id
            else None
        )
        if customer is None:
            raise ValidationError(
                {
                    "email": [
                        _(
                            "No email or phone number, and no person imported with this id: import people first."
                        )
                    ]
                }
            )
        return customer
    name = known.get("name")
    customer, created = services.person_upsert(
        organization=organization, email=email, phone_number=phone, name=str(name) if name else None
    )
    if is_person_row:
        result.people_created += created
        result.people_updated += not created
    _remember(organization, "person", delighted_id, customer.pk)
    return customer


def _import_row(
    organization: Organization, survey: Survey, row: dict[str, Any], result: ImportResult, *, kind: str
) -> None:
    known, properties = _record(row)
    if kind == "people" or (kind == "auto" and known.get("score") in (None, "")):
        with transaction.atomic():
            _person(organization, known, result, is_person_row=True)
        return
    try:
        score = int(str(known.get("score")).strip())
    except ValueError:
        raise ValidationError({"score": [_("The score is not a whole number from 0 to 10.")]}) from None
    created_at = _time(known.get("created_at"))
    delighted_id = str(known.get("id") or "").strip()
    with transaction.atomic():
        customer = _person(organization, known, result, is_person_row=False)
        submitted = services.response_create(
            survey=survey,
            customer=customer,
            score=score,
            comment=str(known.get("comment") or ""),
            person_properties=properties,
            created_at=created_at,
            idempotency_key=f"delighted:{delighted_id}" if delighted_id else None,
        )
        if submitted.created:
            result.responses_created += 1
        else:
            result.responses_unchanged += 1
        tags = known.get("tags")
        if isinstance(tags, str):
            tags = [t.strip() for t in tags.split(",") if t.strip()]
        notes = known.get("notes")
        if isinstance(notes, str):
            notes = [n.strip() for n in notes.split("\n") if n.strip()]
        if tags or notes:
            annotation, _new = ResponseAnnotation.objects.for_organization(organization).get_or_create(
                organization=organization, response_id=submitted.response_id
            )
            if tags:
                annotation.tags = [str(t) for t in tags]
            if notes and not annotation.notes:
                annotation.notes = [
                    n
                    if isinstance(n, dict)
                    else {"id": str(i), "text": str(n), "user_email": None, "created_at": None}
                    for i, n in enumerate(notes, start=1)
                ]
            annotation.save()
        _remember(organization, "response", delighted_id, submitted.response_id)


def _message(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        if hasattr(exc, "error_dict"):
            return "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
        return " ".join(exc.messages)
    return str(exc)


def _rows(content: str, fmt: str) -> list[dict[str, Any]]:
    if fmt == "jsonl":
        rows: list[dict[str, Any]] = []
        for number, line in enumerate(content.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValidationError(
                    _("Line %(n)d is not JSON (%(error)s).") % {"n": number, "error": exc.msg}
                ) from None
            items = value if isinstance(value, list) else [value]
            rows.extend(item if isinstance(item, dict) else {"__invalid__": item} for item in items)
        return rows
    return list(csv.DictReader(io.StringIO(content)))


def delighted_import(
    *, organization: Organization, survey: Survey, content: str, fmt: str, kind: str = "auto"
) -> ImportResult:
    """Imports a Delighted export (`fmt` "csv" or "jsonl"; `kind` "people", "responses" or "auto": a
    row with a score is a response) onto the survey's responses and the organization's customers."""
    if survey.organization_id != organization.pk:
        raise ValidationError({"survey": [_("Unknown survey.")]})
    rows = _rows(content.lstrip("\ufeff"), fmt)
    if len(rows) > MAX_ROWS:
        raise ValidationError(_("At most %(n)d rows per file.") % {"n": MAX_ROWS})
    result = ImportResult()
    for number, row in enumerate(rows, start=1):
        if "__invalid__" in row:
            result.errors.append({"row": number, "message": _("Not a survey response object.")})
            continue
        try:
            _import_row(organization, survey, row, result, kind=kind)
        except (ValidationError, ValueError) as exc:
            result.errors.append({"row": number, "message": _message(exc)})
    return result
