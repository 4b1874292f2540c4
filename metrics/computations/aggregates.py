"""The SQL side of survey scores: base querysets under the filters, and the conditional counts that
every score family is computed from (one GROUP BY, never a row per response in Python)."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, F, FloatField, Q, QuerySet, Sum
from django.db.models.functions import Cast

from cxm.tenancy.models import Organization

from ..filters import MetricFilters
from .scores import ces_from_counts, csat_from_counts, nps_from_counts, rating_from_counts


def responses_for(
    *, organization: Organization, filters: MetricFilters, using: str, windowed: bool = True
) -> QuerySet[Any]:
    """Scored responses of the organization under the filters (dates in the organization's zone)."""
    from surveys.models import Response

    rows = Response.objects.using(using).filter(organization=organization, score__isnull=False)
    if windowed:
        start, end = filters.window(organization)
        rows = rows.filter(submitted_at__gte=start, submitted_at__lt=end)
    if filters.survey:
        rows = rows.filter(survey_id=filters.survey)
    if filters.touchpoint:
        rows = rows.filter(touchpoint_id=filters.touchpoint)
    if filters.stage:
        rows = rows.filter(touchpoint__stage_id=filters.stage)
    if filters.channel:
        rows = rows.filter(touchpoint__channel=filters.channel)
    if filters.locale:
        rows = rows.filter(locale=filters.locale)
    if filters.segment:
        dimension, value = filters.segment.split(":", 1)
        rows = rows.filter(**{f"customer__metrics_value__{dimension}": value})
    return rows


def _score_sq() -> Any:
    return Cast(F("score"), FloatField()) * Cast(F("score"), FloatField())


DEFAULT_CSAT_TOP_TWO = Q(score__gte=4)


def csat_top_two(*, organization: Organization, using: str) -> Q:
    """CSAT top two boxes on each survey's own scale: 1–5 → 4–5 (the default), 1–3 → 2–3, 1–7 → 6–7.

    A response's CSAT score comes from its survey's first CSAT question, so that question's scale
    decides. One small query over the organization's questions."""
    from surveys.models import Question

    scale_of: dict[int, int] = {}
    questions = (
        Question.objects.using(using)
        .filter(organization=organization, kind="csat")
        .order_by("survey_id", "position", "id")
        .values_list("survey_id", "scale_max")
    )
    for survey_id, scale_max in questions:
        scale_of.setdefault(survey_id, scale_max or 5)
    other = {survey_id: scale for survey_id, scale in scale_of.items() if scale != 5}
    if not other:
        return DEFAULT_CSAT_TOP_TWO
    condition = DEFAULT_CSAT_TOP_TWO & ~Q(survey_id__in=list(other))
    for scale in sorted(set(other.values())):
        ids = [survey_id for survey_id, s in other.items() if s == scale]
        condition |= Q(survey_id__in=ids, score__gte=scale - 1)
    return condition


def score_aggregates(csat_top: Q = DEFAULT_CSAT_TOP_TWO) -> dict[str, Any]:
    """Conditional counts and sums for NPS, CSAT, CES and ratings, for `.aggregate()` or `.annotate()`.
    `csat_top` is the top-two-box condition from `csat_top_two` (default: the 1–5 scale)."""
    nps, csat, ces, rating = (Q(score_kind=kind) for kind in ("nps", "csat", "ces", "rating"))
    return {
        "promoters": Count("id", filter=nps & Q(score__gte=9)),
        "passives": Count("id", filter=nps & Q(score__gte=7, score__lte=8)),
        "detractors": Count("id", filter=nps & Q(score__lte=6)),
        "csat_n": Count("id", filter=csat),
        "csat_top2": Count("id", filter=csat & csat_top),
        "csat_sum": Sum("score", filter=csat),
        "csat_sumsq": Sum(_score_sq(), filter=csat),
        "ces_n": Count("id", filter=ces),
        "ces_agree": Count("id", filter=ces & Q(score__gte=5)),
        "ces_sum": Sum("score", filter=ces),
        "ces_sumsq": Sum(_score_sq(), filter=ces),
        "rating_n": Count("id", filter=rating),
        "rating_sum": Sum("score", filter=rating),
    }


def scores_from_row(row: dict[str, Any]) -> dict[str, Any]:
    """NPS, CSAT and CES results from one row of `score_aggregates()`."""
    nps = nps_from_counts(
        promoters=row["promoters"] or 0, passives=row["passives"] or 0, detractors=row["detractors"] or 0
    )
    return {
        "nps": nps.as_dict(),
        "csat": csat_from_counts(
            n=row["csat_n"] or 0,
            top_two=row["csat_top2"] or 0,
            total=float(row["csat_sum"] or 0),
            total_sq=float(row["csat_sumsq"] or 0),
        ),
        "ces": ces_from_counts(
            n=row["ces_n"] or 0,
            agree=row["ces_agree"] or 0,
            total=float(row["ces_sum"] or 0),
            total_sq=float(row["ces_sumsq"] or 0),
        ),
        "rating": {
            "n": row["rating_n"] or 0,
            "mean": (float(row["rating_sum"]) / row["rating_n"]) if row["rating_n"] else None,
        },
        "n": (nps.n + (row["csat_n"] or 0) + (row["ces_n"] or 0) + (row["rating_n"] or 0)),
    }


def score_summary(*, organization: Organization, filters: MetricFilters, using: str) -> dict[str, Any]:
    """NPS, CSAT, CES and rating over the filtered window: one aggregate query."""
    row = responses_for(organization=organization, filters=filters, using=using).aggregate(
        **score_aggregates(csat_top_two(organization=organization, using=using))
    )
    return scores_from_row(row)


def score_distribution(*, organization: Organization, filters: MetricFilters, using: str) -> dict[str, Any]:
    """Counts per score value for NPS (0–10), CSAT (1–5), CES (1–7) and ratings (1–5)."""
    rows = (
        responses_for(organization=organization, filters=filters, using=using)
        .values("score_kind", "score")
        .annotate(n=Count("id"))
        .order_by()
    )
    ranges = {"nps": range(0, 11), "csat": range(1, 6), "ces": range(1, 8), "rating": range(1, 6)}
    result = {kind: {str(v): 0 for v in values} for kind, values in ranges.items()}
    for row in rows:
        if row["score_kind"] in result:
            result[row["score_kind"]][str(row["score"])] = row["n"]
    result["rating_summary"] = rating_from_counts(
        distribution={int(k): v for k, v in result["rating"].items()}
    )
    return result
