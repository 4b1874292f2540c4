"""Celery tasks of the text layer (routed to the `metrics` queue). Thin: ids in, a service call."""

from __future__ import annotations

import time
from typing import Any

from celery import shared_task
from django.core.cache import cache

from cxm.tenancy.models import Organization

from . import services
from .models import TextSettings

# A run analyses for this long, then queues the rest as a new message (other organizations get a turn
# and no run meets the time limit).
RUN_SECONDS = 120.0


@shared_task(
    name="feedback.tasks.analyse_comments", acks_late=True, time_limit=10 * 60, soft_time_limit=9 * 60
)
def analyse_comments(organization_id: int) -> dict[str, Any] | str:
    """Analyse the organization's new comments and continue any re-analysis; idempotent."""
    if not Organization.objects.filter(pk=organization_id).exists():
        return "missing"
    cache.delete(services.analysis_request_key(organization_id))
    deadline = time.monotonic() + RUN_SECONDS
    outcome: dict[str, Any] = {"analysed": 0, "left": True}
    analysed = 0
    while outcome["left"] and time.monotonic() < deadline:
        outcome = services.text_pending_analyse(organization_id=organization_id, max_batches=20)
        analysed += outcome["analysed"]
        if outcome["left"] and not outcome["analysed"]:
            break  # a concurrent run holds the work
    if outcome["left"]:
        analyse_comments.apply_async(args=[organization_id], countdown=1, ignore_result=True)
    return {**outcome, "analysed": analysed}


@shared_task(name="feedback.tasks.sweep_text_analysis", time_limit=5 * 60)
def sweep_text_analysis() -> int:
    """Queue the analysis of organizations whose re-analysis is unfinished (a lost message, a restart)."""
    queued = 0
    for row in TextSettings.objects.unscoped().only("organization_id", "current_version", "target_version"):
        if row.reanalysing:
            analyse_comments.delay(row.organization_id)
            queued += 1
    return queued


@shared_task(name="feedback.tasks.backfill_text", acks_late=True, time_limit=10 * 60, soft_time_limit=9 * 60)
def backfill_text(organization_id: int) -> dict[str, Any] | str:
    """Analyse every comment of the organization not yet analysed (progress on its text settings)."""
    if not Organization.objects.filter(pk=organization_id).exists():
        return "missing"
    services.text_backfill_start(organization_id=organization_id)
    return analyse_comments(organization_id)
