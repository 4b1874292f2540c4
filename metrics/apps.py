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
        from journeys.signals import customer_data_changed
        from surveys.signals import response_recorded

        # What `_mark_stale` needs (and with it pandas and SciPy, seconds on a busy machine) is
        # imported now, at process start, not by the first signal: the first submissions would
        # otherwise wait seconds for their `response_recorded` receivers.
        from . import services, tasks  # noqa: F401

        response_recorded.connect(_mark_stale, dispatch_uid="metrics-stale-on-response")
        # Before the stale mark: a recompute it starts in-process reads the refreshed summaries.
        customer_data_changed.connect(_refresh_summaries, dispatch_uid="metrics-summaries-on-customer-data")
        customer_data_changed.connect(_mark_stale, dispatch_uid="metrics-stale-on-customer-data")
