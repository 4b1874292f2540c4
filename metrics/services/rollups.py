"""The daily response rollups (`ResponseRollup`): refreshed for the local days that new, changed or
deleted responses touched, rebuilt in full on demand, and the versions of the other inputs that the
incremental recompute compares.

Which days to refresh is found from the data, not only from signals: every refresh looks at the
responses changed since the last one (`updated_at`, with a margin for transactions that committed
late), and a rollup whose total differs from the responses it counts is rebuilt. Signals make it
happen soon (a task right after responses are recorded, never in the submit path); the recompute
makes sure of it before it reads the rollups.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import connection, router, transaction
from django.db.models import Count, Max, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from cxm.core.routers import read_alias
from cxm.tenancy.models import Organization
from surveys.models import Response

from ..models import ResponseRollup, RollupState

logger = logging.getLogger(__name__)

# Responses whose `updated_at` is this close to the last refresh are looked at again: a transaction
# that stamped its rows before the refresh but committed after it is not missed.
LATE_COMMIT_MARGIN = timedelta(minutes=10)
BATCH = 5000
# Above this many separate runs of days, a refresh reads the whole span once.
SCATTERED_RUNS = 20
INPUT_KINDS = ("interactions", "transactions", "customers")


def _state_locked(organization: Organization) -> RollupState:
    """The organization's rollup state row, locked until the end of the transaction (one refresh at
    a time: two refreshes of a day must not both insert its rows)."""
    RollupState.objects.get_or_create(organization=organization)
    return RollupState.objects.select_for_update().for_organization(organization).get()


def _day_bounds(organization: Organization, day: date) -> tuple[datetime, datetime]:
    tz = organization.tzinfo
    return (
        datetime.combine(day, time.min, tzinfo=tz),
        datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz),
    )


COLUMNS = ("day", "survey_id", "touchpoint_id", "locale", "score_kind", "score")


def _grouped_query(organization: Organization, responses: Any) -> Any:
    return (
        responses.filter(score__isnull=False)
        .annotate(day=TruncDate("submitted_at", tzinfo=organization.tzinfo))
        .values(*COLUMNS)
        .annotate(n=Count("id"))
        .order_by()
    )


def _insert_grouped(organization: Organization, responses: Any) -> int:
    """Insert the rollup rows of these responses. On PostgreSQL reading where it writes, one
    `INSERT … SELECT` (no rows through Python); else the grouped rows in batches."""
    grouped = _grouped_query(organization, responses)
    if connection.vendor == "postgresql" and responses.db == router.db_for_write(ResponseRollup):
        sql, params = grouped.query.sql_with_params()
        table = ResponseRollup._meta.db_table
        columns = ", ".join(COLUMNS)
        selected = ", ".join(f"grouped.{c}" for c in COLUMNS)
        statement = (
            f"INSERT INTO {table} (organization_id, {columns}, n)"  # noqa: S608  (SQL from model metadata, constants and the ORM; values are parameters)
            f" SELECT %s, {selected}, grouped.n FROM ({sql}) grouped"
        )
        with connection.cursor() as cursor:
            cursor.execute(statement, [organization.pk, *params])
            return int(cursor.rowcount)
    batch: list[ResponseRollup] = []
    written = 0
    for row in grouped.iterator(chunk_size=BATCH):
        batch.append(ResponseRollup(organization_id=organization.pk, **row))
        if len(batch) >= BATCH:
            ResponseRollup.objects.bulk_create(batch)
            written += len(batch)
            batch = []
    if batch:
        ResponseRollup.objects.bulk_create(batch)
        written += len(batch)
    return written


def _refresh_days_locked(organization: Organization, days: set[date]) -> int:
    if not days:
        return 0
    ResponseRollup.objects.for_organization(organization).filter(day__in=sorted(days)).delete()
    written = 0
    ordered = sorted(days)
    # Contiguous runs of days are one range scan each.
    runs: list[tuple[date, date]] = []
    for day in ordered:
        if runs and day == runs[-1][1] + timedelta(days=1):
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    responses = Response.objects.using(read_alias()).for_organization(organization)
    if len(runs) > SCATTERED_RUNS:
        # Late arrivals scattered over history: one pass over the span, keeping the wanted days,
        # costs less than a range scan per day.
        start, _end = _day_bounds(organization, ordered[0])
        _start, end = _day_bounds(organization, ordered[-1])
        return _insert_grouped(
            organization,
            responses.filter(submitted_at__gte=start, submitted_at__lt=end)
            .annotate(local_day=TruncDate("submitted_at", tzinfo=organization.tzinfo))
            .filter(local_day__in=ordered),
        )
    for first, last in runs:
        start, _end = _day_bounds(organization, first)
        _start, end = _day_bounds(organization, last)
        written += _insert_grouped(
            organization, responses.filter(submitted_at__gte=start, submitted_at__lt=end)
        )
    return written


def _responses_fingerprint(organization: Organization) -> dict[str, Any]:
    """What the responses look like now, from one pass over them: per survey, how many there are
    (scored and all) and the latest change. Any insert, update or deletion moves it."""
    per_survey = (
        Response.objects.using(read_alias())
        .for_organization(organization)
        .values("survey_id")
        .annotate(
            n=Count("id"),
            scored=Count("id", filter=Q(score__isnull=False)),
            changed=Max("updated_at"),
        )
        .order_by("survey_id")
    )
    surveys = {
        str(row["survey_id"]): [
            row["n"],
            row["scored"],
            row["changed"].isoformat() if row["changed"] else None,
        ]
        for row in per_survey
    }
    return {
        "surveys": surveys,
        "scored": sum(value[1] for value in surveys.values()),
        "changed": max((value[2] for value in surveys.values() if value[2]), default=None),
    }


def rollup_rebuild(*, organization: Organization) -> int:
    """Rebuild every rollup row of the organization from its responses (the full path)."""
    started = timezone.now()
    fingerprint = _responses_fingerprint(organization)
    with transaction.atomic():
        state = _state_locked(organization)
        ResponseRollup.objects.for_organization(organization).delete()
        written = _insert_grouped(
            organization, Response.objects.using(read_alias()).for_organization(organization)
        )
        state.time_zone = organization.time_zone
        state.needs_rebuild = False
        state.built_at = state.refreshed_at = started
        state.versions = {**state.versions, "responses": fingerprint}
        state.save()
    return written


def rollup_refresh_days(*, organization: Organization, days: Iterable[date]) -> int:
    """Refresh the rollup rows of these local days (new, changed or deleted responses on them)."""
    wanted = set(days)
    with transaction.atomic():
        state = _state_locked(organization)
        if state.needs_rebuild or state.time_zone != organization.time_zone:
            return 0  # the next `rollup_ensure` rebuilds everything
        return _refresh_days_locked(organization, wanted)


def response_day_list(*, organization: Organization, responses: Any) -> list[date]:
    """The distinct local days of these responses, in order."""
    return sorted(
        responses.annotate(day=TruncDate("submitted_at", tzinfo=organization.tzinfo))
        .values_list("day", flat=True)
        .distinct()
        .order_by()
    )


def response_days(*, organization: Organization, response_ids: Iterable[int]) -> set[date]:
    """The local days of these responses (those that still exist)."""
    ids = list(response_ids)
    days: set[date] = set()
    for start in range(0, len(ids), BATCH):
        days.update(
            Response.objects.using(read_alias())
            .for_organization(organization)
            .filter(id__in=ids[start : start + BATCH])
            .annotate(day=TruncDate("submitted_at", tzinfo=organization.tzinfo))
            .values_list("day", flat=True)
            .distinct()
            .order_by()
        )
    return days


def _catch_up_locked(organization: Organization, state: RollupState) -> list[date]:
    """Refresh the days of every response changed since the last catch-up (minus the margin for
    late commits), and move the mark. Inside the caller's transaction, with the state row locked."""
    started = timezone.now()
    since = state.refreshed_at or state.built_at
    days: set[date] = set()
    if since is not None:
        days = set(
            Response.objects.using(read_alias())
            .for_organization(organization)
            .filter(updated_at__gte=since - LATE_COMMIT_MARGIN)
            .annotate(day=TruncDate("submitted_at", tzinfo=organization.tzinfo))
            .values_list("day", flat=True)
            .distinct()
            .order_by()
        )
    _refresh_days_locked(organization, days)
    state.refreshed_at = started
    state.save(update_fields=["refreshed_at"])
    return sorted(days)


