"""Retention: cohort retention, retention and churn by month and over the window, repeat purchases."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cxm.tenancy.models import Organization

from ..computations.retention import add_months, cohort_table, repeat_purchase_rate, retention_rates
from ..filters import MetricFilters
from ..tables import Table, _pct
from .common import _window_payload
from .registry import Dashboard, register


def build_retention(
    *, organization: Organization, filters: MetricFilters, using: str, context: dict[str, Any]
) -> dict[str, Any]:
    settings = context["settings"]
    resolved = filters.resolved(organization)
    assert resolved.start is not None and resolved.end is not None
    last_month = resolved.end.replace(day=1)
    first_month = max(resolved.start.replace(day=1), add_months(last_month, -11))
    months = []
    current = first_month
    while current <= last_month:
        months.append(current)
        current = add_months(current, 1)
    periods = [(m, min(add_months(m, 1) - timedelta(days=1), resolved.end)) for m in months]
    start, end = filters.window(organization)
    return {
        "window": _window_payload(organization, filters),
        "cohorts": cohort_table(
            organization=organization, using=using, first_month=first_month, last_month=last_month
        ),
        "trend": retention_rates(
            organization=organization,
            using=using,
            periods=periods,
            activity_days=int(settings["activity_window_days"]),
        ),
        "overall": retention_rates(
            organization=organization,
            using=using,
            periods=[(resolved.start, resolved.end)],
            activity_days=int(settings["activity_window_days"]),
        )[0],
        "repeat_purchase": repeat_purchase_rate(organization=organization, using=using, start=start, end=end),
        "activity_window_days": settings["activity_window_days"],
    }


def tables(payload: dict[str, Any], currency: str = "") -> list[Table]:
    offsets = max((len(c["retention"]) for c in payload["cohorts"]), default=0)
    cohort_rows = [
        [
            c["cohort"],
            c["size"],
            *[_pct(cell["rate"]) for cell in c["retention"]],
            *[""] * (offsets - len(c["retention"])),
        ]
        for c in payload["cohorts"]
    ]
    return [
        Table(
            "cohorts",
            _("Cohort retention (%)"),
            [_("Cohort"), _("Customers"), *[f"M{k}" for k in range(offsets)]],
            cohort_rows,
        ),
        Table(
            "retention_trend",
            _("Retention and churn by month"),
            [
                _("From"),
                _("To"),
                _("Active at start"),
                _("Active at end"),
                _("Retained"),
                _("Churned"),
                _("New"),
                _("Reactivated"),
                _("Retention %"),
                _("Churn %"),
            ],
            [
                [
                    r["start"],
                    r["end"],
                    r["active_at_start"],
                    r["active_at_end"],
                    r.get("retained"),
                    r["churned"],
                    r["new"],
                    r.get("reactivated"),
                    _pct(r["retention_rate"]),
                    _pct(r["churn_rate"]),
                ]
                for r in payload["trend"]
            ],
        ),
    ]


register(
    Dashboard(
        key="retention",
        title=gettext_lazy("Retention"),
        order=30,
        builder=build_retention,
        tables=tables,
        charts=("cohorts", "retention-trend"),
    )
)
