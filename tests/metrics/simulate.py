"""Data simulated from known BG/NBD and Gamma-Gamma parameters (for the parameter-recovery tests)."""

from __future__ import annotations

import numpy as np


def simulate_bgnbd(n: int, r: float, alpha: float, a: float, b: float, T: float, seed: int = 7):
    """Customers observed for T periods after their first purchase: x repeat purchases, t_x, T."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(r, 1 / alpha, size=n)
    p = rng.beta(a, b, size=n)
    xs = np.zeros(n)
    txs = np.zeros(n)
    for i in range(n):
        t = 0.0
        x = 0
        last = 0.0
        while True:
            t += rng.exponential(1 / lam[i])
            if t > T:
                break
            x += 1
            last = t
            if rng.random() < p[i]:
                break
        xs[i], txs[i] = x, last
    return xs, txs, np.full(n, T)


def simulate_gamma_gamma(x: np.ndarray, p: float, q: float, gamma: float, seed: int = 11):
    """Mean spend of x transactions per customer: ν ~ Gamma(q, γ), z ~ Gamma(p, ν)."""
    rng = np.random.default_rng(seed)
    nu = rng.gamma(q, 1 / gamma, size=x.size)
    means = np.full(x.size, np.nan)
    for i, count in enumerate(x.astype(int)):
        if count > 0:
            means[i] = rng.gamma(p, 1 / nu[i], size=count).mean()
    return means
