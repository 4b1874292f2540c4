"""Reads for dashboards and other layers' pages. Aggregates run in SQL; math lives in computations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Count, Q

from cxm.tenancy.models import Organization

from .computations.scores import nps_from_counts, wilson_interval
from .routers import read_alias


def touchpoint_scores(
    *, organization: Organization, start: datetime | None = None, end: datetime | None = None
) -> dict[int, dict[str, Any]]:
    """Per touchpoint id: NPS, CSAT (% top-two-box) and CES (mean) with n, over [start, end).

    One query, grouped by touchpoint. Used by the journey map and the journey dashboard.
    """
    from django.db.models import Avg

    from surveys.models import Response

    rows = Response.objects.using(read_alias()).filter(
        organization=organization, touchpoint__isnull=False, score__isnull=False
    )
    if start is not None:
        rows = rows.filter(submitted_at__gte=start)
    if end is not None:
        rows = rows.filter(submitted_at__lt=end)
    aggregates = rows.values("touchpoint_id").annotate(
        promoters=Count("id", filter=Q(score_kind="nps", score__gte=9)),
        passives=Count("id", filter=Q(score_kind="nps", score__gte=7, score__lte=8)),
        detractors=Count("id", filter=Q(score_kind="nps", score__lte=6)),
        csat_n=Count("id", filter=Q(score_kind="csat")),
        csat_top2=Count("id", filter=Q(score_kind="csat", score__gte=4)),
        ces_n=Count("id", filter=Q(score_kind="ces")),
        ces_mean=Avg("score", filter=Q(score_kind="ces")),
    )
    result: dict[int, dict[str, Any]] = {}
    for row in aggregates:
        nps = nps_from_counts(
            promoters=row["promoters"], passives=row["passives"], detractors=row["detractors"]
        )
        csat_low, csat_high = wilson_interval(row["csat_top2"], row["csat_n"])
        result[row["touchpoint_id"]] = {
            "nps": nps.as_dict(),
            "csat": {
                "n": row["csat_n"],
                "top2_pct": 100 * row["csat_top2"] / row["csat_n"] if row["csat_n"] else None,
                "ci_low": csat_low,
                "ci_high": csat_high,
            },
            "ces": {"n": row["ces_n"], "mean": row["ces_mean"]},
            "n": nps.n + row["csat_n"] + row["ces_n"],
        }
    return result