def rollup_catch_up(*, organization: Organization) -> list[date]:
    """Refresh the days of the responses changed since the last refresh (the task sent right after
    responses are recorded). Nothing when the rollups are not built or wait for a rebuild."""
    with transaction.atomic():
        state = _state_locked(organization)
        if state.needs_rebuild or state.time_zone != organization.time_zone:
            return []
        return _catch_up_locked(organization, state)


def rollup_ensure(*, organization: Organization) -> dict[str, Any]:
    """Bring the rollups up to date before they are read: a rebuild when none was built, the time
    zone changed or a deletion asked for one; else a refresh of the days of every response changed
    since the last refresh (with a margin for late commits). When the rollups still do not count
    every scored response afterwards (a change no signal or timestamp showed), they are rebuilt.
    Returns {"mode": "rebuilt" | "refreshed", "days": refreshed days, "responses": the fingerprint}."""
    state = RollupState.objects.for_organization(organization).first()
    if state is None or state.needs_rebuild or state.time_zone != organization.time_zone:
        rollup_rebuild(organization=organization)
        return {"mode": "rebuilt", "days": None, "responses": _stored_fingerprint(organization)}
    days: set[date] = set()
    # Responses committed between the count and the catch-up make them differ for a moment: look
    # once more before concluding that the rollups missed something.
    for _attempt in range(2):
        fingerprint = _responses_fingerprint(organization)
        with transaction.atomic():
            state = _state_locked(organization)
            days.update(_catch_up_locked(organization, state))
            counted = (
                ResponseRollup.objects.for_organization(organization).aggregate(total=Sum("n"))["total"] or 0
            )
            if counted == fingerprint["scored"]:
                state.versions = {**state.versions, "responses": fingerprint}
                state.save(update_fields=["versions"])
                return {"mode": "refreshed", "days": sorted(days), "responses": fingerprint}
    logger.warning(
        "metrics: rollups of organization %s counted %s of %s scored responses; rebuilding",
        organization.pk,
        counted,
        fingerprint["scored"],
    )
    rollup_mark_rebuild(organization_id=organization.pk)
    rollup_rebuild(organization=organization)
    return {"mode": "rebuilt", "days": None, "responses": _stored_fingerprint(organization)}


