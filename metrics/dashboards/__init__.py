"""Dashboard payloads: what each page shows, as JSON, built from the computations.

Each builder reads through `using` (the replica when configured) and returns plain JSON data; the
recompute stores it as a snapshot, the page renders it, the charts read it from a data block.
"""

from __future__ import annotations

from .common import json_safe, period_comparison
from .drivers import build_drivers
from .journey import build_journey
from .overview import build_overview
from .retention import build_retention
from .value import build_value

DASHBOARDS = ("overview", "journey", "retention", "value", "drivers")

BUILDERS = {
    "overview": build_overview,
    "journey": build_journey,
    "retention": build_retention,
    "value": build_value,
    "drivers": build_drivers,
}

__all__ = [
    "BUILDERS",
    "DASHBOARDS",
    "build_drivers",
    "build_journey",
    "build_overview",
    "build_retention",
    "build_value",
    "json_safe",
    "period_comparison",
]
