"""Predictive CLV (METRICS.md, "Customer value"): BG/NBD for the number of future transactions
(Fader, Hardie & Lee 2005, "Counting your customers the easy way") and Gamma-Gamma for spend per
transaction (Fader, Hardie & Lee 2005, "RFM and CLV: using iso-value curves"), fitted by maximum
likelihood with scipy on a calibration window.

Per customer: frequency x = repeat purchase days (same-day purchases merged, refunds never
purchases), recency t_x = time from first to last purchase, age T = time from first purchase to the
calibration end, all in periods (day, week or month); mean repeat spend m_x. Outputs: expected
transactions in the next t periods, P(alive), expected CLV over a horizon with a discount rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, special

PERIOD_DAYS = {"day": 1.0, "week": 7.0, "month": 365.25 / 12}
# Default horizon per period unit: one year.
HORIZON_PERIODS = {"day": 365, "week": 52, "month": 12}


@dataclass(frozen=True)
class BgNbdParams:
    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float


@dataclass(frozen=True)
class GammaGammaParams:
    p: float
    q: float
    gamma: float
    log_likelihood: float


def rfm_inputs(summary: pd.DataFrame, *, calibration_end: date, period: str) -> pd.DataFrame:
    """x, t_x, T and the mean repeat spend per customer from a purchase summary (value.py) that holds
    transactions up to the end of the calibration day. Customers without a purchase are dropped."""
    days = PERIOD_DAYS[period]
    data = summary[summary["purchase_days"] > 0].copy()
    end = pd.Timestamp(calibration_end)
    x = (data["purchase_days"] - 1).astype(float)
    t_x = (data["last_purchase_day"] - data["first_purchase_day"]).dt.days.astype(float) / days
    T = (end - data["first_purchase_day"]).dt.days.astype(float) / days
    priced = data["repeat_spend_days"].astype(float)
    spend = data["repeat_spend"].astype(float) / priced.where(priced > 0)
    return pd.DataFrame(
        {
            "customer_id": data["customer_id"].to_numpy(),
            "x": x.to_numpy(),
            "t_x": t_x.to_numpy(),
            "T": T.to_numpy(),
            "monetary": spend.to_numpy(dtype=float),
        }
    )


def bgnbd_log_likelihood(params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Per-customer BG/NBD log-likelihood (Fader, Hardie & Lee 2005, eq. 6):
    L = B(a, b+x)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+T)^(r+x))
        + δ(x>0) · B(a+1, b+x−1)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+t_x)^(r+x)).
    """
    r, alpha, a, b = params
    a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    a2 = special.gammaln(a + b) + special.gammaln(b + x) - special.gammaln(b) - special.gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        a4 = np.where(
            x > 0,
            np.log(a) - np.log(np.where(x > 0, b + x - 1, 1.0)) - (r + x) * np.log(alpha + t_x),
            -np.inf,
        )
    return a1 + a2 + np.logaddexp(a3, a4)


