"""Per-customer values (one row per customer): historical and predictive CLV, RFM, value tier,
lifecycle stage, latest NPS. Built from per-customer summaries, a part of the customers at a time
(services.customer_values); pandas only on such a part."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
from django.db.models import OuterRef, Subquery

from cxm.tenancy.models import Organization
from journeys.models import Customer, Interaction
from surveys.models import Response

from . import clv as clv_math
from .segments import lifecycle_stages, rfm_scores, value_tiers
from .value import MONEY_COLUMNS, customer_purchase_summary


def customer_activity(*, organization: Organization, using: str) -> pd.DataFrame:
    """Every customer with their creation time, last interaction and latest NPS answer (subqueries
    on the (organization, customer, time) indexes; one row per customer)."""
    last_interaction = (
        Interaction.objects.using(using)
        .for_organization(organization)
        .filter(customer_id=OuterRef("pk"))
        .order_by("-occurred_at")
        .values("occurred_at")[:1]
    )
    latest_nps = (
        Response.objects.using(using)
        .for_organization(organization)
        .filter(customer_id=OuterRef("pk"), score_kind="nps", score__isnull=False)
        .order_by("-submitted_at", "-id")
    )
    rows = (
        Customer.objects.using(using)
        .for_organization(organization)
        .annotate(
            last_interaction_at=Subquery(last_interaction),
            latest_nps_score=Subquery(latest_nps.values("score")[:1]),
            latest_nps_at=Subquery(latest_nps.values("submitted_at")[:1]),
        )
        .values_list("id", "created_at", "last_interaction_at", "latest_nps_score", "latest_nps_at")
        .order_by()
    )
    return pd.DataFrame.from_records(
        list(rows),
        columns=["customer_id", "created_at", "last_interaction_at", "latest_nps_score", "latest_nps_at"],
    )


def clv_predictions(
    *, buyers: pd.DataFrame, model: Any, calibration_end: date, fallback_spend: float | None = None
) -> pd.DataFrame:
    """Per customer with a purchase in `buyers` (a purchase summary holding transactions up to the end
    of `calibration_end`): expected transactions over the model's one-year horizon, P(alive) and
    the discounted predicted CLV, with x, t_x and T measured at `calibration_end`. A customer without
    a usable mean repeat spend is given `fallback_spend` (default: the mean over `buyers`; a caller
    scoring part of the customers passes the mean over all of them)."""
    inputs = clv_math.rfm_inputs(buyers, calibration_end=calibration_end, period=model.period)
    params = clv_math.BgNbdParams(model.r, model.alpha, model.a, model.b, model.bgnbd_log_likelihood)
    gg = (
        clv_math.GammaGammaParams(model.p, model.q, model.gamma, model.gamma_gamma_log_likelihood or 0.0)
        if model.p is not None
        else None
    )
    x, t_x, T, m = (inputs[c].to_numpy(dtype=float) for c in ("x", "t_x", "T", "monetary"))
    horizon = clv_math.HORIZON_PERIODS[model.period]
    if fallback_spend is None:
        fallback_spend = float(np.nanmean(m)) if np.isfinite(m).any() else 0.0
    spend = clv_math.expected_spend(gg, x, m, fallback_spend)
    return pd.DataFrame(
        {
            "customer_id": inputs["customer_id"],
            "expected_transactions": clv_math.expected_transactions(params, float(horizon), x, t_x, T),
            "p_alive": clv_math.p_alive(params, x, t_x, T),
            "predicted_clv": clv_math.discounted_clv(
                params,
                spend,
                x,
                t_x,
                T,
                horizon=horizon,
                period=model.period,
                annual_discount_rate=float(model.summary.get("annual_discount_rate", 0.1)),
            ),
        }
    )


def customer_values(
    *, organization: Organization, using: str, now: datetime, model: Any | None, settings: dict[str, Any]
) -> pd.DataFrame:
    """The per-customer table in one frame of every customer (the one-shot reference of the chunked
    pass in services.customer_values, which stores the same values without such a frame)."""
    today = now.astimezone(organization.tzinfo).date()
    summary = customer_purchase_summary(organization=organization, using=using, now=now)
    activity = customer_activity(organization=organization, using=using)
    frame = activity.merge(summary, on="customer_id", how="left")
    frame = customer_values_part(
        frame,
        organization=organization,
        today=today,
        model=model,
        settings=settings,
        organization_gap=summary.attrs.get("organization_median_gap_days"),
    )
    has_purchase = frame["purchase_days"] > 0
    buyers = frame[has_purchase]
    rfm = rfm_scores(buyers["recency_days"], buyers["purchase_days"], buyers["historical_value"])
    frame = frame.join(rfm, how="left")
    frame["rfm_segment"] = frame["rfm_segment"].fillna("")
    value = frame["predicted_clv"].where(frame["predicted_clv"].notna(), frame["historical_value"])
    frame["value_tier"] = value_tiers(value.where(has_purchase))
    return frame


def customer_values_part(
    frame: pd.DataFrame,
    *,
    organization: Organization,
    today: date,
    model: Any | None,
    settings: dict[str, Any],
    organization_gap: float | None,
    fallback_spend: float | None = None,
) -> pd.DataFrame:
    """The values of each customer of `frame` that need no other customer: recency, the CLV
    predictions, the lifecycle stage. `frame` holds a purchase summary per customer (value.py's
    columns, NaN where none) with `last_interaction_at`; `organization_gap` is the organization's
    median gap between purchase days (the typical gap of a one-time buyer). RFM scores and value
    tiers rank customers against every other one: the caller adds them."""
    frame = frame.copy()
    frame["median_gap_days"] = pd.to_numeric(frame["median_gap_days"], errors="coerce")
    frame["purchase_days"] = frame["purchase_days"].fillna(0).astype(int)
    frame["purchase_count"] = frame["purchase_count"].fillna(0).astype(int)
    for column in MONEY_COLUMNS:
        if column in frame:
            frame[column] = frame[column].fillna(0.0)
    has_purchase = frame["purchase_days"] > 0
    frame["recency_days"] = (pd.Timestamp(today) - frame["last_purchase_day"]).dt.days

    frame["expected_transactions"] = np.nan
    frame["p_alive"] = np.nan
    frame["predicted_clv"] = np.nan
    if model is not None and has_purchase.any():
        by_id = clv_predictions(
            buyers=frame[has_purchase], model=model, calibration_end=today, fallback_spend=fallback_spend
        )
        frame = frame.drop(columns=["expected_transactions", "p_alive", "predicted_clv"]).merge(
            by_id, on="customer_id", how="left"
        )

    # Windows count local days (METRICS.md): the last activity's local date against today's.
    last_interaction_day = (
        pd.to_datetime(frame["last_interaction_at"], utc=True)
        .dt.tz_convert(organization.time_zone)
        .dt.tz_localize(None)
        .dt.normalize()
    )
    last_activity_day = pd.concat([frame["last_purchase_day"], last_interaction_day], axis=1).max(axis=1)
    # Typical gap: the median of the customer's gaps between purchase days; for a one-time buyer,
    # the median of all gaps between consecutive purchase days in the organization.
    typical_gap = frame["median_gap_days"].astype(float)
    if organization_gap is not None:
        typical_gap = typical_gap.where(~(has_purchase & (frame["purchase_days"] == 1)), organization_gap)
    frame["lifecycle_stage"] = lifecycle_stages(
        has_purchase=has_purchase,
        days_since_first_purchase=(pd.Timestamp(today) - frame["first_purchase_day"]).dt.days,
        days_since_last_purchase=frame["recency_days"],
        days_since_last_activity=(pd.Timestamp(today) - last_activity_day).dt.days,
        typical_gap_days=typical_gap,
        p_alive=frame["p_alive"],
        new_days=int(settings["new_customer_days"]),
        churn_days=int(settings["churn_window_days"]),
        at_risk_p_alive=float(settings["at_risk_p_alive"]),
    )
    return frame
