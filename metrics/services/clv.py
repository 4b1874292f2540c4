"""The CLV model: fit BG/NBD and Gamma-Gamma, score customers as of a day, and the JSON shown for both."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from datetime import time as dtime
from typing import Any

import numpy as np
import pandas as pd

from cxm.core.routers import read_alias
from cxm.tenancy.models import Organization

from ..computations import clv as clv_math
from ..computations.customers import clv_predictions
from ..computations.value import customer_purchase_summary
from ..dashboards import json_safe
from ..models import ClvModel


def clv_fit(
    *,
    organization: Organization,
    calibration_end: date,
    period: str = "week",
    annual_discount_rate: float = 0.1,
) -> ClvModel:
    """Fit BG/NBD and Gamma-Gamma on purchases up to the end of `calibration_end` (local day) and store
    the parameters with their log-likelihoods and a data summary. A past `calibration_end` fits the
    model as of that date: later transactions are not read, ages and recencies are measured then."""
    if period not in clv_math.PERIOD_DAYS:
        raise ValueError(f"unknown period {period!r}")
    until = datetime.combine(calibration_end + timedelta(days=1), dtime.min, tzinfo=organization.tzinfo)
    summary = customer_purchase_summary(organization=organization, using=read_alias(), until=until)
    inputs = clv_math.rfm_inputs(summary, calibration_end=calibration_end, period=period)
    if inputs.empty:
        raise ValueError("no purchases before the calibration end")
    x, t_x, T, m = (inputs[c].to_numpy(dtype=float) for c in ("x", "t_x", "T", "monetary"))
    bgnbd = clv_math.fit_bgnbd(x, t_x, T)
    try:
        gg: clv_math.GammaGammaParams | None = clv_math.fit_gamma_gamma(x, m)
    except ValueError:
        gg = None
    repeaters = int((x > 0).sum())
    data_summary = {
        "customers": int(len(inputs)),
        "repeat_customers": repeaters,
        "mean_frequency": float(x.mean()),
        "mean_recency": float(t_x.mean()),
        "mean_age": float(T.mean()),
        "mean_repeat_spend": float(np.nanmean(m)) if repeaters else None,
        "period_days": clv_math.PERIOD_DAYS[period],
        "horizon_periods": clv_math.HORIZON_PERIODS[period],
        "annual_discount_rate": annual_discount_rate,
    }
    return ClvModel.objects.create(
        organization=organization,
        calibration_end=calibration_end,
        period=period,
        r=bgnbd.r,
        alpha=bgnbd.alpha,
        a=bgnbd.a,
        b=bgnbd.b,
        bgnbd_log_likelihood=bgnbd.log_likelihood,
        p=gg.p if gg else None,
        q=gg.q if gg else None,
        gamma=gg.gamma if gg else None,
        gamma_gamma_log_likelihood=gg.log_likelihood if gg else None,
        summary=data_summary,
    )


def clv_score(*, organization: Organization, model: ClvModel, as_of: date) -> pd.DataFrame:
    """Score every customer who had purchased by the end of `as_of` (local day) with `model`, from
    transactions up to that day only; recency and age are measured at `as_of`. Nothing is stored."""
    until = datetime.combine(as_of + timedelta(days=1), dtime.min, tzinfo=organization.tzinfo)
    summary = customer_purchase_summary(organization=organization, using=read_alias(), until=until)
    buyers = summary[summary["purchase_days"] > 0]
    if buyers.empty:
        return pd.DataFrame(columns=["customer_id", "expected_transactions", "p_alive", "predicted_clv"])
    return clv_predictions(buyers=buyers, model=model, calibration_end=as_of)


def clv_scores_payload(*, scores: pd.DataFrame, as_of: date) -> dict[str, Any]:
    """Totals of an as-of scoring (what the API and the command show beside the model)."""
    return json_safe(
        {
            "as_of": as_of.isoformat(),
            "customers": int(len(scores)),
            "expected_transactions_total": float(scores["expected_transactions"].sum()),
            "predicted_clv_total": float(scores["predicted_clv"].sum()),
            "mean_p_alive": float(scores["p_alive"].mean()) if len(scores) else None,
        }
    )


def clv_model_payload(model: ClvModel | None) -> dict[str, Any] | None:
    """The JSON the API, the command and the value dashboard show for a fitted model."""
    if model is None:
        return None
    return json_safe(
        {
            "id": model.pk,
            "fitted_at": model.fitted_at.isoformat(),
            "calibration_end": model.calibration_end.isoformat(),
            "period": model.period,
            "bgnbd": {
                "r": model.r,
                "alpha": model.alpha,
                "a": model.a,
                "b": model.b,
                "log_likelihood": model.bgnbd_log_likelihood,
            },
            "gamma_gamma": {
                "p": model.p,
                "q": model.q,
                "gamma": model.gamma,
                "log_likelihood": model.gamma_gamma_log_likelihood,
            },
            "summary": model.summary,
        }
    )