def gamma_gamma_log_likelihood(params: np.ndarray, x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Per-customer Gamma-Gamma log-likelihood of the mean spend m_x over x repeat transactions:
    f(m_x | p, q, γ, x) = Γ(px+q) / (Γ(px) Γ(q)) · γ^q m_x^(px−1) x^(px) / (γ + m_x x)^(px+q)."""
    p, q, gamma = params
    return (
        special.gammaln(p * x + q)
        - special.gammaln(p * x)
        - special.gammaln(q)
        + q * np.log(gamma)
        + (p * x - 1) * np.log(m)
        + p * x * np.log(x)
        - (p * x + q) * np.log(gamma + m * x)
    )


def _fit(negative_ll: Any, start: np.ndarray) -> tuple[np.ndarray, float]:
    best = None
    for method in ("L-BFGS-B", "Nelder-Mead"):
        result = optimize.minimize(
            negative_ll, start if best is None else best.x, method=method, options={"maxiter": 5000}
        )
        if best is None or result.fun < best.fun:
            best = result
    assert best is not None
    return np.exp(best.x), -float(best.fun)


def fit_bgnbd(x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> BgNbdParams:
    """Maximum likelihood on log-parameters; identical (x, t_x, T) rows are weighted, not repeated."""
    frame = pd.DataFrame({"x": x, "t_x": t_x, "T": T})
    grouped = frame.groupby(["x", "t_x", "T"]).size().reset_index(name="w")
    gx, gt, gT, w = (grouped[c].to_numpy(dtype=float) for c in ("x", "t_x", "T", "w"))
    if len(grouped) == 0:
        raise ValueError("no customers with purchases in the calibration window")

    def negative_ll(log_params: np.ndarray) -> float:
        params = np.exp(np.clip(log_params, -20, 20))
        value = -(w * bgnbd_log_likelihood(params, gx, gt, gT)).sum()
        return float(value) if np.isfinite(value) else 1e300

    (r, alpha, a, b), ll = _fit(negative_ll, np.log(np.array([1.0, max(float(np.mean(T)), 1.0), 1.0, 1.0])))
    return BgNbdParams(float(r), float(alpha), float(a), float(b), ll)


def fit_gamma_gamma(x: np.ndarray, m: np.ndarray) -> GammaGammaParams:
    """Maximum likelihood over customers with at least one repeat purchase and a positive mean spend."""
    mask = (x > 0) & np.isfinite(m) & (m > 0)
    gx, gm = x[mask], m[mask]
    if gx.size == 0:
        raise ValueError("no repeat customers with positive spend")

    def negative_ll(log_params: np.ndarray) -> float:
        params = np.exp(np.clip(log_params, -20, 20))
        value = -gamma_gamma_log_likelihood(params, gx, gm).sum()
        return float(value) if np.isfinite(value) else 1e300

    (p, q, gamma), ll = _fit(negative_ll, np.log(np.array([1.0, 2.0, max(float(np.mean(gm)), 1.0)])))
    return GammaGammaParams(float(p), float(q), float(gamma), ll)


def p_alive(params: BgNbdParams, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """P(alive | x, t_x, T) = 1 / (1 + δ(x>0) · a/(b+x−1) · ((α+T)/(α+t_x))^(r+x))."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ratio = np.where(
            x > 0,
            a / np.where(x > 0, b + x - 1, 1.0) * np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + t_x))),
            0.0,
        )
    return 1.0 / (1.0 + ratio)


def expected_transactions(
    params: BgNbdParams, t: float | np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """E[Y(t) | x, t_x, T] (Fader, Hardie & Lee 2005, eq. 10):
    (a+b+x−1)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) · ₂F₁(r+x, b+x; a+b+x−1; t/(α+T+t))]
    / (1 + δ(x>0) · a/(b+x−1) · ((α+T)/(α+t_x))^(r+x))."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    t = np.asarray(t, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        head = (a + b + x - 1) / (a - 1)
        hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t))
        body = 1 - np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + T + t))) * hyp
        result = head * body * p_alive(params, x, t_x, T)
    return np.where(np.isfinite(result) & (result >= 0), result, 0.0)


def expected_spend(
    params: GammaGammaParams | None, x: np.ndarray, m: np.ndarray, fallback: float
) -> np.ndarray:
    """E[M | m_x, x] = (γ + m_x x) p / (px + q − 1); the population mean pγ/(q − 1) without repeats.
    Without a fitted model: the customer's own mean spend, else `fallback`."""
    if params is None:
        return np.where(np.isfinite(m) & (m > 0), m, fallback)
    p, q, gamma = params.p, params.q, params.gamma
    population = p * gamma / (q - 1) if q > 1 else fallback
    with np.errstate(divide="ignore", invalid="ignore"):
        conditional = (gamma + m * x) * p / (p * x + q - 1)
    usable = (x > 0) & np.isfinite(m) & (m > 0) & np.isfinite(conditional)
    return np.where(usable, conditional, population)


def discounted_clv(
    bgnbd: BgNbdParams,
    spend: np.ndarray,
    x: np.ndarray,
    t_x: np.ndarray,
    T: np.ndarray,
    *,
    horizon: int,
    period: str,
    annual_discount_rate: float = 0.0,
) -> np.ndarray:
    """CLV = Σ_{i=1..k} (E[Y(tᵢ)] − E[Y(tᵢ₋₁)]) · E[M] / (1 + δ)^tᵢ over k ≤ 12 equal steps tᵢ = i·horizon/k
    (monthly-or-finer cash flows over a one-year horizon), with the per-period rate
    δ = (1 + annual rate)^(period days / 365.25) − 1."""
    delta = (1 + annual_discount_rate) ** (PERIOD_DAYS[period] / 365.25) - 1
    steps = max(1, min(int(horizon), 12))
    total = np.zeros_like(x, dtype=float)
    previous = np.zeros_like(x, dtype=float)
    for i in range(1, steps + 1):
        t = horizon * i / steps
        current = expected_transactions(bgnbd, float(t), x, t_x, T)
        total += (current - previous) * spend / (1 + delta) ** t
        previous = current
    return total
