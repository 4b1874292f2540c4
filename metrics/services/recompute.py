"""The recompute of an organization's dashboards: stale marks, the debounced queue, and the guarded
run (claim the per-organization lock, compute and store, release)."""

from __future__ import annotations

import logging
import time
import uuid
from datetime import timedelta

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from cxm.tenancy.models import Organization

from ..models import RecomputeState
from ..policy import recompute_policy
from .snapshots import dashboards_recompute

logger = logging.getLogger(__name__)


def stale_signal_key(organization_id: int) -> str:
    return f"metrics:stale-signal:{organization_id}"


def recompute_mark_stale(*, organization_id: int) -> None:
    """Mark the dashboards stale without queueing anything (`METRICS_RECOMPUTE_ON_SIGNAL` off: beat,
    or without a broker the next dashboard visit, queues the recompute). One UPDATE when already known."""
    if (
        not RecomputeState.objects.for_organization(organization_id)
        .filter(stale_since__isnull=True)
        .update(stale_since=timezone.now())
    ):
        RecomputeState.objects.get_or_create(
            organization_id=organization_id, defaults={"stale_since": timezone.now()}
        )


def recompute_queue_if_due(*, organization_id: int) -> bool:
    """Without a broker there is no beat: a dashboard visit queues the recompute that is due, i.e.
    the dashboards are stale (or were not refreshed for the policy's `refresh_after`) and no run is in flight or was
    queued lately (the process that queued it may have stopped). Never computes in the caller; one
    read when nothing is due. True if a recompute was queued."""
    from cxm.core import background

    if not background.enabled():
        return False
    state = RecomputeState.objects.for_organization(organization_id).first()
    now = timezone.now()
    policy = recompute_policy()
    if (
        state is None
        or state.running_since is not None
        and state.running_since > now - timedelta(seconds=policy.stale_run_seconds)
    ):
        return False
    due = state.stale_since is not None or (
        state.finished_at is not None and state.finished_at < now - policy.refresh_after
    )
    lately = now - timedelta(seconds=policy.debounce_seconds + policy.queued_grace_seconds)
    if not due or (state.requested_at is not None and state.requested_at > lately):
        return False
    return recompute_request(organization_id=organization_id)


def recompute_request(*, organization_id: int, force: bool = False) -> bool:
    """Mark the organization's dashboards stale and queue a debounced recompute, unless one is
    already queued within the debounce window (bursts coalesce into one run). Returns whether a
    task was queued."""
    from ..tasks import recompute_organization

    now = timezone.now()
    debounce_seconds = recompute_policy().debounce_seconds
    with transaction.atomic():
        state, _created = RecomputeState.objects.select_for_update().get_or_create(
            organization_id=organization_id
        )
        if state.stale_since is None:
            state.stale_since = now
        recently = state.requested_at is not None and state.requested_at > now - timedelta(
            seconds=debounce_seconds
        )
        if recently and not force:
            state.save(update_fields=["stale_since"])
            return False
        state.requested_at = now
        state.save(update_fields=["stale_since", "requested_at"])
    countdown = 0 if force else debounce_seconds  # "Recompute now" does not wait for a burst
    transaction.on_commit(
        lambda: recompute_organization.apply_async(
            args=[organization_id], countdown=countdown, ignore_result=True
        ),
        robust=True,  # broker down: the state stays stale and beat's sweep queues it later
    )
    return True


def recompute_claim(*, organization_id: int) -> str | None:
    """Take the per-organization run lock (a row lock, then a token on the row). None when another
    run is in flight: one recompute per organization at a time."""
    now = timezone.now()
    with transaction.atomic():
        state, _created = RecomputeState.objects.select_for_update().get_or_create(
            organization_id=organization_id
        )
        if state.running_since is not None and state.running_since > now - timedelta(
            seconds=recompute_policy().stale_run_seconds
        ):
            return None
        token = uuid.uuid4().hex
        # Data arriving from now on is not in this run: let its signal mark the dashboards stale again.
        cache.delete(stale_signal_key(organization_id))
        state.running_since = now
        state.run_token = token
        state.stale_since = None
        state.requested_at = None
        state.save(update_fields=["running_since", "run_token", "stale_since", "requested_at"])
    return token


def recompute_release(*, organization_id: int, token: str, duration_ms: int, error: str = "") -> bool:
    """Release the lock; returns True when new data arrived during the run (a follow-up is due)."""
    with transaction.atomic():
        state = RecomputeState.objects.select_for_update().for_organization(organization_id).get()
        if state.run_token != token:
            return False
        state.running_since = None
        state.run_token = ""
        state.finished_at = timezone.now()
        state.last_duration_ms = duration_ms
        state.last_error = error[:2000]
        state.runs += 1
        if error:
            state.stale_since = state.stale_since or timezone.now()
        state.save()
        return state.stale_since is not None and not error


def recompute_run(*, organization_id: int, full: bool = False) -> str:
    """One guarded recompute: claim, compute, store, release. Returns "done", "busy" or "failed".
    Incremental unless `full` (snapshots.dashboards_recompute)."""
    token = recompute_claim(organization_id=organization_id)
    if token is None:
        return "busy"
    started = time.monotonic()
    try:
        organization = Organization.objects.get(pk=organization_id)
        dashboards_recompute(organization=organization, incremental=not full)
    except Exception as exc:
        recompute_release(
            organization_id=organization_id,
            token=token,
            duration_ms=int((time.monotonic() - started) * 1000),
            error=repr(exc),
        )
        raise
    follow_up = recompute_release(
        organization_id=organization_id, token=token, duration_ms=int((time.monotonic() - started) * 1000)
    )
    if follow_up:
        recompute_request(organization_id=organization_id)
    return "done"
