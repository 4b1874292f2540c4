"""The part of the Customer value page that no filter changes: tiers, the RFM grid, segments, the
lifecycle stages now, CLV totals and histogram, revenue at risk. All of it comes from the
organization-wide per-customer table of a recompute (computations.customers.customer_values); a view
under filters takes it from the last recompute's stored value page instead of rebuilding that table
(the table is the same for every filter: rebuilding it was the whole cost of a one-day view)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from cxm.core.routers import read_alias
from cxm.tenancy.models import Organization

from ..models import Snapshot
from .money import revenue_at_risk, revenue_at_risk_sql
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


# Buyers per read of the CLV histogram's values.
_HISTOGRAM_CHUNK = 100_000


def value_section_stored(
    *,
    organization: Organization,
    model: Any,
    model_payload: Any,
    now: datetime,
    revenue_at_risk: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """`value_section` from the stored per-customer values (CustomerValue) and purchase summaries
    (CustomerSummary), by SQL aggregates and the histogram's values read a part at a time: the same
    figures without a frame of every customer. `revenue_at_risk` as the per-customer pass summed it
    (services.customer_values_store), else computed in SQL."""
    from django.db import connection

    from ..models import CustomerSummary, CustomerValue
    from ..services.customer_summaries import without_jit

    values = CustomerValue._meta.db_table
    summaries = CustomerSummary._meta.db_table
    joined = (
        f"FROM {values} v JOIN {summaries} s ON s.customer_id = v.customer_id "
        "WHERE v.organization_id = %s AND s.organization_id = %s"
    )
    org = [organization.pk, organization.pk]
    value = "COALESCE(v.predicted_clv, CAST(s.historical_value AS DOUBLE PRECISION))"

    def rows(sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        with without_jit(), connection.cursor() as cursor:
            cursor.execute(sql, params or org)
            return list(cursor.fetchall())

    # The predicted values are summed as exact decimals: a sum of floats depends on the order the rows
    # arrive in (PostgreSQL's parallel workers split them differently from one run to the next), and
    # the same data must give the same figure to the last digit (an incremental recompute and a full
    # rebuild are compared exactly).
    predicted_sum = "SUM(CAST(v.predicted_clv AS NUMERIC))"
    customers, buyers, historical, left_out, predicted, predicted_n = rows(
        "SELECT COUNT(*), COALESCE(SUM(CASE WHEN s.purchase_days > 0 THEN 1 ELSE 0 END), 0), "  # noqa: S608
        f"SUM(s.historical_value), SUM(s.unconverted), {predicted_sum}, COUNT(v.predicted_clv) " + joined
    )[0]
    by_tier = {
        tier: (n, hist, pred, pred_n)
        for tier, n, hist, pred, pred_n in rows(
            f"SELECT v.value_tier, COUNT(*), SUM(s.historical_value), {predicted_sum}, "  # noqa: S608
            f"COUNT(v.predicted_clv) {joined} AND s.purchase_days > 0 GROUP BY v.value_tier"
        )
    }
    tiers = []
    for tier in VALUE_TIERS:
        n, hist, pred, pred_n = by_tier.get(tier, (0, 0, None, 0))
        tiers.append(
            {
                "tier": tier,
                "customers": int(n),
                "historical_value": float(hist or 0),
                "predicted_clv": float(pred) if pred_n else None,
            }
        )
    grid = [[0] * 5 for _ in range(5)]
    for r, f, n in rows(
        f"SELECT v.r_score, v.f_score, COUNT(*) {joined} AND s.purchase_days > 0 "  # noqa: S608
        "AND v.r_score IS NOT NULL AND v.f_score IS NOT NULL GROUP BY v.r_score, v.f_score"
    ):
        grid[int(r) - 1][int(f) - 1] = int(n)
    by_segment = {
        name: (n, hist)
        for name, n, hist in rows(
            f"SELECT v.rfm_segment, COUNT(*), SUM(s.historical_value) {joined} "  # noqa: S608
            "AND s.purchase_days > 0 GROUP BY v.rfm_segment"
        )
    }
    segments = [
        {
            "segment": name,
            "customers": int(by_segment.get(name, (0, 0))[0]),
            "historical_value": float(by_segment.get(name, (0, 0))[1] or 0),
        }
        for name in RFM_SEGMENTS
    ]
    stages = dict(
        rows(
            f"SELECT lifecycle_stage, COUNT(*) FROM {values} WHERE organization_id = %s "  # noqa: S608
            "GROUP BY lifecycle_stage",
            [organization.pk],
        )
    )
    return {
        "customers": int(customers),
        "buyers": int(buyers),
        "clv_source": "predictive" if model is not None else "historical",
        "clv_histogram": _histogram_stored(rows, joined=joined, value=value, org=org),
        "historical_total": float(historical or 0),
        "currency": organization.currency,
        # Transactions in another currency without a rate: left out of every money figure here.
        "transactions_left_out": int(left_out or 0),
        "predicted_total": float(predicted) if predicted_n else None,
        "tiers": tiers,
        "rfm_grid": grid,
        "segments": segments,
        "lifecycle_now": {stage: int(stages.get(stage, 0)) for stage in LIFECYCLE_STAGES},
        "revenue_at_risk": revenue_at_risk
        if revenue_at_risk is not None
        else revenue_at_risk_sql(organization=organization, now=now, using=read_alias()),
        "model": model_payload,
    }


def _histogram_stored(rows: Any, *, joined: str, value: str, org: list[Any]) -> dict[str, Any]:
    """`histogram(values, bins=20)` of the buyers' values, counted a part at a time over the range
    of all of them (numpy's edges for that range, so the counts are those of one call)."""
    low, high = rows(f"SELECT MIN({value}), MAX({value}) {joined} AND s.purchase_days > 0")[0]  # noqa: S608
    if low is None:
        return {"edges": [], "counts": []}
    counts = np.zeros(20, dtype=np.int64)
    edges = None
    after = 0
    while True:
        part = rows(
            f"SELECT v.customer_id, {value} {joined} AND s.purchase_days > 0 "  # noqa: S608
            f"AND v.customer_id > %s ORDER BY v.customer_id LIMIT {_HISTOGRAM_CHUNK}",
            [*org, after],
        )
        if not part:
            break
        after = int(part[-1][0])
        data = np.array([row[1] for row in part], dtype=float)
        part_counts, edges = np.histogram(data, bins=20, range=(float(low), float(high)))
        counts += part_counts
    assert edges is not None
    return {"edges": [round(float(e), 2) for e in edges], "counts": [int(c) for c in counts]}
