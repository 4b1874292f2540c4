"""Customer value: historical and predicted CLV, value tiers, the RFM grid and segments, lifecycle
stages over time, revenue at risk and monetized NPS."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pandas as pd
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cxm.tenancy.models import Organization

from ..computations.aggregates import responses_for
from ..computations.money import monetized_nps, revenue_at_risk
from ..computations.retention import add_months, lifecycle_history
from ..computations.segments import LIFECYCLE_STAGES, RFM_SEGMENTS, VALUE_TIERS
from ..computations.value import histogram
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
    frame: pd.DataFrame = context["customer_values"]
    model = context.get("model")
    resolved = filters.resolved(organization)
    assert resolved.end is not None
    buyers = frame[frame["purchase_days"] > 0]
    value = buyers["predicted_clv"].where(buyers["predicted_clv"].notna(), buyers["historical_value"])
    tiers = []
    for tier in VALUE_TIERS:
        members = buyers[buyers["value_tier"] == tier]
        tiers.append(
            {
                "tier": tier,
                "customers": int(len(members)),
                "historical_value": float(members["historical_value"].sum()),
                "predicted_clv": float(members["predicted_clv"].sum())
                if members["predicted_clv"].notna().any()
                else None,
            }
        )
    grid = [[0] * 5 for _ in range(5)]
    scored = buyers.dropna(subset=["r_score", "f_score"])
    for (r, f), count in scored.groupby(["r_score", "f_score"]).size().items():
        grid[int(r) - 1][int(f) - 1] = int(count)
    segments = [
        {
            "segment": name,
            "customers": int((buyers["rfm_segment"] == name).sum()),
            "historical_value": float(buyers.loc[buyers["rfm_segment"] == name, "historical_value"].sum()),
        }
        for name in RFM_SEGMENTS
    ]
    lifecycle_now = {stage: int((frame["lifecycle_stage"] == stage).sum()) for stage in LIFECYCLE_STAGES}
    month_ends = []
    month = resolved.end.replace(day=1)
    for i in range(12, 0, -1):
        month_ends.append(add_months(month, -i + 1) - timedelta(days=1))
    month_ends.append(resolved.end)
    responses = responses_for(organization=organization, filters=filters, using=using)
    return {
        "window": _window_payload(organization, filters),
        "customers": int(len(frame)),
        "buyers": int(len(buyers)),
        "clv_source": "predictive" if model is not None else "historical",
        "clv_histogram": histogram(value, bins=20),
        "historical_total": float(frame["historical_value"].sum()),
        "currency": organization.currency,
        # Transactions in another currency without a rate: left out of every money figure here.
        "transactions_left_out": int(frame["unconverted"].fillna(0).sum()) if "unconverted" in frame else 0,
        "predicted_total": float(frame["predicted_clv"].sum())
        if frame["predicted_clv"].notna().any()
        else None,
        "tiers": tiers,
        "rfm_grid": grid,
        "segments": segments,
        "lifecycle_now": lifecycle_now,
        "lifecycle_history": lifecycle_history(
            organization=organization,
            using=using,
            month_ends=month_ends,
            new_days=int(settings["new_customer_days"]),
            activity_days=int(settings["activity_window_days"]),
            churn_days=int(settings["churn_window_days"]),
        ),
        "revenue_at_risk": revenue_at_risk(frame),
        "monetized_nps": monetized_nps(
            organization=organization,
            responses=responses,
            using=using,
            days=int(settings["monetized_nps_days"]),
            now=context.get("now"),
        ),
        "model": context.get("model_payload"),
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
