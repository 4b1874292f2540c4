"""When the dashboards are recomputed: the one policy the services, the tasks, the selectors and the
pages read (from settings, so a deployment or a test can change any of it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings


@dataclass(frozen=True)
class RecomputePolicy:
    # Seconds a burst of new data waits before one recompute (`METRICS_RECOMPUTE_DEBOUNCE`).
    debounce_seconds: int = 30
    # A run older than this is considered dead (the worker was killed); its lock can be taken over.
    stale_run_seconds: int = 20 * 60
    # Beat runs every 15 minutes; organizations whose last run is older than this are refreshed too
    # (relative windows such as "the last 365 days" move with the calendar).
    refresh_after: timedelta = timedelta(hours=6)
    # A recompute queued this long after its debounce and still not started is taken as lost.
    queued_grace_seconds: int = 60
    # Estimated rows to scan (metrics.cost) up to which a view no snapshot covers is computed within
    # the request (`METRICS_ON_DEMAND_MAX_ROWS`); larger ones are queued (a worker, or without a
    # broker a background thread) and the page polls.
    on_demand_limit: int = 200_000

    @classmethod
    def from_settings(cls) -> RecomputePolicy:
        default = cls()
        return cls(
            debounce_seconds=int(getattr(settings, "METRICS_RECOMPUTE_DEBOUNCE", default.debounce_seconds)),
            stale_run_seconds=int(
                getattr(settings, "METRICS_RECOMPUTE_STALE_RUN_SECONDS", default.stale_run_seconds)
            ),
            refresh_after=timedelta(
                seconds=int(
                    getattr(
                        settings,
                        "METRICS_RECOMPUTE_REFRESH_AFTER_SECONDS",
                        default.refresh_after.total_seconds(),
                    )
                )
            ),
            queued_grace_seconds=int(
                getattr(settings, "METRICS_RECOMPUTE_QUEUED_GRACE_SECONDS", default.queued_grace_seconds)
            ),
            on_demand_limit=int(getattr(settings, "METRICS_ON_DEMAND_MAX_ROWS", default.on_demand_limit)),
        )


def recompute_policy() -> RecomputePolicy:
    """The policy as the settings stand now (read on each use: cheap, and overrides apply at once)."""
    return RecomputePolicy.from_settings()
