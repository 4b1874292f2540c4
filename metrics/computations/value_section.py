"""The part of the Customer value page that no filter changes: tiers, the RFM grid, segments, the
lifecycle stages now, CLV totals and histogram, revenue at risk. All of it comes from the
organization-wide per-customer table of a recompute (computations.customers.customer_values); a view
under filters takes it from the last recompute's stored value page instead of rebuilding that table
(the table is the same for every filter: rebuilding it was the whole cost of a one-day view)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from cxm.tenancy.models import Organization

from ..models import Snapshot
from .money import revenue_at_risk
from .segments import LIFECYCLE_STAGES, RFM_SEGMENTS, VALUE_TIERS
from .value import histogram

# Keys of the value payload taken from the per-customer table (the rest depend on the filters).
SECTION_KEYS = (
    "customers",
    "buyers",
    "clv_source",
    "clv_histogram",
    "historical_total",
    "currency",
    "transactions_left_out",
    "predicted_total",
    "tiers",
    "rfm_grid",
    "segments",
    "lifecycle_now",
    "revenue_at_risk",
    "model",
)


def value_section(
    *, organization: Organization, frame: pd.DataFrame, model: Any, model_payload: Any
) -> dict[str, Any]:
    """The filter-independent keys of the value payload from the per-customer table."""
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
    return {
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
        "lifecycle_now": {
            stage: int((frame["lifecycle_stage"] == stage).sum()) for stage in LIFECYCLE_STAGES
        },
        "revenue_at_risk": revenue_at_risk(frame),
        "model": model_payload,
    }


def stored_value_section(*, organization: Organization) -> dict[str, Any] | None:
    """The filter-independent keys of the last recompute's value page (the default view's snapshot,
    stored in the same transaction as the per-customer values), or None before the first recompute
    (or when that snapshot lacks one of them: it was stored by an older version)."""
    payload = (
        Snapshot.objects.for_organization(organization)
        .filter(dashboard="value", filters_key="default")
        .values_list("payload", flat=True)
        .first()
    )
    if not payload or any(key not in payload for key in SECTION_KEYS):
        return None
    return {key: payload[key] for key in SECTION_KEYS}
