"""Dashboard payloads: what each page shows, as JSON, built from the computations.

One module per dashboard (overview, journey, retention, value, drivers) registers it (`registry`):
its payload builder, tables, template and charts. Each builder reads through `using` (the replica
when configured) and returns plain JSON data; the recompute stores it as a snapshot, the page
renders it, the charts read it from a data block.
"""

from __future__ import annotations

from .common import json_safe, period_comparison
from .registry import Dashboard, all_dashboards, get, keys, register, unregister

__all__ = [
    "Dashboard",
    "all_dashboards",
    "get",
    "json_safe",
    "keys",
    "period_comparison",
    "register",
    "unregister",
]
