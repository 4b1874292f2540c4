"""Survey score math (METRICS.md, "Survey scores"). Pure functions on counts; the SQL that
produces the counts lives in metrics.selectors."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

# The NPS categories are defined once, by surveys (METRICS.md); re-exported beside the score math.
from surveys.scoring import nps_category as nps_category

Z95 = 1.96


@dataclass(frozen=True)
class NpsResult:
    n: int
    promoters: int
    passives: int
    detractors: int
    nps: float | None
    ci_low: float | None
    ci_high: float | None
    variance: float | None  # of NPS/100

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["promoter_share"] = self.promoters / self.n if self.n else None
        data["passive_share"] = self.passives / self.n if self.n else None
        data["detractor_share"] = self.detractors / self.n if self.n else None
        return data


def nps_from_counts(*, promoters: int, passives: int, detractors: int) -> NpsResult:
    """NPS = 100 × (P − D) / n with promoters 9–10, passives 7–8, detractors 0–6.

    Variance of NPS/100: (p + d − (p − d)²) / n with p = P/n, d = D/n.
    95 % interval: adjusted Wald (Rocks 2016): n' = n + 3, p' = (P + ¾)/n', d' = (D + ¾)/n',
    centre p' − d', half-width 1.96 × √((p' + d' − (p' − d')²)/n'), both × 100 (clipped to ±100).
    """
    n = promoters + passives + detractors
    if n == 0:
        return NpsResult(0, 0, 0, 0, None, None, None, None)
    p, d = promoters / n, detractors / n
    nps = 100.0 * (p - d)
    variance = (p + d - (p - d) ** 2) / n
    n_adj = n + 3
    p_adj, d_adj = (promoters + 0.75) / n_adj, (detractors + 0.75) / n_adj
    centre = p_adj - d_adj
    half = Z95 * math.sqrt(max(p_adj + d_adj - centre**2, 0.0) / n_adj)
    return NpsResult(
        n,
        promoters,
        passives,
        detractors,
        nps,
        max(-100.0, 100 * (centre - half)),
        min(100.0, 100 * (centre + half)),
        variance,
    )


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float | None, float | None]:
    """Wilson score interval for a proportion, as percentages."""
    if n == 0:
        return None, None
    phat = successes / n
    denom = 1 + z * z / n
    centre = (phat + z * z / (2 * n)) / denom
    half = z * math.sqrt(phat * (1 - phat) / n + z * z / (4 * n * n)) / denom
    return 100 * max(0.0, centre - half), 100 * min(1.0, centre + half)


def _mean_and_variance(total: float, total_sq: float, n: int) -> tuple[float | None, float | None]:
    """Mean and sample variance from n, Σx and Σx² (the sums come from SQL)."""
    if n == 0:
        return None, None
    mean = total / n
    if n < 2:
        return mean, None
    return mean, max(0.0, (total_sq - n * mean * mean) / (n - 1))


def csat_from_counts(
    *, n: int, top_two: int, total: float = 0.0, total_sq: float = 0.0, scale_max: int = 5
) -> dict[str, Any]:
    """CSAT = 100 × (answers in the top boxes) / n; also the mean. Wilson interval on the share.

    Top boxes: 4–5 on the default 1–5 scale, 6–7 on 1–7, 3 on 1–3 (the midpoint is never "satisfied").
    """
    low, high = wilson_interval(top_two, n)
    mean, variance = _mean_and_variance(total, total_sq, n)
    return {
        "n": n,
        "top_two": top_two,
        "csat": 100.0 * top_two / n if n else None,
        "ci_low": low,
        "ci_high": high,
        "mean": mean,
        "variance": variance,
        "scale_max": scale_max,
    }


def ces_from_counts(*, n: int, agree: int, total: float, total_sq: float = 0.0) -> dict[str, Any]:
    """CES (1–7 "… made it easy to handle my issue"): the mean; and % agreeing = 100 × (answers 5–7) / n,
    with a Wilson interval on the share."""
    low, high = wilson_interval(agree, n)
    mean, variance = _mean_and_variance(total, total_sq, n)
    return {
        "n": n,
        "agree": agree,
        "agree_pct": 100.0 * agree / n if n else None,
        "ci_low": low,
        "ci_high": high,
        "mean": mean,
        "variance": variance,
    }


def rating_from_counts(*, distribution: dict[int, int]) -> dict[str, Any]:
    """Star rating (1–5): the mean and the distribution (count per star)."""
    n = sum(distribution.values())
    total = sum(star * count for star, count in distribution.items())
    return {
        "n": n,
        "mean": total / n if n else None,
        "distribution": {str(star): distribution.get(star, 0) for star in range(1, 6)},
    }