def _stored_fingerprint(organization: Organization) -> dict[str, Any]:
    state = RollupState.objects.for_organization(organization).get()
    return dict(state.versions.get("responses") or {})


def rollup_mark_rebuild(*, organization_id: int) -> None:
    """A change the day refresh cannot follow (a deleted survey or touchpoint): rebuild next time."""
    if not RollupState.objects.for_organization(organization_id).update(needs_rebuild=True):
        RollupState.objects.get_or_create(organization_id=organization_id, defaults={"needs_rebuild": True})


def input_version_bump(*, organization_id: int, kind: str) -> None:
    """Interactions, transactions or customers of the organization changed (`customer_data_changed`):
    what was computed from them is not reused."""
    kind = kind if kind in INPUT_KINDS else "customers"
    with transaction.atomic():
        RollupState.objects.get_or_create(organization_id=organization_id)
        state = RollupState.objects.select_for_update().for_organization(organization_id).get()
        versions = dict(state.versions)
        versions[kind] = int(versions.get(kind) or 0) + 1
        state.versions = versions
        state.save(update_fields=["versions"])


def input_versions(*, organization: Organization) -> dict[str, Any]:
    state = RollupState.objects.for_organization(organization).first()
    return dict(state.versions) if state is not None else {}


def rollups_current(*, organization: Organization) -> bool:
    """Whether the rollups may answer a view now: built, in the organization's current time zone,
    no rebuild pending (a day refresh may still be a few seconds behind the newest responses)."""
    return (
        RollupState.objects.for_organization(organization)
        .filter(needs_rebuild=False, time_zone=organization.time_zone, built_at__isnull=False)
        .exists()
    )
