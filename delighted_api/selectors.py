"""Reads of the Delighted-compatible API: its survey, people with their survey dates, responses."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Max, Min, OuterRef, QuerySet, Subquery

from cxm.tenancy.models import Organization
from journeys.models import Customer
from surveys.models import Invitation, InvitationStatus, QuestionKind, Response, Survey, SurveyStatus
from surveys.selectors import SurveySnapshot, survey_snapshot

from .models import ApiConfiguration, AutopilotMembership, RequestStatus, ResponseAnnotation, SurveyRequest

# How many of the newest active surveys are looked at for one that asks NPS first.
_SURVEY_CANDIDATES = 20


def configuration_of(*, organization: Organization) -> ApiConfiguration | None:
    return ApiConfiguration.objects.for_organization(organization).select_related("survey").first()


def api_survey(*, organization: Organization, trend: int | None = None) -> Survey | None:
    """The survey the API answers for: a `trend` names one of the organization's surveys; else the
    configured one; else the newest active survey whose first scored question is NPS."""
    surveys = Survey.objects.for_organization(organization)
    if trend is not None:
        return surveys.filter(pk=trend).first()
    configuration = configuration_of(organization=organization)
    if configuration is not None and configuration.survey is not None:
        return configuration.survey
    for survey in surveys.filter(status=SurveyStatus.ACTIVE).order_by("-created_at", "-pk")[
        :_SURVEY_CANDIDATES
    ]:
        snapshot = survey_snapshot(public_id=survey.public_id)
        if (
            snapshot is not None
            and snapshot.primary is not None
            and snapshot.primary.kind == QuestionKind.NPS
        ):
            return survey
    return None


def nps_surveys(*, organization: Organization) -> list[Survey]:
    """The organization's surveys that ask NPS first (for the settings page's choice)."""
    result = []
    for survey in (
        Survey.objects.for_organization(organization).exclude(status=SurveyStatus.DRAFT).order_by("name")
    ):
        snapshot = survey_snapshot(public_id=survey.public_id)
        if (
            snapshot is not None
            and snapshot.primary is not None
            and snapshot.primary.kind == QuestionKind.NPS
        ):
            result.append(survey)
    return result


def snapshot_of(survey: Survey) -> SurveySnapshot:
    snapshot = survey_snapshot(public_id=survey.public_id)
    assert snapshot is not None
    return snapshot


def person_find(*, organization: Organization, identifier: str) -> Customer | None:
    """A person by Delighted's identifier: `123` (the id), `email:…` or `phone_number:…`. Erased
    people are gone."""
    people = Customer.objects.for_organization(organization).filter(erased_at__isnull=True)
    kind, sep, value = identifier.partition(":")
    if not sep:
        return people.filter(pk=int(identifier)).first() if identifier.isdigit() else None
    if kind == "email" and value:
        return people.filter(email__iexact=value.strip()).order_by("pk").first()
    if kind == "phone_number" and value:
        return people.filter(phone=value.strip()).order_by("pk").first()
    return None


def people_list(
    *,
    organization: Organization,
    after_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    email: str = "",
    phone_number: str = "",
) -> QuerySet[Customer]:
    """People oldest first (by creation, then id), with last sent, last responded and next scheduled
    survey times annotated; erased people are left out."""
    people = Customer.objects.for_organization(organization).filter(erased_at__isnull=True)
    if after_id is not None:
        people = people.filter(pk__gt=after_id)
    if since is not None:
        people = people.filter(created_at__gte=since)
    if until is not None:
        people = people.filter(created_at__lte=until)
    if email:
        people = people.filter(email__iexact=email)
    if phone_number:
        people = people.filter(phone=phone_number)
    sent = Invitation.objects.for_organization(organization).filter(
        customer=OuterRef("pk"), status__in=[InvitationStatus.SENT, InvitationStatus.ANSWERED]
    )
    responded = Response.objects.for_organization(organization).filter(customer=OuterRef("pk"))
    pending = SurveyRequest.objects.for_organization(organization).filter(
        customer=OuterRef("pk"), status=RequestStatus.PENDING
    )
    return people.annotate(
        last_sent_at=Subquery(
            sent.order_by().values("customer").annotate(at=Max("sent_at")).values("at")[:1]
        ),
        last_responded_at=Subquery(
            responded.order_by().values("customer").annotate(at=Max("submitted_at")).values("at")[:1]
        ),
        next_survey_scheduled_at=Subquery(
            pending.order_by().values("customer").annotate(at=Min("scheduled_at")).values("at")[:1]
        ),
    ).order_by("pk")


def responses_list(
    *, organization: Organization, survey: Survey, filters: dict[str, Any]
) -> QuerySet[Response]:
    """The survey's responses under Delighted's filters (times are instants; `order` is
    `asc`/`desc` on created_at, or `asc:updated_at`/`desc:updated_at`)."""
    rows = (
        Response.objects.for_organization(organization)
        .filter(survey=survey)
        .select_related("customer")
        .prefetch_related("answers")
    )
    bounds = {
        "since": "submitted_at__gte",
        "until": "submitted_at__lte",
        "updated_since": "updated_at__gte",
        "updated_until": "updated_at__lte",
    }
    for name, lookup in bounds.items():
        if filters.get(name) is not None:
            rows = rows.filter(**{lookup: filters[name]})
    if filters.get("person_id") is not None:
        rows = rows.filter(customer_id=filters["person_id"])
    if filters.get("person_email"):
        rows = rows.filter(customer__email__iexact=filters["person_email"])
    direction, _sep, field = (filters.get("order") or "asc").partition(":")
    column = "updated_at" if field == "updated_at" else "submitted_at"
    prefix = "-" if direction == "desc" else ""
    return rows.order_by(f"{prefix}{column}", f"{prefix}pk")


def annotations_for(*, organization: Organization, response_ids: list[int]) -> dict[int, ResponseAnnotation]:
    return {
        a.response_id: a
        for a in ResponseAnnotation.objects.for_organization(organization).filter(
            response_id__in=response_ids
        )
    }


def unsubscribed_people(
    *, organization: Organization, since: datetime | None = None, until: datetime | None = None
) -> QuerySet[Customer]:
    rows = Customer.objects.for_organization(organization).filter(unsubscribed=True, erased_at__isnull=True)
    if since is not None:
        rows = rows.filter(unsubscribed_at__gte=since)
    if until is not None:
        rows = rows.filter(unsubscribed_at__lte=until)
    return rows.order_by("unsubscribed_at", "pk")


def bounced_invitations(
    *, organization: Organization, since: datetime | None = None, until: datetime | None = None
) -> QuerySet[Invitation]:
    """Invitations whose email could not be delivered (failed), with their customer, oldest first."""
    rows = (
        Invitation.objects.for_organization(organization)
        .filter(status=InvitationStatus.FAILED, customer__erased_at__isnull=True)
        .select_related("customer")
    )
    if since is not None:
        rows = rows.filter(created_at__gte=since)
    if until is not None:
        rows = rows.filter(created_at__lte=until)
    return rows.order_by("created_at", "pk")


def autopilot_memberships(
    *, organization: Organization, channel: str, person_id: int | None = None, person_email: str = ""
) -> QuerySet[AutopilotMembership]:
    rows = (
        AutopilotMembership.objects.for_organization(organization)
        .filter(channel=channel)
        .select_related("customer")
        .order_by("pk")
    )
    if person_id is not None:
        rows = rows.filter(customer_id=person_id)
    if person_email:
        rows = rows.filter(customer__email__iexact=person_email)
    return rows


def pending_requests_of(*, organization: Organization, customer_ids: list[int]) -> dict[int, SurveyRequest]:
    """The earliest pending survey request of each of these people."""
    result: dict[int, SurveyRequest] = {}
    for request in (
        SurveyRequest.objects.for_organization(organization)
        .filter(customer_id__in=customer_ids, status=RequestStatus.PENDING)
        .order_by("scheduled_at", "pk")
    ):
        result.setdefault(request.customer_id, request)
    return result
