"""Survey scores and significance against hand-computed cases (METRICS.md)."""

from __future__ import annotations

import math

import pytest

from metrics.computations.scores import (
    ces_from_counts,
    csat_from_counts,
    nps_category,
    nps_from_counts,
    rating_from_counts,
    wilson_interval,
)
from metrics.computations.significance import nps_z_test, two_proportion_z_test, welch_t_test


def test_nps_hand_computed():
    # P=5, passives=3, D=2: NPS = 100 × (5 − 2)/10 = 30; Var = (0.5 + 0.2 − 0.3²)/10 = 0.061
    # adjusted Wald: n'=13, p'=5.75/13, d'=2.75/13, centre 3/13, half = 1.96 √((p'+d'−(3/13)²)/13)
    result = nps_from_counts(promoters=5, passives=3, detractors=2)
    assert result.n == 10 and result.nps == pytest.approx(30.0)
    assert result.variance == pytest.approx(0.061)
    p, d = 5.75 / 13, 2.75 / 13
    half = 1.96 * math.sqrt((p + d - (p - d) ** 2) / 13)
    assert result.ci_low == pytest.approx(100 * (p - d - half)) == pytest.approx(-19.0514, abs=1e-3)
    assert result.ci_high == pytest.approx(65.2052, abs=1e-3)
    shares = result.as_dict()
    assert (
        shares["promoter_share"] == 0.5
        and shares["passive_share"] == 0.3
        and shares["detractor_share"] == 0.2
    )


def test_nps_no_responses():
    result = nps_from_counts(promoters=0, passives=0, detractors=0)
    assert result.n == 0 and result.nps is None and result.ci_low is None and result.variance is None
    assert result.as_dict()["promoter_share"] is None


def test_nps_one_response():
    # n'=4, p'=1.75/4, d'=0.75/4: centre 0.25, half = 1.96 × √(0.140625/… ) = 0.735
    result = nps_from_counts(promoters=1, passives=0, detractors=0)
    assert result.nps == 100.0 and result.variance == 0.0
    assert result.ci_low == pytest.approx(-48.5) and result.ci_high == pytest.approx(98.5)


def test_nps_all_promoters_interval_is_clipped():
    result = nps_from_counts(promoters=20, passives=0, detractors=0)
    assert result.nps == 100.0
    assert result.ci_high == 100.0
    assert result.ci_low == pytest.approx(69.683, abs=1e-3)


def test_nps_categories():
    assert [nps_category(s) for s in (0, 6, 7, 8, 9, 10)] == [
        "detractor",
        "detractor",
        "passive",
        "passive",
        "promoter",
        "promoter",
    ]
    assert nps_category(None) is None


def test_csat_top_two_box_and_wilson():
    # answers 5, 4, 4, 2: top two = 3 of 4 = 75 %, mean 3.75
    result = csat_from_counts(n=4, top_two=3, total=15, total_sq=25 + 16 + 16 + 4)
    assert result["csat"] == 75.0 and result["mean"] == 3.75
    assert result["variance"] == pytest.approx(((5 - 3.75) ** 2 + 2 * (4 - 3.75) ** 2 + (2 - 3.75) ** 2) / 3)
    assert (result["ci_low"], result["ci_high"]) == pytest.approx((30.0636, 95.4414), abs=1e-3)
    assert csat_from_counts(n=0, top_two=0)["csat"] is None
    assert wilson_interval(0, 0) == (None, None)


def test_ces_mean_and_agreeing():
    # answers 7, 5, 3, 1: mean 4, agreeing (5–7) = 2 of 4
    result = ces_from_counts(n=4, agree=2, total=16, total_sq=49 + 25 + 9 + 1)
    assert result["mean"] == 4.0 and result["agree_pct"] == 50.0
    assert result["variance"] == pytest.approx((9 + 1 + 1 + 9) / 3)
    one = ces_from_counts(n=1, agree=1, total=6, total_sq=36)
    assert one["mean"] == 6.0 and one["variance"] is None


def test_rating_mean_and_distribution():
    result = rating_from_counts(distribution={5: 2, 3: 1, 1: 1})
    assert result["n"] == 4 and result["mean"] == pytest.approx((10 + 3 + 1) / 4)
    assert result["distribution"] == {"1": 1, "2": 0, "3": 1, "4": 0, "5": 2}
    assert rating_from_counts(distribution={})["mean"] is None


def test_nps_z_test_hand_computed():
    # z = (0.30 − 0) / √(0.061 + 0.02) = 1.0541; p = 0.2918 ≥ 0.05: no detectable change
    result = nps_z_test(nps1=30, var1=0.061, n1=40, nps2=0, var2=0.02, n2=40)
    assert result["statistic"] == pytest.approx(1.05409, abs=1e-4)
    assert result["p_value"] == pytest.approx(0.29184, abs=1e-4)
    assert result["verdict"] == "no_change" and not result["detectable"]


def test_nps_z_test_detects_a_real_change_and_refuses_small_samples():
    big = nps_z_test(nps1=50, var1=0.004, n1=200, nps2=20, var2=0.004, n2=200)
    assert big["verdict"] == "up" and big["p_value"] < 0.05
    small = nps_z_test(nps1=50, var1=0.004, n1=29, nps2=20, var2=0.004, n2=200)
    assert small["verdict"] == "too_few" and not small["detectable"]
    empty = nps_z_test(nps1=None, var1=None, n1=0, nps2=20, var2=0.01, n2=50)
    assert empty["p_value"] is None and empty["verdict"] == "too_few"


def test_two_proportion_z_hand_computed():
    # p1 = 0.8, p2 = 0.6, pooled 0.7: z = 0.2 / √(0.21 × 0.04) = 2.1822, p = 0.0291
    result = two_proportion_z_test(successes1=40, n1=50, successes2=30, n2=50)
    assert result["statistic"] == pytest.approx(2.18218, abs=1e-4)
    assert result["p_value"] == pytest.approx(0.02910, abs=1e-4)
    assert result["difference"] == pytest.approx(20.0)
    assert result["verdict"] == "up"
    down = two_proportion_z_test(successes1=30, n1=50, successes2=40, n2=50)
    assert down["verdict"] == "down"


def test_welch_t_hand_computed():
    # t = 0.5 / √(1/40 + 2/35) = 1.7446; df by Welch–Satterthwaite; p = 0.0862 → no detectable change
    result = welch_t_test(mean1=5, var1=1, n1=40, mean2=4.5, var2=2, n2=35)
    assert result["statistic"] == pytest.approx(0.5 / math.sqrt(1 / 40 + 2 / 35))
    assert result["p_value"] == pytest.approx(0.08616, abs=1e-4)
    assert result["verdict"] == "no_change"
    assert welch_t_test(mean1=5, var1=None, n1=1, mean2=4, var2=1, n2=40)["p_value"] is None
