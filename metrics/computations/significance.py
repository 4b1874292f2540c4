"""Is a change real? (METRICS.md, "Uncertainty"). Pure functions on summary statistics.

NPS: z = (NPS₁ − NPS₂) / √(Var₁ + Var₂), both in the same units (NPS/100 and its variance).
Proportions (CSAT, % agreeing): the two-proportion z-test with the pooled proportion.
Means (CES, CSAT mean): Welch's t-test.
The verdict is "no detectable change" when p ≥ 0.05 or either side has fewer than 30 answers.
"""

from __future__ import annotations

import math
from typing import Any

from scipy import stats

MIN_N = 30
ALPHA = 0.05


def _verdict(p_value: float | None, n1: int, n2: int, difference: float | None) -> str:
    if n1 < MIN_N or n2 < MIN_N:
        return "too_few"
    if p_value is None or p_value >= ALPHA or difference is None or difference == 0:
        return "no_change"
    return "up" if difference > 0 else "down"


def _result(
    statistic: float | None, p_value: float | None, n1: int, n2: int, difference: float | None
) -> dict[str, Any]:
    verdict = _verdict(p_value, n1, n2, difference)
    return {
        "statistic": statistic,
        "p_value": p_value,
        "difference": difference,
        "n1": n1,
        "n2": n2,
        "verdict": verdict,
        "detectable": verdict in {"up", "down"},
    }


def nps_z_test(
    *, nps1: float | None, var1: float | None, n1: int, nps2: float | None, var2: float | None, n2: int
) -> dict[str, Any]:
    """Period 1 vs period 2 (or segment vs segment): z = (NPS₁ − NPS₂) / √(Var₁ + Var₂).

    NPS values are on the −100…100 scale; variances are of NPS/100 (as `nps_from_counts` gives them),
    so the test runs in NPS/100 units. Two-sided p-value from the standard normal.
    """
    if nps1 is None or nps2 is None or var1 is None or var2 is None or n1 == 0 or n2 == 0:
        return _result(None, None, n1, n2, None)
    difference = nps1 - nps2
    se = math.sqrt(var1 + var2)
    if se == 0:
        return _result(None, None if difference == 0 else 0.0, n1, n2, difference)
    z = (difference / 100.0) / se
    return _result(z, float(2 * stats.norm.sf(abs(z))), n1, n2, difference)


def two_proportion_z_test(*, successes1: int, n1: int, successes2: int, n2: int) -> dict[str, Any]:
    """z = (p̂₁ − p̂₂) / √(p̄(1 − p̄)(1/n₁ + 1/n₂)) with the pooled p̄ = (x₁ + x₂)/(n₁ + n₂);
    the difference is reported in percentage points."""
    if n1 == 0 or n2 == 0:
        return _result(None, None, n1, n2, None)
    p1, p2 = successes1 / n1, successes2 / n2
    pooled = (successes1 + successes2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    difference = 100.0 * (p1 - p2)
    if se == 0:
        return _result(None, None if difference == 0 else 0.0, n1, n2, difference)
    z = (p1 - p2) / se
    return _result(z, float(2 * stats.norm.sf(abs(z))), n1, n2, difference)


def welch_t_test(
    *, mean1: float | None, var1: float | None, n1: int, mean2: float | None, var2: float | None, n2: int
) -> dict[str, Any]:
    """Welch's t = (x̄₁ − x̄₂) / √(s₁²/n₁ + s₂²/n₂) with Welch–Satterthwaite degrees of freedom."""
    if mean1 is None or mean2 is None or var1 is None or var2 is None or n1 < 2 or n2 < 2:
        return _result(None, None, n1, n2, None)
    result = stats.ttest_ind_from_stats(
        mean1, math.sqrt(var1), n1, mean2, math.sqrt(var2), n2, equal_var=False
    )
    difference = mean1 - mean2
    statistic = float(result.statistic)
    p_value = float(result.pvalue)
    if math.isnan(p_value):
        return _result(None, None if difference == 0 else 0.0, n1, n2, difference)
    return _result(statistic, p_value, n1, n2, difference)
