"""The daily and weekly digest email, per member who opted in (NotificationPreference.digest_daily /
digest_weekly): the period's new detractors (NPS 0–6: the count and the latest few with their
comment), the member's overdue cases, and the period's NPS with its 95 % interval and its change
against the period before (metrics' own selector and significance test, METRICS.md).

Periods are taken in the organization's time zone: daily = yesterday, weekly = last Monday to Sunday.
The hourly beat sends each once the organization's local time reaches DIGEST_HOUR, and at most once per
member and period (`DigestSent`, unique, is claimed before the email leaves)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from html import unescape
from typing import Any

from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone, translation

from cxm.tenancy.models import Membership, Organization
from metrics.computations.significance import nps_z_test
from metrics.selectors import nps_between
from surveys.models import Response
from surveys.scoring import nps_category_q

from ..models import DigestPeriod, DigestSent, NotificationPreference
from .services import member_language

logger = logging.getLogger(__name__)

DIGEST_HOUR = 7  # local time of the organization
LATEST_DETRACTORS = 5
COMMENT_LIMIT = 300


def overdue_cases_for(*, user: Any, organization: Organization) -> list[dict[str, Any]]:
    """The member's open cases whose due time has passed, for the digest: dicts with `case_number`,
    `customer_label`, `due_at` (an aware datetime) and `path`, most overdue first (at most 20)."""
    from django.utils import timezone

    from ..models import OPEN_STATUSES, Case

    overdue = (
        Case.objects.for_organization(organization)
        .filter(assignee_id=user.pk, status__in=OPEN_STATUSES, due_at__lt=timezone.now())
        .select_related("customer")
        .order_by("due_at", "id")[:20]
    )
    return [
        {
            "case_number": case.pk,
            "customer_label": (case.customer.name or case.customer.external_id) if case.customer else "",
            "due_at": case.due_at,
            "path": f"/cases/{case.pk}/",
        }
        for case in overdue
    ]


@dataclass(frozen=True)
class Period:
    kind: str
    start_day: date  # local
    end_day: date  # local, inclusive
    start: datetime  # aware, inclusive
    end: datetime  # aware, exclusive
    previous_start: datetime
    previous_end: datetime


def _local_midnight(day: date, organization: Organization) -> datetime:
    return datetime.combine(day, time.min, tzinfo=organization.tzinfo)


def digest_period(*, organization: Organization, kind: str, now: datetime) -> Period:
    """The last complete period before `now` in the organization's time zone."""
    today = now.astimezone(organization.tzinfo).date()
    if kind == DigestPeriod.DAILY:
        start_day, length = today - timedelta(days=1), 1
    else:
        start_day, length = today - timedelta(days=today.weekday() + 7), 7
    end_day = start_day + timedelta(days=length - 1)
    previous_day = start_day - timedelta(days=length)
    return Period(
        kind=kind,
        start_day=start_day,
        end_day=end_day,
        start=_local_midnight(start_day, organization),
        end=_local_midnight(end_day + timedelta(days=1), organization),
        previous_start=_local_midnight(previous_day, organization),
        previous_end=_local_midnight(start_day, organization),
    )


def digest_content(*, organization: Organization, user: Any, period: Period) -> dict[str, Any]:
    """What the digest says, as plain data (the template words it)."""
    detractors = (
        Response.objects.for_organization(organization)
        .filter(score_kind="nps", submitted_at__gte=period.start, submitted_at__lt=period.end)
        .filter(nps_category_q("detractor"))
    )
    latest = list(
        detractors.select_related("survey", "customer").order_by("-submitted_at", "-pk")[:LATEST_DETRACTORS]
    )
    current = nps_between(organization=organization, since=period.start, until=period.end)
    previous = nps_between(organization=organization, since=period.previous_start, until=period.previous_end)
    change = nps_z_test(
        nps1=current["nps"],
        var1=current["variance"],
        n1=current["n"],
        nps2=previous["nps"],
        var2=previous["variance"],
        n2=previous["n"],
    )
    return {
        "period": period,
        "detractor_count": detractors.count(),
        "detractors": [
            {
                "score": response.score,
                "comment": response.comment[:COMMENT_LIMIT],
                "survey": response.survey.name,
                "customer": (
                    (response.customer.name or response.customer.external_id) if response.customer else ""
                ),
                "submitted_at": response.submitted_at.astimezone(organization.tzinfo),
            }
            for response in latest
        ],
        "nps": current,
        "previous_nps": previous,
        "change": change,
        "overdue_cases": overdue_cases_for(user=user, organization=organization),
    }


