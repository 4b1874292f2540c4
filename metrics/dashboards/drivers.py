"""Drivers: key drivers of NPS (relative weights, correlations, performance) per analysis."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cxm.tenancy.models import Organization

from ..computations.aggregates import responses_for
from ..computations.drivers import key_drivers
from ..filters import MetricFilters
from ..tables import Table, _r
from .common import _window_payload
from .registry import Dashboard, register


def build_drivers(
    *, organization: Organization, filters: MetricFilters, using: str, context: dict[str, Any]
) -> dict[str, Any]:
    start, end = filters.window(organization)
    responses = responses_for(organization=organization, filters=filters, using=using)
    return {
        "window": _window_payload(organization, filters),
        **key_drivers(
            organization=organization,
            responses=responses,
            using=using,
            start=start,
            end=end,
            # Only the default view of a recompute reuses stored per-survey analyses.
            reuse=context.get("reuse") if filters.key == "default" else None,
        ),
    }


def tables(payload: dict[str, Any], currency: str = "") -> list[Table]:
    labels = {a["key"]: a["label"] for a in payload.get("analyses", [])}
    if "touchpoints" in labels:
        labels["touchpoints"] = str(_("Touchpoint scores from other surveys (per customer, latest answers)"))
    return [
        Table(
            "drivers",
            _("Key drivers"),
            [
                _("Analysis"),
                _("Driver"),
                _("Relative weight"),
                _("Importance %"),
                _("Correlation"),
                _("Performance (0–100)"),
                "n",
            ],
            [
                [
                    labels.get(d.get("analysis"), ""),
                    d["label"],
                    _r(d.get("relative_weight"), 4),
                    _r(d["importance"]),
                    _r(d["correlation"], 2),
                    _r(d["performance_pct"]),
                    d["n"],
                ]
                for d in payload["drivers"]
            ],
        )
    ]


register(
    Dashboard(
        key="drivers",
        title=gettext_lazy("Drivers"),
        order=50,
        builder=build_drivers,
        tables=tables,
        charts=("quadrant",),
    )
)
