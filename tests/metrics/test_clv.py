"""BG/NBD and Gamma-Gamma: known parameters are recovered from simulated data; the per-customer
quantities behave as the model says."""

from __future__ import annotations

import numpy as np
import pytest

from metrics.computations import clv

from .simulate import simulate_bgnbd, simulate_gamma_gamma

TRUE_BGNBD = {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5}
TRUE_GG = {"p": 6.0, "q": 4.0, "gamma": 15.0}


@pytest.fixture(scope="module")
def simulated():
    x, t_x, T = simulate_bgnbd(4000, **TRUE_BGNBD, T=52)
    return x, t_x, T


def test_bgnbd_recovers_known_parameters(simulated):
    x, t_x, T = simulated
    fitted = clv.fit_bgnbd(x, t_x, T)
    for name, true in TRUE_BGNBD.items():
        assert getattr(fitted, name) == pytest.approx(true, rel=0.25), name
    # the fitted parameters explain the data better than nearby wrong ones
    truth = clv.bgnbd_log_likelihood(np.array(list(TRUE_BGNBD.values())), x, t_x, T).sum()
    assert fitted.log_likelihood >= truth - 1e-6


def test_gamma_gamma_recovers_known_parameters(simulated):
    x, _t_x, _T = simulated
    m = simulate_gamma_gamma(x, **TRUE_GG)
    fitted = clv.fit_gamma_gamma(x, m)
    # p is well identified; q and γ trade off, so their ratio (the population mean spend) is checked
    assert fitted.p == pytest.approx(TRUE_GG["p"], rel=0.2)
    assert fitted.p * fitted.gamma / (fitted.q - 1) == pytest.approx(
        TRUE_GG["p"] * TRUE_GG["gamma"] / (TRUE_GG["q"] - 1), rel=0.1
    )


def test_per_customer_quantities():
    params = clv.BgNbdParams(r=0.25, alpha=4.0, a=0.8, b=2.5, log_likelihood=0.0)
    x = np.array([0.0, 5.0, 5.0])
    t_x = np.array([0.0, 50.0, 10.0])
    T = np.array([52.0, 52.0, 52.0])
    alive = clv.p_alive(params, x, t_x, T)
    assert alive[0] == 1.0  # no repeat purchase: the model cannot have seen a drop-out
    assert alive[1] > alive[2]  # a recent buyer is more likely alive than one silent for 42 weeks
    # P(alive) by hand for the second customer
    by_hand = 1 / (1 + 0.8 / (2.5 + 5 - 1) * ((4 + 52) / (4 + 50)) ** (0.25 + 5))
    assert alive[1] == pytest.approx(by_hand)
    e10, e20 = (
        clv.expected_transactions(params, 10.0, x, t_x, T),
        clv.expected_transactions(params, 20.0, x, t_x, T),
    )
    assert np.all(e20 >= e10) and e10[1] > e10[2]
    spend = clv.expected_spend(
        clv.GammaGammaParams(6.0, 4.0, 15.0, 0.0), np.array([0.0, 2.0]), np.array([np.nan, 40.0]), 0.0
    )
    assert spend[0] == pytest.approx(6 * 15 / 3)  # population mean pγ/(q−1)
    assert spend[1] == pytest.approx((15 + 40 * 2) * 6 / (6 * 2 + 4 - 1))
    undiscounted = clv.discounted_clv(params, np.array([10.0] * 3), x, t_x, T, horizon=52, period="week")
    assert undiscounted == pytest.approx(10 * clv.expected_transactions(params, 52.0, x, t_x, T))
    discounted = clv.discounted_clv(
        params, np.array([10.0] * 3), x, t_x, T, horizon=52, period="week", annual_discount_rate=0.1
    )
    assert np.all(discounted[1:] < undiscounted[1:])


def test_fit_needs_data():
    with pytest.raises(ValueError):
        clv.fit_bgnbd(np.array([]), np.array([]), np.array([]))
    with pytest.raises(ValueError):
        clv.fit_gamma_gamma(np.array([0.0]), np.array([np.nan]))