def digest_send(*, organization_id: int, user_id: int, kind: str, period_start: str) -> str:
    """One member's digest for one period: "sent", or "skipped" (sent before, no longer opted in or a
    member, no address). The period is claimed first, so two runs never send it twice."""
    organization = Organization.objects.get(pk=organization_id)
    membership = (
        Membership.objects.for_organization(organization)
        .filter(user_id=user_id)
        .select_related("user")
        .first()
    )
    preference = NotificationPreference.objects.for_organization(organization).filter(user_id=user_id).first()
    wanted = preference is not None and (
        preference.digest_daily if kind == DigestPeriod.DAILY else preference.digest_weekly
    )
    if membership is None or not wanted or not membership.user.email or not membership.user.is_active:
        return "skipped"
    user = membership.user
    start_day = date.fromisoformat(period_start)
    try:
        with transaction.atomic():
            DigestSent.objects.create(
                organization=organization, user=user, period=kind, period_start=start_day
            )
    except IntegrityError:
        return "skipped"
    period = digest_period(
        organization=organization,
        kind=kind,
        now=_local_midnight(start_day + timedelta(days=1 if kind == DigestPeriod.DAILY else 7), organization),
    )
    content = digest_content(organization=organization, user=user, period=period)
    language = member_language(organization=organization, user_id=user.pk)
    # Dates in the organization's time zone (the template's date filter reads the current one).
    with translation.override(language), timezone.override(organization.tzinfo):
        context = {"organization": organization, **content}
        # The subject template is shared with the HTML body, which escapes: a subject is plain text.
        subject = unescape(render_to_string("loop/notifications/digest_subject.txt", context).strip())
        text = render_to_string("loop/notifications/digest.txt", context)
        html = render_to_string("loop/notifications/digest.html", context)
    email = EmailMultiAlternatives(subject=subject, body=text, to=[user.email])
    email.attach_alternative(html, "text/html")
    try:
        email.send()
    except Exception:
        # Not sent: release the period, so the next hourly run tries again.
        DigestSent.objects.for_organization(organization).filter(
            user=user, period=kind, period_start=start_day
        ).delete()
        raise
    return "sent"


def digests_due(*, now: datetime | None = None) -> list[tuple[int, int, str, str]]:
    """(organization id, user id, period kind, period start) of every digest due and not yet sent: the
    organization's local time has reached DIGEST_HOUR on a day after the period. Two queries."""
    now = now or timezone.now()
    preferences = list(
        NotificationPreference.objects.unscoped()
        .filter(Q(digest_daily=True) | Q(digest_weekly=True))
        .select_related("organization")
    )
    due: list[tuple[int, int, str, str]] = []
    for preference in preferences:
        organization = preference.organization
        if now.astimezone(organization.tzinfo).hour < DIGEST_HOUR:
            continue
        for kind, opted in (
            (DigestPeriod.DAILY, preference.digest_daily),
            (DigestPeriod.WEEKLY, preference.digest_weekly),
        ):
            if opted:
                period = digest_period(organization=organization, kind=kind, now=now)
                due.append((organization.pk, preference.user_id, str(kind), period.start_day.isoformat()))
    if not due:
        return []
    sent = set(
        DigestSent.objects.unscoped()
        .filter(period_start__in={date.fromisoformat(row[3]) for row in due})
        .values_list("organization_id", "user_id", "period", "period_start")
    )
    return [row for row in due if (row[0], row[1], row[2], date.fromisoformat(row[3])) not in sent]


def digests_queue(*, now: datetime | None = None) -> int:
    """Beat (hourly): one task per digest that is due."""
    from ..tasks import notify_digest

    due = digests_due(now=now)
    for organization_id, user_id, kind, period_start in due:
        notify_digest.apply_async(args=[organization_id, user_id, kind, period_start], ignore_result=True)
    return len(due)
