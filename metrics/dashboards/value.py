"""Customer value: historical and predicted CLV, value tiers, the RFM grid and segments, lifecycle
stages over time, revenue at risk and monetized NPS."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cxm.tenancy.models import Organization

from ..computations.aggregates import responses_for
from ..computations.money import monetized_nps
from ..computations.retention import add_months, lifecycle_history
from ..computations.value_section import value_section
from ..filters import MetricFilters
from ..tables import (
    CATEGORY_LABELS,
    LIFECYCLE_LABELS,
    SEGMENT_LABELS,
    TIER_LABELS,
    Table,
    _money_header,
    _pct,
    _r,
)
from .common import _window_payload
from .registry import Dashboard, register


def build_value(
    *, organization: Organization, filters: MetricFilters, using: str, context: dict[str, Any]
) -> dict[str, Any]:
    settings = context["settings"]
    # The per-customer part does not depend on the filters: a filtered view takes the last
    # recompute's (computations.value_section); only a recompute builds it from the table.
    section = context.get("value_section")
    if section is None:
        section = value_section(
            organization=organization,
            frame=context["customer_values"],
            model=context.get("model"),
            model_payload=context.get("model_payload"),
        )
    resolved = filters.resolved(organization)
    assert resolved.end is not None
    month_ends = []
    month = resolved.end.replace(day=1)
    for i in range(12, 0, -1):
        month_ends.append(add_months(month, -i + 1) - timedelta(days=1))
    month_ends.append(resolved.end)
    responses = responses_for(organization=organization, filters=filters, using=using)
    return {
        "window": _window_payload(organization, filters),
        **section,
        "lifecycle_history": lifecycle_history(
            organization=organization,
            using=using,
            month_ends=month_ends,
            new_days=int(settings["new_customer_days"]),
            activity_days=int(settings["activity_window_days"]),
            churn_days=int(settings["churn_window_days"]),
        ),
        "monetized_nps": monetized_nps(
            organization=organization,
            responses=responses,
            using=using,
            days=int(settings["monetized_nps_days"]),
            now=context.get("now"),
        ),
    }


def tables(payload: dict[str, Any], currency: str = "") -> list[Table]:
    money = payload["monetized_nps"]
    return [
        Table(
            "tiers",
            _("Value tiers"),
            [
                _("Tier"),
                _("Customers"),
                _money_header(_("Historical value"), currency),
                _money_header(_("Predicted CLV"), currency),
            ],
            [
                [
                    str(TIER_LABELS.get(t["tier"], t["tier"])),
                    t["customers"],
                    _r(t["historical_value"], 2),
                    _r(t["predicted_clv"], 2),
                ]
                for t in payload["tiers"]
            ],
            money_columns=(2, 3),
            currency=currency,
            left_out=int(payload.get("transactions_left_out") or 0),
        ),
        Table(
            "segments",
            _("RFM segments"),
            [_("Segment"), _("Customers"), _money_header(_("Historical value"), currency)],
            [
                [
                    str(SEGMENT_LABELS.get(s["segment"], s["segment"])),
                    s["customers"],
                    _r(s["historical_value"], 2),
                ]
                for s in payload["segments"]
            ],
            money_columns=(2,),
            currency=currency,
            left_out=int(payload.get("transactions_left_out") or 0),
        ),
        Table(
            "monetized_nps",
            _("Monetized NPS (%(days)s days after the response)") % {"days": money["days"]},
            [
                _("Category"),
                _("Customers"),
                _money_header(_("Revenue per customer"), currency),
                _("Repeat purchase %"),
            ],
            [
                [
                    str(CATEGORY_LABELS[r["category"]]),
                    r["customers"],
                    _r(r["revenue_per_customer"], 2),
                    _pct(r["repeat_purchase_rate"]),
                ]
                for r in money["table"]
            ],
            money_columns=(2,),
            currency=currency,
            left_out=int(money.get("transactions_left_out") or 0),
        ),
        Table(
            "lifecycle",
            _("Lifecycle stages by month end"),
            [_("Date"), *[str(LIFECYCLE_LABELS[s]) for s in ("new", "active", "at_risk", "churned")]],
            [
                [r["date"], r["new"], r["active"], r["at_risk"], r["churned"]]
                for r in payload["lifecycle_history"]
            ],
        ),
    ]


register(
    Dashboard(
        key="value",
        title=gettext_lazy("Customer value"),
        order=40,
        builder=build_value,
        tables=tables,
        charts=("clv", "tiers", "rfm", "lifecycle"),
        needs_customer_values=True,
    )
)
