"""Writes of the Delighted-compatible API, each a thin mapping onto the services of the lower layers:
customers (`journeys.services`), invitations, unsubscribes and responses (`surveys`)."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cxm.tenancy.models import Organization
from journeys.models import Customer
from journeys.services import customer_erase, customer_upsert
from surveys import services as survey_services
from surveys.collection.rules import SubmitResult
from surveys.collection.write import response_submit
from surveys.content import normalise_language
from surveys.models import Response, Survey

from .models import (
    DEFAULT_AUTOPILOT_DAYS,
    ApiConfiguration,
    AutopilotMembership,
    RequestStatus,
    ResponseAnnotation,
    SurveyRequest,
)
from .selectors import configuration_of, snapshot_of

logger = logging.getLogger(__name__)

# Properties Delighted gives a meaning (read by the invitation and the survey pages), kept on the
# survey request and the response, never copied into the customer's own attributes.
SPECIAL_PROPERTIES = (
    "locale",
    "question_product_name",
    "thank_you_message",
    "thank_you_link_text",
    "thank_you_link_url",
    "delighted_intro_message",
    "delighted_email_subject",
)
# Delighted's special properties as the invitation's personalisation (`surveys.models.Invitation`).
PERSONALISATION = {
    "question_product_name": "question_product_name",
    "thank_you_message": "thank_you_message",
    "thank_you_link_text": "thank_you_link_text",
    "thank_you_link_url": "thank_you_link_url",
    "delighted_intro_message": "intro_message",
}


def personalisation_of(properties: dict[str, Any]) -> dict[str, str]:
    return {
        ours: str(properties[theirs])[:500]
        for theirs, ours in PERSONALISATION.items()
        if properties.get(theirs) not in (None, "")
    }


# Survey requests sent in one run of the beat task.
DUE_BATCH = 500


def _external_id_for(*, email: str, phone: str) -> str:
    return email.lower() if email else f"phone:{phone}"


@transaction.atomic
def person_upsert(
    *,
    organization: Organization,
    email: str = "",
    phone_number: str = "",
    name: str | None = None,
    properties: dict[str, Any] | None = None,
) -> tuple[Customer, bool]:
    """The customer with this email (else phone number), created when new, updated otherwise: the
    name when given, the properties (but Delighted's special ones) merged into its attributes."""
    email, phone_number = email.strip(), phone_number.strip()
    if not email and not phone_number:
        raise ValidationError({"email": [_("Give an email or a phone number.")]})
    people = Customer.objects.for_organization(organization).filter(erased_at__isnull=True)
    existing = (
        people.filter(email__iexact=email).order_by("pk").first()
        if email
        else people.filter(phone=phone_number).order_by("pk").first()
    )
    data: dict[str, Any] = {
        "external_id": existing.external_id if existing else _external_id_for(email=email, phone=phone_number)
    }
    if email and not (existing and existing.email.lower() == email.lower()):
        data["email"] = email
    if phone_number:
        data["phone"] = phone_number
    if name is not None:
        data["name"] = name
    attributes = {k: v for k, v in (properties or {}).items() if k not in SPECIAL_PROPERTIES}
    if attributes:
        data["attributes"] = attributes
    customer, created = customer_upsert(organization=organization, data=data)
    return customer, created


def survey_request_schedule(
    *,
    organization: Organization,
    customer: Customer,
    survey: Survey,
    delay_seconds: int = 0,
    properties: dict[str, Any] | None = None,
    autopilot: bool = False,
    at: datetime | None = None,
) -> SurveyRequest:
    """A survey request for `customer`; one due now becomes an invitation at once (fatigue rules and
    unsubscribes honoured by `surveys.services.invitations_create`), a later one (or one given its
    time `at`) is sent by the beat."""
    request = SurveyRequest.objects.create(
        organization=organization,
        customer=customer,
        survey=survey,
        scheduled_at=at or timezone.now() + timedelta(seconds=max(delay_seconds, 0)),
        properties=properties or {},
        autopilot=autopilot,
    )
    if at is None and delay_seconds <= 0:
        survey_request_send(survey_request_id=request.pk)
        request.refresh_from_db()
    return request


def survey_request_send(*, survey_request_id: int) -> str:
    """Turns one pending, due request into an invitation (or marks it skipped); returns its status.
    Idempotent: the pending row is locked and only a pending one is sent."""
    with transaction.atomic():
        request = (
            SurveyRequest.objects.unscoped()  # the id comes from our own query (the beat) or our own write
            .select_for_update()
            .select_related("survey", "customer", "organization")
            .filter(pk=survey_request_id, status=RequestStatus.PENDING)
            .first()
        )
        if request is None:
            return "ignored"
        language = normalise_language(str(request.properties.get("locale") or "")) or None
        try:
            result = survey_services.invitations_create(
                survey=request.survey,
                customers=[request.customer],
                language=language,
                personalisation=personalisation_of(request.properties),
            )
        except ValidationError as exc:  # the survey is no longer active
            logger.info("survey request %s not sent: %s", request.pk, exc)
            request.status = RequestStatus.SKIPPED
            request.save(update_fields=["status"])
            return request.status
        if result.invitations:
            request.invitation = result.invitations[0]
            request.status = RequestStatus.INVITED
        else:
            request.status = RequestStatus.SKIPPED
        request.save(update_fields=["status", "invitation"])
        return request.status


def survey_requests_send_due(*, now: datetime | None = None) -> dict[str, int]:
    """Beat: sends the survey requests whose time has come, then schedules the autopilot turns due."""
    now = now or timezone.now()
    counts = {"invited": 0, "skipped": 0}
    autopilot_turns(now=now)
    due = (
        SurveyRequest.objects.unscoped()  # every organization's due requests, one by one below
        .filter(status=RequestStatus.PENDING, scheduled_at__lte=now)
        .order_by("scheduled_at", "pk")
        .values_list("pk", flat=True)[:DUE_BATCH]
    )
    for request_id in list(due):
        status = survey_request_send(survey_request_id=request_id)
        if status in counts:
            counts[status] += 1
    return counts


def survey_requests_cancel(*, organization: Organization, customer: Customer) -> int:
    """Cancels the person's pending survey requests and the invitations still queued for them."""
    with transaction.atomic():
        canceled = (
            SurveyRequest.objects.for_organization(organization)
            .filter(customer=customer, status=RequestStatus.PENDING)
            .update(status=RequestStatus.CANCELED)
        )
        canceled += survey_services.invitations_cancel_queued(organization=organization, customer=customer)
    return canceled


def person_erase(*, organization: Organization, customer: Customer) -> None:
    """Delighted's person deletion is cxm's erasure (`journeys.services.customer_erase`): personal data
    goes, scores stay; their pending requests and autopilot memberships go too."""
    with transaction.atomic():
        survey_requests_cancel(organization=organization, customer=customer)
        AutopilotMembership.objects.for_organization(organization).filter(customer=customer).delete()
        customer_erase(customer=customer)


def person_unsubscribe(*, organization: Organization, email: str) -> Customer:
    customer, _created = person_upsert(organization=organization, email=email)
    return survey_services.customer_mark_unsubscribed(customer=customer)


# --- Responses ---------------------------------------------------------------------------------


def _answers_for(survey: Survey, *, score: int | None, comment: str | None) -> dict[str, Any]:
    snapshot = snapshot_of(survey)
    if snapshot.primary is None:
        raise ValidationError({"score": [_("This survey has no score question.")]})
    answers: dict[str, Any] = {}
    if score is not None:
        answers[str(snapshot.primary.id)] = score
    if comment:
        if not snapshot.comment_ids:
            raise ValidationError({"comment": [_("This survey has no open question to hold a comment.")]})
        answers[str(snapshot.comment_ids[0])] = comment
    return answers


def response_create(
    *,
    survey: Survey,
    customer: Customer,
    score: int,
    comment: str = "",
    person_properties: dict[str, Any] | None = None,
    created_at: datetime | None = None,
    idempotency_key: str | None = None,
) -> SubmitResult:
    """A response of `customer` to the survey, through the surveys rules (`response_submit`); the
    same `idempotency_key` again (an import run twice) stores nothing twice."""
    properties = {k: str(v) for k, v in (person_properties or {}).items()}
    return response_submit(
        snapshot=snapshot_of(survey),
        answers=_answers_for(survey, score=score, comment=comment),
        customer=customer,
        locale=str(properties.get("locale", "")),
        channel="api",
        idempotency_key=idempotency_key or f"delighted-{uuid.uuid4().hex}",
        hidden_fields=properties,
        submitted_at=created_at,
    )


def response_update(
    *,
    organization: Organization,
    response: Response,
    score: int | None = None,
    comment: str | None = None,
    person_properties: dict[str, Any] | None = None,
    tags: list[str] | None = None,
    notes: list[Any] | None = None,
    author_email: str | None = None,
) -> Response:
    """Changes a response: score and comment through the surveys rules (the same idempotency key
    merges into it), properties, tags, and notes (new notes are text; existing ones keep their id)."""
    with transaction.atomic():
        changed_score = score is not None and score != response.score
        changed_comment = comment is not None and comment != response.comment
        if changed_score or changed_comment:
            # The same idempotency key: the surveys rules merge the changed answers into the response.
            response_submit(
                snapshot=snapshot_of(response.survey),
                answers=_answers_for(
                    response.survey,
                    score=score if changed_score else None,
                    comment=comment if changed_comment else None,
                ),
                customer=response.customer,
                channel=response.channel,
                idempotency_key=response.idempotency_key,
                submitted_at=response.submitted_at,
            )
        if person_properties is not None:
            survey_services.response_hidden_fields_set(
                response=response, hidden_fields={k: str(v) for k, v in person_properties.items()}
            )
        if tags is not None or notes is not None:
            annotation, _created = ResponseAnnotation.objects.for_organization(organization).get_or_create(
                organization=organization, response=response
            )
            if tags is not None:
                annotation.tags = list(dict.fromkeys(str(t).strip() for t in tags if str(t).strip()))
            if notes is not None:
                annotation.notes = _notes_merged(annotation.notes, notes, author_email=author_email)
            annotation.save()
            Response.objects.for_organization(organization).filter(pk=response.pk).update(
                updated_at=timezone.now()
            )
    return (
        Response.objects.for_organization(organization)
        .select_related("customer", "survey")
        .get(pk=response.pk)
    )


def _notes_merged(
    current: list[dict[str, Any]], given: list[Any], *, author_email: str | None
) -> list[dict[str, Any]]:
    by_id = {str(note.get("id")): note for note in current}
    result = []
    next_id = max([int(i) for i in by_id if i.isdigit()] or [0]) + 1
    for note in given:
        if isinstance(note, dict) and str(note.get("id")) in by_id:
            result.append(by_id[str(note["id"])])
            continue
        text = note.get("text") if isinstance(note, dict) else note
        if not isinstance(text, str) or not text.strip():
            raise ValidationError({"notes": [_("A note is a text, or an object with a text.")]})
        result.append(
            {
                "id": str(next_id),
                "text": text.strip(),
                "user_email": author_email,
                "created_at": int(timezone.now().timestamp()),
            }
        )
        next_id += 1
    return result


# --- Autopilot ---------------------------------------------------------------------------------


def autopilot_interval(*, organization: Organization) -> timedelta:
    configuration = configuration_of(organization=organization)
    days = configuration.autopilot_interval_days if configuration else DEFAULT_AUTOPILOT_DAYS
    return timedelta(days=days)


def autopilot_add(
    *,
    organization: Organization,
    customer: Customer,
    survey: Survey,
    properties: dict[str, Any] | None = None,
) -> AutopilotMembership:
    """Adds the person to autopilot (or updates their properties): the first turn is now, the next
    ones every interval, each through the fatigue rules."""
    with transaction.atomic():
        membership, created = AutopilotMembership.objects.for_organization(organization).get_or_create(
            organization=organization,
            channel="email",
            customer=customer,
            defaults={"properties": properties or {}, "next_survey_at": timezone.now()},
        )
        if not created and properties is not None:
            membership.properties = {**membership.properties, **properties}
            membership.save(update_fields=["properties", "updated_at"])
    if created:
        for request_id in autopilot_turns(organization=organization, now=timezone.now(), survey=survey):
            survey_request_send(survey_request_id=request_id)
        membership.refresh_from_db()
    return membership


def autopilot_remove(*, organization: Organization, customer: Customer) -> int:
    with transaction.atomic():
        removed, _detail = (
            AutopilotMembership.objects.for_organization(organization)
            .filter(channel="email", customer=customer)
            .delete()
        )
        SurveyRequest.objects.for_organization(organization).filter(
            customer=customer, status=RequestStatus.PENDING, autopilot=True
        ).update(status=RequestStatus.CANCELED)
    return removed


def autopilot_turns(
    *, now: datetime, organization: Organization | None = None, survey: Survey | None = None
) -> list[int]:
    """Schedules a survey request (due now) for every membership whose turn has come and moves its
    next turn by the interval. Returns the ids of the requests."""
    from .selectors import api_survey

    memberships = (
        AutopilotMembership.objects.unscoped()
        if organization is None
        else (AutopilotMembership.objects.for_organization(organization))
    )
    due = list(
        memberships.filter(next_survey_at__lte=now).select_related("organization", "customer")[:DUE_BATCH]
    )
    scheduled = []
    for membership in due:
        org = membership.organization
        target = survey or api_survey(organization=org)
        with transaction.atomic():
            moved = (
                AutopilotMembership.objects.for_organization(org)
                .filter(pk=membership.pk, next_survey_at=membership.next_survey_at)
                .update(next_survey_at=now + autopilot_interval(organization=org), updated_at=now)
            )
            if not moved or target is None:  # another run took this turn, or nothing to ask
                continue
        request = survey_request_schedule(
            organization=org,
            customer=membership.customer,
            survey=target,
            properties=membership.properties,
            autopilot=True,
            at=now,
        )
        scheduled.append(request.pk)
    return scheduled


def configuration_save(
    *, organization: Organization, survey: Survey | None, autopilot_interval_days: int
) -> ApiConfiguration:
    if autopilot_interval_days < 1:
        raise ValidationError({"autopilot_interval_days": [_("At least one day.")]})
    configuration, _created = ApiConfiguration.objects.for_organization(organization).update_or_create(
        organization=organization,
        defaults={"survey": survey, "autopilot_interval_days": autopilot_interval_days},
    )
    return configuration
