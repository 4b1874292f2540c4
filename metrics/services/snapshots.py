"""Dashboard snapshots: compute the payloads (reads through `read_alias()`), store them, and the
recompute of every default view with the per-customer values in one transaction."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import pandas as pd
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerUnreachable

from cxm.core.routers import read_alias
from cxm.tenancy.models import Organization
from cxm.tenancy.selectors import organization_settings

from ..computations.value_section import stored_value_section, value_section_stored
from ..cost import dashboard_cost
from ..dashboard_selectors import current_clv_model
from ..dashboards import json_safe, registry
from ..filters import MetricFilters
from ..models import Snapshot
from ..policy import recompute_policy
from ..selectors import dashboard_snapshot
from .clv import clv_model_payload
from .customer_summaries import customer_summaries_catch_up, customer_summaries_refresh
from .customer_values import customer_values_store
from .incremental import recompute_plan, recompute_plan_record
from .rollups import rollups_current


def dashboards_compute(
    *,
    organization: Organization,
    filters: MetricFilters,
    dashboards: tuple[str, ...] | None = None,
    progress: Any = None,
    rollups: bool | None = None,
    reuse: Any = None,
    values_later: bool = False,
) -> tuple[dict[str, dict[str, Any]], pd.DataFrame | None, dict[str, int]]:
    """Compute the payloads of `dashboards` (default: every registered one). Reads go to
    `read_alias()`. Survey scores come from the daily rollups when `rollups` (default: when they are
    built and current for the organization's time zone); `reuse` hands the parts the last recompute
    stored (services.incremental). When a dashboard needs the per-customer values and no stored ones
    serve, they are stored first (services.customer_values, from the purchase summaries), unless
    `values_later`: the caller then stores them and adds their part to those payloads
    (`customer_values_section`) in its own transaction. The second item returned is always None
    (no frame of every customer is built)."""
    if dashboards is None:
        dashboards = registry.keys()
    using = read_alias()
    now = timezone.now()
    model = current_clv_model(organization=organization)
    context: dict[str, Any] = {
        "now": now,
        "settings": organization_settings(organization=organization),
        "model": model,
        "model_payload": clv_model_payload(model),
        "rollups": rollups_current(organization=organization) if rollups is None else rollups,
        "reuse": reuse,  # parts stored by the last recompute (services.incremental.PartReuse)
    }
    frame = None
    payloads: dict[str, dict[str, Any]] = {}
    durations: dict[str, int] = {}
    needs_values = any(registry.require(name).needs_customer_values for name in dashboards)
    if needs_values and filters.key != "default":
        # A filtered value page reads the per-customer part the last recompute stored.
        context["value_section"] = stored_value_section(organization=organization)
    if needs_values and context.get("value_section") is None:
        if values_later:
            context["value_section"] = {}
        else:
            started = time.monotonic()
            context["value_section"] = customer_values_section(organization=organization, now=now)
            durations["customer_values"] = int((time.monotonic() - started) * 1000)
    for index, name in enumerate(dashboards):
        started = time.monotonic()
        payloads[name] = json_safe(
            registry.require(name).builder(
                organization=organization, filters=filters, using=using, context=context
            )
        )
        durations[name] = int((time.monotonic() - started) * 1000)
        if progress is not None:
            progress((index + 1) / len(dashboards))
    return payloads, frame, durations


def snapshots_store(
    *,
    organization: Organization,
    filters: MetricFilters,
    payloads: dict[str, dict[str, Any]],
    durations: dict[str, int],
    computed_at: datetime,
) -> None:
    for name, payload in payloads.items():
        Snapshot.objects.update_or_create(
            organization=organization,
            dashboard=name,
            filters_key=filters.key,
            defaults={
                "filters": filters.as_dict(),
                "payload": payload,
                "computed_at": computed_at,
                "duration_ms": durations.get(name, 0),
            },
        )


def customer_values_section(*, organization: Organization, now: datetime) -> dict[str, Any]:
    """Store the per-customer values (services.customer_values, a part of the customers at a time,
    in the caller's transaction if any) and return the value page's per-customer part aggregated
    from them."""
    model = current_clv_model(organization=organization)
    risk = customer_values_store(
        organization=organization,
        now=now,
        model=model,
        settings=organization_settings(organization=organization),
    )
    return json_safe(
        value_section_stored(
            organization=organization,
            model=model,
            model_payload=clv_model_payload(model),
            now=now,
            revenue_at_risk=risk,
        )
    )


def dashboards_recompute(
    *, organization: Organization, incremental: bool = False, rebuild_summaries: bool | None = None
) -> dict[str, int]:
    """Recompute every dashboard's default view and the per-customer values, then replace them in
    one transaction: readers see the old snapshots and values until the commit, then all new ones.

    By default a full rebuild: the purchase summaries and the rollups rebuilt, every dashboard
    computed from all history. `incremental` (what the recompute task does, services.incremental):
    the rollups are refreshed for the days that changed, the purchase summaries are read as ingest
    maintains them, and a dashboard whose inputs did not change keeps its snapshot; both give the
    same payloads. The survey scores read the rollups either way. The incremental recompute catches
    the summaries up (`customer_summaries_catch_up`) instead of rebuilding them; `rebuild_summaries`
    overrides both (True: rebuilt, False: read as they are). Returns the milliseconds per computed part (a reused
    dashboard is absent)."""
    filters = MetricFilters()
    computed_at = timezone.now()
    durations: dict[str, int] = {}
    started = time.monotonic()
    plan = recompute_plan(organization=organization, full=not incremental)
    durations["rollups"] = int((time.monotonic() - started) * 1000)
    catch_up = rebuild_summaries is None and incremental
    if rebuild_summaries is None:
        rebuild_summaries = not incremental
    started = time.monotonic()
    if rebuild_summaries:
        customer_summaries_refresh(organization=organization)
        durations["customer_summaries"] = int((time.monotonic() - started) * 1000)
    elif catch_up and any(registry.require(name).needs_customer_values for name in plan.compute):
        # The summaries follow ingest's signals; what a write that sent none left behind is caught up
        # here, in proportion to what was written since the last rebuild or catch-up.
        customer_summaries_catch_up(organization=organization)
        durations["customer_summaries"] = int((time.monotonic() - started) * 1000)
    payloads, _frame, computed = dashboards_compute(
        organization=organization,
        filters=filters,
        dashboards=plan.compute,
        rollups=True,
        reuse=plan.parts,
        values_later=True,
    )
    durations.update(computed)
    needs_values = [name for name in payloads if registry.require(name).needs_customer_values]
    with transaction.atomic():
        if needs_values:
            started = time.monotonic()
            section = customer_values_section(organization=organization, now=computed_at)
            for name in needs_values:
                payloads[name].update(section)
            durations["customer_values"] = int((time.monotonic() - started) * 1000)
        snapshots_store(
            organization=organization,
            filters=filters,
            payloads=payloads,
            durations=durations,
            computed_at=computed_at,
        )
        recompute_plan_record(organization=organization, plan=plan, computed_at=computed_at)
        # Views under other filters were computed from older data: they are recomputed on demand.
        Snapshot.objects.for_organization(organization).exclude(filters_key="default").delete()
    return durations


def snapshot_compute(*, organization: Organization, dashboard: str, filters: MetricFilters) -> Snapshot:
    """Compute and store one dashboard under non-default filters (on demand)."""
    computed_at = timezone.now()
    payloads, _frame, durations = dashboards_compute(
        organization=organization, filters=filters, dashboards=(dashboard,)
    )
    with transaction.atomic():
        snapshots_store(
            organization=organization,
            filters=filters,
            payloads=payloads,
            durations=durations,
            computed_at=computed_at,
        )
    return Snapshot.objects.for_organization(organization).get(dashboard=dashboard, filters_key=filters.key)


def snapshot_resolve(
    *, organization: Organization, dashboard: str, filters: MetricFilters
) -> tuple[Snapshot | None, dict[str, Any] | None]:
    """The snapshot for these filters, computing it now when it is missing and cheap enough, or
    queueing it (the page then shows progress)."""
    from ..tasks import compute_snapshot, job_cache_key
    from .recompute import recompute_request

    snapshot = dashboard_snapshot(organization=organization, dashboard=dashboard, filters_key=filters.key)
    if snapshot is not None:
        return snapshot, None
    if filters.key == "default":
        recompute_request(organization_id=organization.pk, force=True)
        snapshot = dashboard_snapshot(organization=organization, dashboard=dashboard, filters_key="default")
        return snapshot, None if snapshot else {"state": "queued", "progress": 0.0}
    key = job_cache_key(organization.pk, dashboard, filters.key)
    job = cache.get(key)
    if job is None:
        # The estimated rows to scan decide (metrics.cost), not a response count.
        size = dashboard_cost(
            organization=organization, dashboard=dashboard, filters=filters, using=read_alias()
        )
        if size <= recompute_policy().on_demand_limit:
            return snapshot_compute(organization=organization, dashboard=dashboard, filters=filters), None
        cache.set(key, {"state": "queued", "progress": 0.0}, 3600)
        try:
            compute_snapshot.delay(organization.pk, dashboard, filters.as_dict())
        except BrokerUnreachable:  # not queued: the next visit tries again
            cache.delete(key)
            return None, {"state": "queued", "progress": 0.0}
        snapshot = dashboard_snapshot(organization=organization, dashboard=dashboard, filters_key=filters.key)
        if snapshot is not None:
            return snapshot, None
        job = cache.get(key)
    return None, job
