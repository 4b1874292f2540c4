"""Reads: the per-process survey snapshot used by the collection path, fatigue, response lists."""

from __future__ import annotations

import json
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Q, QuerySet
from django.utils import timezone

from cxm.tenancy.models import Organization
from cxm.tenancy.scoping import unscoped_queryset
from cxm.tenancy.selectors import organization_setting
from journeys.models import Customer, Touchpoint
from journeys.selectors import customer_data

from .models import Invitation, InvitationStatus, QuestionKind, Response, Survey, score_range
from .scoring import NPS_CATEGORIES, ces_agree_q, csat_top_q, nps_category_q

# Collection reads the survey and its questions from a per-process snapshot, so a submission costs
# no query for them. Services that change a survey drop its snapshot; other processes see the
# change within SNAPSHOT_TTL seconds.
SNAPSHOT_TTL = 5.0


@dataclass(frozen=True)
class QuestionSnapshot:
    id: int
    position: int
    kind: str
    required: bool
    range: tuple[int, int] | None
    options: frozenset[str]
    show_if: tuple[int, int, int] | None  # (question id, min, max)


@dataclass(frozen=True)
class SurveySnapshot:
    id: int
    public_id: str
    organization_id: int
    status: str
    languages: tuple[str, ...]
    default_language: str
    touchpoint_id: int | None
    allowed_origins: frozenset[str]
    fatigue_days: int | None
    questions: tuple[QuestionSnapshot, ...]
    by_id: dict[int, QuestionSnapshot] = field(hash=False, compare=False)
    primary: QuestionSnapshot | None
    comment_ids: tuple[int, ...]
    # The organization's widget secret: signed customer ids are checked without a query.
    widget_secret: str = field(default="", repr=False, compare=False)


# A public id is what `models.new_public_id` makes (12 URL-safe characters); anything else is refused
# before any lookup or cache entry.
PUBLIC_ID = re.compile(r"^[A-Za-z0-9_-]{6,32}$")
# The caches are bounded: the least recently used entries go first. Unknown ids (anyone can send
# them) have their own, smaller cache, so they never push out the surveys customers are answering.
SNAPSHOT_CACHE_MAX = 2048
MISSING_CACHE_MAX = 512
TOUCHPOINT_CACHE_MAX = 4096


def public_id_valid(public_id: str) -> bool:
    return bool(PUBLIC_ID.fullmatch(public_id))


class _Lru:
    """A bounded map of (expiry, value), least recently used first out. Thread-safe."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._items: OrderedDict[Any, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        """The fresh value, or MISS."""
        hit = self._items.get(key)
        if hit is None or hit[0] <= time.monotonic():
            return MISS
        try:
            self._items.move_to_end(key)
        except KeyError:  # dropped by another thread meanwhile
            pass
        return hit[1]

    def put(self, key: Any, expires: float, value: Any) -> None:
        with self._lock:
            self._items[key] = (expires, value)
            self._items.move_to_end(key)
            while len(self._items) > self.limit:
                self._items.popitem(last=False)

    def pop(self, key: Any) -> None:
        with self._lock:
            self._items.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


MISS = object()  # a cache-only lookup found nothing fresh
_snapshots = _Lru(SNAPSHOT_CACHE_MAX)
_missing = _Lru(MISSING_CACHE_MAX)
_touchpoints = _Lru(TOUCHPOINT_CACHE_MAX)


def snapshot_cache_size() -> int:
    """Entries this process holds for public ids (known and unknown)."""
    return len(_snapshots) + len(_missing)


def _build_snapshot(survey: Survey) -> SurveySnapshot:
    questions = []
    for q in survey.questions.all():
        cond = q.show_if or {}
        show_if = None
        if cond.get("question") is not None:
            show_if = (int(cond["question"]), int(cond.get("min", -1000)), int(cond.get("max", 1000)))
        questions.append(
            QuestionSnapshot(
                id=q.id,
                position=q.position,
                kind=q.kind,
                required=q.required,
                range=score_range(q.kind, q.scale_max),
                options=frozenset(str(o.get("value")) for o in (q.options or []) if isinstance(o, dict)),
                show_if=show_if,
            )
        )
    questions.sort(key=lambda q: (q.position, q.id))
    primary = next((q for q in questions if q.range is not None), None)
    return SurveySnapshot(
        id=survey.id,
        public_id=survey.public_id,
        organization_id=survey.organization_id,
        status=survey.status,
        languages=tuple(survey.languages or [survey.default_language]),
        default_language=survey.default_language,
        touchpoint_id=survey.touchpoint_id,
        allowed_origins=frozenset(o.rstrip("/").lower() for o in (survey.allowed_origins or [])),
        fatigue_days=survey.fatigue_days,
        questions=tuple(questions),
        by_id={q.id: q for q in questions},
        primary=primary,
        comment_ids=tuple(q.id for q in questions if q.kind == QuestionKind.TEXT),
        widget_secret=survey.organization.widget_secret,
    )


def public_survey(*, public_id: str) -> Survey | None:
    """The survey behind a public id, with its organization and questions (any organization: the
    public id is the credential); None for an id of the wrong form, without a query."""
    if not public_id_valid(public_id):
        return None
    return (
        unscoped_queryset(Survey)
        .filter(public_id=public_id)
        .select_related("organization")
        .prefetch_related("questions")
        .first()
    )


def survey_snapshot_cached(*, public_id: str) -> SurveySnapshot | None | object:
    """The snapshot if this process holds a fresh one, else `MISS` (no query: safe in an event loop).
    A public id of the wrong form is None at once."""
    if not public_id_valid(public_id):
        return None
    hit = _snapshots.get(public_id)
    return _missing.get(public_id) if hit is MISS else hit


def survey_snapshot(*, public_id: str) -> SurveySnapshot | None:
    """The survey behind a public id (any organization: the public id is the credential)."""
    cached = survey_snapshot_cached(public_id=public_id)
    if cached is not MISS:
        return cached  # type: ignore[return-value]
    now = time.monotonic()
    survey = public_survey(public_id=public_id)
    if survey is None:
        _missing.put(public_id, now + SNAPSHOT_TTL, None)
        return None
    snapshot = _build_snapshot(survey)
    _snapshots.put(public_id, now + SNAPSHOT_TTL, snapshot)
    return snapshot


def snapshot_invalidate(*, public_id: str | None = None) -> None:
    if public_id is None:
        _snapshots.clear()
        _missing.clear()
        _touchpoints.clear()
    else:
        _snapshots.pop(public_id)
        _missing.pop(public_id)


def touchpoint_id_cached(*, organization_id: int, key: str) -> int | None | object:
    """Like `touchpoint_id_for_key` from this process's cache only, else `MISS`."""
    return _touchpoints.get((organization_id, key))


