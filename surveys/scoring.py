"""The score bands of METRICS.md, defined once: the SQL conditions and the Python rules derive from here.

NPS (0–10): promoters 9–10, passives 7–8, detractors 0–6.
CSAT top boxes ("satisfied") per scale: 4–5 on 1–5 (the default), 6–7 on 1–7, 3 on 1–3 (the
midpoint of 1–3 is never "satisfied").
CES (1–7): agreeing 5–7.
"""

from __future__ import annotations

from django.db.models import Q

NPS_PROMOTER_MIN = 9
NPS_PASSIVE_MIN = 7
NPS_DETRACTOR_MAX = NPS_PASSIVE_MIN - 1
NPS_CATEGORIES = ("promoter", "passive", "detractor")

# Lowest answer in the top boxes per CSAT scale maximum.
CSAT_TOP_MIN = {3: 3, 5: 4, 7: 6}
CSAT_SCALES = tuple(sorted(CSAT_TOP_MIN))  # CSAT is asked on 1–3, 1–5 or 1–7
CSAT_DEFAULT_SCALE = 5
CES_AGREE_MIN = 5


def nps_category(score: int | None) -> str | None:
    """promoter 9–10, passive 7–8, detractor 0–6; None without a score."""
    if score is None:
        return None
    if score >= NPS_PROMOTER_MIN:
        return "promoter"
    if score >= NPS_PASSIVE_MIN:
        return "passive"
    return "detractor"


def nps_category_q(category: str, field: str = "score") -> Q:
    """The condition on `field` (an NPS score) for one category, for querysets and conditional counts."""
    if category == "promoter":
        return Q(**{f"{field}__gte": NPS_PROMOTER_MIN})
    if category == "passive":
        return Q(**{f"{field}__gte": NPS_PASSIVE_MIN, f"{field}__lte": NPS_PROMOTER_MIN - 1})
    if category == "detractor":
        return Q(**{f"{field}__lte": NPS_DETRACTOR_MAX})
    raise ValueError(f"unknown NPS category {category!r}")


def nps_bands() -> dict[str, int]:
    """The NPS category edges as plain data, for scripts that colour scores (via the page's JSON)."""
    return {"promoter_min": NPS_PROMOTER_MIN, "passive_min": NPS_PASSIVE_MIN}


def csat_top_min(scale_max: int | None = None) -> int:
    """The lowest "satisfied" answer on a CSAT scale (1–5 when the scale is unknown)."""
    return CSAT_TOP_MIN.get(scale_max or CSAT_DEFAULT_SCALE, CSAT_TOP_MIN[CSAT_DEFAULT_SCALE])


def csat_top_q(scale_max: int | None = None, field: str = "score") -> Q:
    return Q(**{f"{field}__gte": csat_top_min(scale_max)})


def ces_agree_q(field: str = "score") -> Q:
    return Q(**{f"{field}__gte": CES_AGREE_MIN})
