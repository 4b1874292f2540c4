"""The registry of dashboards. Each dashboard is one module of this package that calls `register`
with its key, title, payload builder, tables, template and charts; the pages, their URLs and tabs,
the exports, the status poll and the recompute all iterate the registry.

Adding a dashboard is one module here and its template (`metrics/<key>.html`, extending
`metrics/_dashboard.html`). Its charts are `data-chart` elements of the template; a chart kind that
static/metrics/dashboards.js does not draw comes in a script of the dashboard's own (`scripts`),
which adds it with `window.cxmDashboardCharts.register(name, build)`.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured

# builder(*, organization, filters, using, context) -> the payload (JSON data)
Builder = Callable[..., dict[str, Any]]
# tables(payload, currency) -> the tables shown under the charts and exported to CSV/XLSX
TablesBuilder = Callable[[dict[str, Any], str], list[Any]]

# The URLs beside the dashboards under /dashboards/: no dashboard may take their names.
RESERVED_KEYS = frozenset({"status", "export", "recompute"})
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,31}$")  # fits Snapshot.dashboard


@dataclass(frozen=True)
class Dashboard:
    key: str
    title: Any  # gettext_lazy: translated when shown
    builder: Builder
    tables: TablesBuilder
    order: int  # position among the tabs
    path: str | None = None  # under /dashboards/; default "<key>/"
    template: str = ""  # default "metrics/<key>.html"
    charts: tuple[str, ...] = ()  # the `data-chart` kinds its template holds
    scripts: tuple[str, ...] = ()  # static JS adding chart kinds dashboards.js does not draw
    # The builder reads the per-customer values frame (`context["customer_values"]`), which the
    # recompute computes once for all dashboards and stores beside the snapshots.
    needs_customer_values: bool = False

    def __post_init__(self) -> None:
        if not _KEY.match(self.key) or self.key in RESERVED_KEYS:
            raise ImproperlyConfigured(f"invalid dashboard key {self.key!r}")
        if self.path is None:
            object.__setattr__(self, "path", f"{self.key}/")
        if not self.template:
            object.__setattr__(self, "template", f"metrics/{self.key}.html")

    @property
    def url_name(self) -> str:
        return f"dashboard-{self.key}"


_registry: dict[str, Dashboard] = {}
_discovered = False


def register(dashboard: Dashboard) -> Dashboard:
    if dashboard.key in _registry:
        raise ImproperlyConfigured(f"dashboard {dashboard.key!r} is registered twice")
    _registry[dashboard.key] = dashboard
    return dashboard


def unregister(key: str) -> None:
    _registry.pop(key, None)


def _discover() -> None:
    """Import every module of this package once: each registers its dashboard."""
    global _discovered
    if _discovered:
        return
    _discovered = True
    package = importlib.import_module(__package__ or "metrics.dashboards")
    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{module.name}")


def all_dashboards() -> list[Dashboard]:
    """Every registered dashboard, in tab order."""
    _discover()
    return sorted(_registry.values(), key=lambda d: (d.order, d.key))


def keys() -> tuple[str, ...]:
    return tuple(d.key for d in all_dashboards())


def get(key: str) -> Dashboard | None:
    _discover()
    return _registry.get(key)


def require(key: str) -> Dashboard:
    """The registered dashboard `key`; KeyError when there is none."""
    dashboard = get(key)
    if dashboard is None:
        raise KeyError(key)
    return dashboard