def touchpoint_id_for_key(*, organization_id: int, key: str) -> int | None:
    cached = touchpoint_id_cached(organization_id=organization_id, key=key)
    if cached is not MISS:
        return cached  # type: ignore[return-value]
    now = time.monotonic()
    pk = (
        Touchpoint.objects.for_organization(organization_id)
        .filter(key=key)
        .values_list("id", flat=True)
        .first()
    )
    _touchpoints.put((organization_id, key), now + SNAPSHOT_TTL, pk)
    return pk


def survey_fatigue_days(*, survey: Survey | SurveySnapshot, organization: Organization) -> int:
    if survey.fatigue_days is not None:
        return int(survey.fatigue_days)
    return int(organization_setting(organization=organization, name="survey_fatigue_days"))


def customer_is_fatigued(
    *, organization: Organization, customer: Customer, days: int, now: datetime | None = None
) -> bool:
    """Unsubscribed customers never; others not when surveyed or invited within `days` days."""
    if customer.unsubscribed:
        return True
    if days <= 0:
        return False
    since = (now or timezone.now()) - timedelta(days=days)
    if (
        Response.objects.for_organization(organization)
        .filter(customer=customer, submitted_at__gte=since)
        .exists()
    ):
        return True
    return (
        Invitation.objects.for_organization(organization)
        .filter(customer=customer, created_at__gte=since)
        .exclude(status__in=[InvitationStatus.FAILED, InvitationStatus.SKIPPED])
        .exists()
    )


def customers_fatigued_ids(
    *, organization: Organization, customer_ids: list[int], days: int, now: datetime | None = None
) -> set[int]:
    """Of `customer_ids`, those not to be invited (unsubscribed, or surveyed/invited recently); 3 queries."""
    blocked = set(
        Customer.objects.for_organization(organization)
        .filter(id__in=customer_ids, unsubscribed=True)
        .values_list("id", flat=True)
    )
    if days <= 0:
        return blocked
    since = (now or timezone.now()) - timedelta(days=days)
    blocked |= set(
        Response.objects.for_organization(organization)
        .filter(customer_id__in=customer_ids, submitted_at__gte=since)
        .values_list("customer_id", flat=True)
    )
    blocked |= set(
        Invitation.objects.for_organization(organization)
        .filter(customer_id__in=customer_ids, created_at__gte=since)
        .exclude(status__in=[InvitationStatus.FAILED, InvitationStatus.SKIPPED])
        .values_list("customer_id", flat=True)
    )
    return blocked


SCORE_BANDS = {
    **{category: Q(score_kind="nps") & nps_category_q(category) for category in NPS_CATEGORIES},
    "low": Q(score_kind__in=["csat", "rating"], score__lte=2) | Q(score_kind="ces", score__lte=3),
    "high": (Q(score_kind__in=["csat", "rating"]) & csat_top_q()) | (Q(score_kind="ces") & ces_agree_q()),
}


