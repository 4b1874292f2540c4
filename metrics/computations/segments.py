"""Segments (METRICS.md, "Segments"): RFM scores and named segments, value tiers, lifecycle stages.
Pure pandas on the per-customer summary (one row per customer)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

RFM_SEGMENTS = [
    "champions",
    "loyal",
    "potential_loyalist",
    "new",
    "promising",
    "need_attention",
    "about_to_sleep",
    "at_risk",
    "cannot_lose",
    "hibernating",
    "lost",
]
VALUE_TIERS = ["high", "medium", "low"]
LIFECYCLE_STAGES = ["potential", "new", "active", "at_risk", "churned"]


def quintile_scores(values: pd.Series, *, higher_is_better: bool = True) -> pd.Series:
    """Score 1–5 by quintile of the percentile rank, ties sharing a score (METRICS.md, RFM):
    percentile = (customers strictly worse + ½ × customers equal, itself included) / n,
    score = min(5, 1 + ⌊5 × percentile⌋). Missing values get no score."""
    valid = values.dropna().astype(float)
    n = len(valid)
    scores = pd.Series(np.nan, index=values.index)
    if n == 0:
        return scores
    ordered = valid if higher_is_better else -valid
    worse = ordered.rank(method="min") - 1  # customers strictly worse
    equal = ordered.rank(method="max") - worse  # customers equal, itself included
    percentile = (worse + 0.5 * equal) / n
    scores.loc[valid.index] = np.minimum(5, 1 + np.floor(5 * percentile))
    return scores


# R × F grid of METRICS.md: RFM_GRID[r][f - 1], every cell exactly once.
RFM_GRID: dict[int, tuple[str, str, str, str, str]] = {
    5: ("new", "potential_loyalist", "potential_loyalist", "champions", "champions"),
    4: ("promising", "potential_loyalist", "potential_loyalist", "loyal", "champions"),
    3: ("about_to_sleep", "about_to_sleep", "need_attention", "loyal", "loyal"),
    2: ("hibernating", "hibernating", "at_risk", "at_risk", "cannot_lose"),
    1: ("lost", "lost", "at_risk", "at_risk", "cannot_lose"),
}


def rfm_segment(r: float | None, f: float | None) -> str:
    """Named segment from the recency and frequency scores, by the 5 × 5 grid of METRICS.md
    (`RFM_GRID`)."""
    if (
        r is None
        or f is None
        or (isinstance(r, float) and math.isnan(r))
        or (isinstance(f, float) and math.isnan(f))
    ):
        return ""
    return RFM_GRID[int(r)][int(f) - 1]


def rfm_scores(recency_days: pd.Series, frequency: pd.Series, monetary: pd.Series) -> pd.DataFrame:
    """R (days since the last purchase, fewer is better), F (purchase days) and M (net value), each 1–5
    by quintile over the customers who purchased, and the named segment."""
    frame = pd.DataFrame(
        {
            "r_score": quintile_scores(recency_days, higher_is_better=False),
            "f_score": quintile_scores(frequency),
            "m_score": quintile_scores(monetary),
        }
    )
    frame["rfm_segment"] = [
        rfm_segment(r, f) for r, f in zip(frame["r_score"], frame["f_score"], strict=True)
    ]
    return frame


def value_tiers(values: pd.Series) -> pd.Series:
    """high = top 20 % by value, medium = the next 30 %, low = the rest (ties share the higher tier).
    The value is predictive CLV where a model is fitted, else historical CLV."""
    valid = values.dropna()
    n = len(valid)
    tiers = pd.Series("", index=values.index, dtype=object)
    if n == 0:
        return tiers
    position = valid.rank(method="min", ascending=False) - 1  # customers strictly above
    tiers.loc[valid.index] = np.where(
        position < 0.2 * n, "high", np.where(position < 0.5 * n, "medium", "low")
    )
    return tiers


def lifecycle_stages(
    *,
    has_purchase: pd.Series,
    days_since_first_purchase: pd.Series,
    days_since_last_purchase: pd.Series,
    days_since_last_activity: pd.Series,
    typical_gap_days: pd.Series,
    p_alive: pd.Series,
    new_days: int = 30,
    churn_days: int = 180,
    at_risk_p_alive: float = 0.5,
) -> pd.Series:
    """Lifecycle stage, the first that applies, in this order (METRICS.md):
    potential = known, no purchase yet; churned = no activity (purchase or interaction) for more than
    the churn window (default 180 days); new = first purchase in the last 30 days; at risk = P(alive)
    below 0.5, or no purchase for more than twice the customer's typical gap (the median of their
    gaps between purchase days; for a one-time buyer, the organization's median gap, which the
    caller passes in `typical_gap_days`); active = the rest. Days are local days; the thresholds
    are organization settings."""
    stage = pd.Series("active", index=has_purchase.index, dtype=object)
    gap_rule = typical_gap_days.notna() & (days_since_last_purchase > 2 * typical_gap_days)
    alive_rule = p_alive.notna() & (p_alive < at_risk_p_alive)
    stage[gap_rule | alive_rule] = "at_risk"
    # A window of N local days is today and the N − 1 days before it (offsets 0 … N − 1), as in the
    # lifecycle history and the retention activity windows.
    stage[days_since_first_purchase < new_days] = "new"
    stage[days_since_last_activity.isna() | (days_since_last_activity >= churn_days)] = "churned"
    stage[~has_purchase.astype(bool)] = "potential"
    return stage
