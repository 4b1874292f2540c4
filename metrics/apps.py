from __future__ import annotations

import logging
from typing import Any

from django.apps import AppConfig

logger = logging.getLogger(__name__)


def _mark_stale(sender: Any = None, organization_id: int | None = None, **kwargs: Any) -> None:
    """New responses, orders or imports: the organization's dashboards are stale; queue a debounced
    recompute. Never lets a metrics failure break the sender's write."""
    from django.conf import settings

    if organization_id is None:
        return
    from django.core.cache import cache

    from .policy import recompute_policy
    from .services import recompute_mark_stale, recompute_request, stale_signal_key

    # The busiest writers (survey submissions) send this per row: after the first signal of a burst
    # the rest cost one cache operation, not a transaction. A recompute clears the key when it starts.
    try:
        if not cache.add(stale_signal_key(organization_id), 1, timeout=recompute_policy().debounce_seconds):
            return
        if getattr(settings, "METRICS_RECOMPUTE_ON_SIGNAL", True):
            recompute_request(organization_id=organization_id)
        else:
            recompute_mark_stale(organization_id=organization_id)
    except Exception:  # the write that sent the signal has committed; never fail it (cache or broker down)
        logger.exception("metrics: could not queue a recompute for organization %s", organization_id)


def _rollup_soon(sender: Any = None, organization_id: int | None = None, **kwargs: Any) -> None:
    """Responses were recorded, updated or scrubbed: queue one refresh of the daily rollups per
    burst (`metrics.tasks.rollup_responses`, after `METRICS_ROLLUP_DEBOUNCE` seconds), which finds the
    changed days itself. One cache operation per signal; never fails the sender."""
    from django.conf import settings
    from django.core.cache import cache

    if organization_id is None:
        return
    from .tasks import rollup_responses

    debounce = int(getattr(settings, "METRICS_ROLLUP_DEBOUNCE", 5))
    try:
        if not cache.add(f"metrics:rollup-signal:{organization_id}", 1, timeout=max(debounce, 1)):
            return
        rollup_responses.apply_async(args=[organization_id], countdown=debounce, ignore_result=True)
    except Exception:  # the next recompute catches the rollups up anyway
        logger.exception("metrics: could not queue the rollup refresh of organization %s", organization_id)


def _input_changed(
    sender: Any = None, organization_id: int | None = None, kind: str = "", **kwargs: Any
) -> None:
    """Interactions, transactions or customers changed: what was computed from them is not reused."""
    if organization_id is None:
        return
    from .services.rollups import input_version_bump

    try:
        input_version_bump(organization_id=organization_id, kind=kind)
    except Exception:  # the write has committed and must not fail; `recompute_dashboards --full` redoes all
        logger.exception(
            "metrics: could not record the change of %s for organization %s", kind, organization_id
        )


def _responses_leaving(sender: Any, instance: Any, **kwargs: Any) -> None:
    """A survey (its responses go with it) or a touchpoint (its responses lose it) is being deleted:
    after the commit, refresh the daily rollups of the local days of those responses."""
    from django.db import transaction

    from cxm.tenancy.models import Organization
    from surveys.models import Response, Survey

    from .services.rollups import response_day_list
    from .tasks import rollup_days

    organization = Organization.objects.filter(pk=instance.organization_id).first()
    if organization is None:
        return
    responses = Response.objects.for_organization(organization)
    responses = (
        responses.filter(survey_id=instance.pk)
        if isinstance(instance, Survey)
        else responses.filter(touchpoint_id=instance.pk)
    )
    days = [day.isoformat() for day in response_day_list(organization=organization, responses=responses)]
    if days:
        transaction.on_commit(
            lambda: rollup_days.apply_async(args=[organization.pk, days], ignore_result=True), robust=True
        )


def _refresh_summaries(
    sender: Any = None, organization_id: int | None = None, customer_ids: Any = None, **kwargs: Any
) -> None:
    """Customers, interactions or transactions changed: refresh those customers' purchase summaries
    (every customer's when the signal does not say which), in a task right after the write."""
    if organization_id is None:
        return
    from .tasks import refresh_customer_summaries

    ids = None if customer_ids is None else [int(i) for i in customer_ids]
    try:
        refresh_customer_summaries.delay(organization_id, ids)
    except Exception:  # the write that sent the signal has committed; never fail it (broker down)
        logger.exception("metrics: could not refresh customer summaries of organization %s", organization_id)


class MetricsConfig(AppConfig):
    name = "metrics"
    verbose_name = "Metrics"

    def ready(self) -> None:
        from django.db.models.signals import pre_delete

        from journeys.models import Touchpoint
        from journeys.signals import customer_data_changed
        from surveys.models import Survey
        from surveys.signals import response_recorded

        # What `_mark_stale` needs (and with it pandas and SciPy, seconds on a busy machine) is
        # imported now, at process start, not by the first signal: the first submissions would
        # otherwise wait seconds for their `response_recorded` receivers.
        from . import services, tasks  # noqa: F401

        response_recorded.connect(_mark_stale, dispatch_uid="metrics-stale-on-response")
        # Before the stale mark: a recompute it starts in-process reads the refreshed summaries.
        customer_data_changed.connect(_refresh_summaries, dispatch_uid="metrics-summaries-on-customer-data")
        customer_data_changed.connect(_mark_stale, dispatch_uid="metrics-stale-on-customer-data")
        response_recorded.connect(_rollup_soon, dispatch_uid="metrics-rollup-on-response")
        customer_data_changed.connect(_input_changed, dispatch_uid="metrics-input-version")
        pre_delete.connect(_responses_leaving, sender=Survey, dispatch_uid="metrics-rollup-survey-deleted")
        pre_delete.connect(
            _responses_leaving, sender=Touchpoint, dispatch_uid="metrics-rollup-touchpoint-deleted"
        )