def responses_filtered(*, organization: Organization, filters: dict[str, Any]) -> QuerySet[Response]:
    """Responses of the organization, narrowed by the list filters (all optional): start, end,
    survey, touchpoint (or touchpoint_key), channel, score_band, has_comment, language."""
    qs = Response.objects.for_organization(organization)
    if filters.get("start"):
        qs = qs.filter(submitted_at__gte=filters["start"])
    if filters.get("end"):
        qs = qs.filter(submitted_at__lt=filters["end"])
    if filters.get("survey"):
        qs = qs.filter(survey=filters["survey"])
    if filters.get("touchpoint"):
        qs = qs.filter(touchpoint=filters["touchpoint"])
    if filters.get("touchpoint_key"):
        qs = qs.filter(touchpoint__key=filters["touchpoint_key"])
    if filters.get("channel"):
        qs = qs.filter(channel=filters["channel"])
    if filters.get("score_band") in SCORE_BANDS:
        qs = qs.filter(SCORE_BANDS[filters["score_band"]])
    if filters.get("has_comment") is True:
        qs = qs.exclude(comment="")
    elif filters.get("has_comment") is False:
        qs = qs.filter(comment="")
    if filters.get("language"):
        qs = qs.filter(locale=filters["language"])
    return qs


# --- One touchpoint, one customer (journeys pages) ----------------------------------------------


def response_list(*, organization: Organization, filters: dict[str, Any]) -> QuerySet[Response]:
    """`responses_filtered` with each response's survey, touchpoint, customer and answers (the API list)."""
    return (
        responses_filtered(organization=organization, filters=filters)
        .select_related("survey", "touchpoint", "customer")
        .prefetch_related("answers")
    )


def touchpoint_comments(
    *, organization: Organization, touchpoint: Touchpoint, limit: int = 20
) -> list[Response]:
    """The touchpoint's latest responses with a comment, newest first, with their survey. One query."""
    return list(
        Response.objects.for_organization(organization)
        .filter(touchpoint=touchpoint)
        .exclude(comment="")
        .select_related("survey")
        .order_by("-submitted_at")[:limit]
    )


def touchpoint_surveys(*, organization: Organization, touchpoint: Touchpoint) -> list[Survey]:
    return list(Survey.objects.for_organization(organization).filter(touchpoint=touchpoint).order_by("name"))


def customer_responses(*, customer: Customer, limit: int = 100) -> list[Response]:
    """The customer's latest responses, newest first, with survey and touchpoint. One query."""
    return list(
        Response.objects.for_organization(customer.organization_id)
        .filter(customer=customer)
        .select_related("survey", "touchpoint")
        .order_by("-submitted_at")[:limit]
    )


def customer_invitations(*, customer: Customer, limit: int = 100) -> list[Invitation]:
    """The customer's latest invitations, newest first, with their survey. One query."""
    return list(
        Invitation.objects.for_organization(customer.organization_id)
        .filter(customer=customer)
        .select_related("survey")
        .order_by("-created_at")[:limit]
    )


def customer_latest_nps(*, customer: Customer) -> Response | None:
    """The customer's latest scored NPS response, or None."""
    return (
        Response.objects.for_organization(customer.organization_id)
        .filter(customer=customer, score_kind="nps")
        .exclude(score__isnull=True)
        .order_by("-submitted_at")
        .first()
    )


def customer_survey_data(*, customer: Customer) -> dict[str, list[dict[str, Any]]]:
    """Everything surveys holds about one customer (an access request): their responses with every
    answer, and their invitations, oldest first."""
    responses = (
        Response.objects.for_organization(customer.organization_id)
        .filter(customer=customer)
        .select_related("survey", "touchpoint")
        .prefetch_related("answers__question")
        .order_by("submitted_at", "id")
    )
    invitations = (
        Invitation.objects.for_organization(customer.organization_id)
        .filter(customer=customer)
        .select_related("survey")
        .order_by("created_at", "id")
    )
    return {
        "responses": [
            {
                "survey": r.survey.name,
                "touchpoint": r.touchpoint.key if r.touchpoint else None,
                "submitted_at": r.submitted_at,
                "score_kind": r.score_kind,
                "score": r.score,
                "comment": r.comment,
                "channel": r.channel,
                "locale": r.locale,
                "page_url": r.page_url,
                "hidden_fields": r.hidden_fields,
                "answers": [
                    {"question": str(a.question), "number": a.number, "text": a.text, "choices": a.choices}
                    for a in r.answers.all()
                ],
            }
            for r in responses
        ],
        "invitations": [
            {
                "survey": i.survey.name,
                "status": i.status,
                "language": i.language,
                "created_at": i.created_at,
                "sent_at": i.sent_at,
                "answered_at": i.answered_at,
            }
            for i in invitations
        ],
    }


def customer_export_document(*, customer: Customer) -> dict[str, Any]:
    """Everything cxm holds about a customer, as JSON-ready data: journeys' data (profile,
    interactions, orders) plus their survey responses and invitations (the privacy export of the
    customer page and of the API)."""
    document = customer_data(customer=customer)
    document.update(customer_survey_data(customer=customer))
    document["exported_at"] = timezone.now()
    return json.loads(json.dumps(document, cls=DjangoJSONEncoder))
