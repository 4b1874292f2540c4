"""Celery tasks of the metrics layer (routed to the `metrics` queue). Thin: ids in, a service call."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

from cxm.tenancy.models import Organization

from . import services
from .filters import MetricFilters
from .models import RecomputeState
from .policy import recompute_policy


@shared_task(
    name="metrics.tasks.recompute_organization", acks_late=True, time_limit=15 * 60, soft_time_limit=14 * 60
)
def recompute_organization(organization_id: int, full: bool = False) -> str:
    """Recompute one organization's dashboards (incremental, or a full rebuild with `full`); a no-op
    ("busy") when a run is already in flight."""
    if not Organization.objects.filter(pk=organization_id).exists():
        return "missing"
    return services.recompute_run(organization_id=organization_id, full=full)


@shared_task(name="metrics.tasks.recompute_all_organizations", time_limit=5 * 60)
def recompute_all_organizations() -> int:
    """Queue a recompute for every organization that is stale or not refreshed lately."""
    now = timezone.now()
    policy = recompute_policy()
    states = {s.organization_id: s for s in RecomputeState.objects.unscoped()}
    queued = 0
    for organization_id in Organization.objects.values_list("id", flat=True):
        state = states.get(organization_id)
        due = (
            state is None
            or state.stale_since is not None
            or state.finished_at is None
            or state.finished_at < now - policy.refresh_after
        )
        if due and not (
            state
            and state.running_since
            and state.running_since > now - timedelta(seconds=policy.stale_run_seconds)
        ):
            recompute_organization.delay(organization_id)
            queued += 1
    return queued


@shared_task(
    name="metrics.tasks.rollup_responses",
    acks_late=True,
    time_limit=10 * 60,
    soft_time_limit=9 * 60,
    ignore_result=True,
)
def rollup_responses(organization_id: int, response_ids: list[int] | None = None) -> int:
    """Refresh the daily rollups of the local days these responses fall on (sent right after they
    were recorded); without ids, every day changed since the last refresh. Returns rows written
    (days refreshed without ids)."""
    from .services import rollups

    organization = Organization.objects.filter(pk=organization_id).first()
    if organization is None:
        return 0
    if not rollups.rollups_current(organization=organization):
        return 0  # never built, or a rebuild is due: the next recompute builds them
    if response_ids is None:
        return len(rollups.rollup_catch_up(organization=organization))
    days = rollups.response_days(organization=organization, response_ids=response_ids)
    return rollups.rollup_refresh_days(organization=organization, days=days)


@shared_task(
    name="metrics.tasks.rollup_days",
    acks_late=True,
    time_limit=10 * 60,
    soft_time_limit=9 * 60,
    ignore_result=True,
)
def rollup_days(organization_id: int, days: list[str]) -> int:
    """Refresh the daily rollups of these local days (ISO dates): after a deletion."""
    from datetime import date

    from .services import rollups

    organization = Organization.objects.filter(pk=organization_id).first()
    if organization is None:
        return 0
    return rollups.rollup_refresh_days(organization=organization, days=[date.fromisoformat(d) for d in days])


def job_cache_key(organization_id: int, dashboard: str, filters_key: str) -> str:
    return f"metrics:job:{organization_id}:{dashboard}:{filters_key}"


@shared_task(
    name="metrics.tasks.compute_snapshot",
    acks_late=True,
    time_limit=15 * 60,
    soft_time_limit=14 * 60,
    ignore_result=True,  # progress goes through the cache; the page sending it never waits on a result
)
def compute_snapshot(organization_id: int, dashboard: str, filters: dict[str, Any]) -> str:
    """Compute one dashboard under filters no snapshot covers, reporting progress in the cache."""
    organization = Organization.objects.get(pk=organization_id)
    parsed = MetricFilters.from_params({k: "" if v is None else str(v) for k, v in filters.items()})
    key = job_cache_key(organization_id, dashboard, parsed.key)
    cache.set(key, {"state": "running", "progress": 0.1}, 3600)
    services.snapshot_compute(organization=organization, dashboard=dashboard, filters=parsed)
    cache.set(key, {"state": "done", "progress": 1.0}, 3600)
    return "done"


@shared_task(name="metrics.tasks.fit_clv_model", time_limit=15 * 60)
def fit_clv_model(organization_id: int, calibration_end: str, period: str) -> int:
    from datetime import date

    organization = Organization.objects.get(pk=organization_id)
    model = services.clv_fit(
        organization=organization, calibration_end=date.fromisoformat(calibration_end), period=period
    )
    return model.pk


@shared_task(
    name="metrics.tasks.refresh_customer_summaries",
    acks_late=True,
    time_limit=15 * 60,
    soft_time_limit=14 * 60,
    ignore_result=True,
)
def refresh_customer_summaries(organization_id: int, customer_ids: list[int] | None = None) -> int:
    """Refresh the purchase summaries of the customers an ingest batch touched (all of them when
    None). Idempotent: a summary is recomputed from the stored rows, never incremented."""
    organization = Organization.objects.filter(pk=organization_id).first()
    if organization is None:
        return 0
    return services.customer_summaries_refresh(organization=organization, customer_ids=customer_ids)
