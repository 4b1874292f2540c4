"""What drives the score (METRICS.md, "Key drivers").

For respondents with an overall NPS answer and driver ratings — CSAT/CES/rating answers to other
questions of the same response, and the customer's CSAT/CES responses at each touchpoint —
importance = relative weight of each driver in explaining the overall score (Johnson 2000), with the
plain correlation beside it; performance = the driver's mean (and the mean on a 0–100 scale so
drivers on different scales share one quadrant); n per driver.

SQL builds one row per respondent (customer) with their mean NPS and mean rating per driver;
numpy works on that frame only.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from django.db.models import Avg, Count, Q, QuerySet

from cxm.tenancy.models import Organization

SCALES = {"csat": (1, 5), "ces": (1, 7), "rating": (1, 5)}
MIN_N = 10
MAX_DRIVERS = 30


def relative_weights(corr: np.ndarray, r_xy: np.ndarray) -> tuple[np.ndarray, float]:
    """Johnson's relative weights: with R_xx = V Λ V' and Λ½ = V Λ^½ V', β = Λ½⁻¹ r_xy and the raw
    weight of driver j is Σ_k (Λ½_jk)² β_k²; they sum to R². Returns (raw weights, R²)."""
    values, vectors = np.linalg.eigh(corr)
    values = np.clip(values, 1e-9, None)  # pairwise correlations need not be positive definite
    half = vectors @ np.diag(np.sqrt(values)) @ vectors.T
    beta = np.linalg.solve(half, r_xy)
    raw = (half**2) @ (beta**2)
    return raw, float(raw.sum())


def _label(text: Any, fallback: str) -> str:
    if isinstance(text, dict) and text:
        return str(text.get("en") or next(iter(text.values())))
    return fallback


def key_drivers(
    *, organization: Organization, responses: QuerySet[Any], using: str, start: Any, end: Any
) -> dict[str, Any]:
    """Importance (relative weight, % of explained variance), correlation, performance and n per driver."""
    from surveys.models import Answer, Response

    nps_responses = responses.filter(score_kind="nps", customer__isnull=False)
    drivers: list[dict[str, Any]] = []
    question_stats = (
        Answer.objects.using(using)
        .filter(
            organization=organization,
            response__in=nps_responses.values("id"),
            question__kind__in=list(SCALES),
            number__isnull=False,
        )
        .values("question_id", "question__kind", "question__text")
        .annotate(n=Count("id"), mean=Avg("number"))
        .order_by("-n")[:MAX_DRIVERS]
    )
    for row in question_stats:
        drivers.append(
            {
                "key": f"q{row['question_id']}",
                "source": "question",
                "kind": row["question__kind"],
                "label": _label(row["question__text"], row["question__kind"]),
                "ratings": row["n"],
                "mean": float(row["mean"]),
                "filter": Q(question_id=row["question_id"]),
            }
        )
    customers = nps_responses.values("customer_id")
    touchpoint_stats = (
        Response.objects.using(using)
        .filter(
            organization=organization,
            score_kind__in=["csat", "ces"],
            score__isnull=False,
            touchpoint__isnull=False,
            customer_id__in=customers,
            submitted_at__gte=start,
            submitted_at__lt=end,
        )
        .values("touchpoint_id", "touchpoint__name", "score_kind")
        .annotate(n=Count("id"), mean=Avg("score"))
        .order_by("-n")[:MAX_DRIVERS]
    )
    for stat in touchpoint_stats:
        drivers.append(
            {
                "key": f"t{stat['touchpoint_id']}_{stat['score_kind']}",
                "source": "touchpoint",
                "kind": stat["score_kind"],
                "label": f"{stat['touchpoint__name']} ({stat['score_kind'].upper()})",
                "ratings": stat["n"],
                "mean": float(stat["mean"]),
                "filter": Q(touchpoint_id=stat["touchpoint_id"], score_kind=stat["score_kind"]),
            }
        )
    outcome = pd.DataFrame.from_records(
        list(customers.annotate(nps=Avg("score")).values_list("customer_id", "nps").order_by()),
        columns=["customer_id", "nps"],
    ).set_index("customer_id")
    frame = outcome.copy()
    question_drivers = [d for d in drivers if d["source"] == "question"]
    touchpoint_drivers = [d for d in drivers if d["source"] == "touchpoint"]
    if question_drivers:
        pivot = (
            Answer.objects.using(using)
            .filter(organization=organization, response__in=nps_responses.values("id"), number__isnull=False)
            .values("response__customer_id")
            .annotate(**{d["key"]: Avg("number", filter=d["filter"]) for d in question_drivers})
            .order_by()
        )
        part = pd.DataFrame.from_records(list(pivot)).rename(columns={"response__customer_id": "customer_id"})
        frame = frame.join(part.set_index("customer_id"), how="left")
    if touchpoint_drivers:
        touchpoint_pivot = (
            Response.objects.using(using)
            .filter(
                organization=organization,
                customer_id__in=customers,
                score__isnull=False,
                submitted_at__gte=start,
                submitted_at__lt=end,
            )
            .values("customer_id")
            .annotate(**{d["key"]: Avg("score", filter=d["filter"]) for d in touchpoint_drivers})
            .order_by()
        )
        part = pd.DataFrame.from_records(list(touchpoint_pivot))
        if not part.empty:
            frame = frame.join(part.set_index("customer_id"), how="left")
    return _importance(frame, drivers)


def _importance(frame: pd.DataFrame, drivers: list[dict[str, Any]]) -> dict[str, Any]:
    results = []
    usable = []
    for driver in drivers:
        key = driver["key"]
        column = frame[key] if key in frame else pd.Series(dtype=float)
        paired = frame[["nps", key]].dropna() if key in frame else pd.DataFrame()
        n = len(paired)
        corr = float(paired["nps"].corr(paired[key])) if n >= 3 and paired[key].std() > 0 else None
        low, high = SCALES[driver["kind"]]
        results.append(
            {
                "key": key,
                "label": driver["label"],
                "source": driver["source"],
                "kind": driver["kind"],
                "n": n,
                "ratings": driver["ratings"],
                "performance": driver["mean"],
                "performance_pct": 100 * (driver["mean"] - low) / (high - low),
                "correlation": corr,
                "importance": None,
                "raw_weight": None,
            }
        )
        if n >= MIN_N and corr is not None and column.notna().sum() >= MIN_N:
            usable.append(key)
    r_squared = None
    if usable:
        data = frame[["nps", *usable]].astype(float)
        corr_matrix = data.corr(min_periods=MIN_N).fillna(0.0)
        rxx = corr_matrix.loc[usable, usable].to_numpy(copy=True)
        np.fill_diagonal(rxx, 1.0)
        rxy = corr_matrix.loc[usable, "nps"].to_numpy(copy=True)
        raw, r_squared = relative_weights(rxx, rxy)
        for result in results:
            if result["key"] in usable:
                index = usable.index(result["key"])
                result["raw_weight"] = float(raw[index])
                result["importance"] = float(100 * raw[index] / r_squared) if r_squared > 0 else 0.0
    results.sort(key=lambda r: (r["importance"] is None, -(r["importance"] or 0), -r["n"]))
    respondents = int(frame["nps"].notna().sum()) if "nps" in frame else 0
    return {"drivers": results, "respondents": respondents, "r_squared": r_squared}
