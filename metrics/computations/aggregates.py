"""The SQL side of survey scores: base querysets under the filters, and the conditional counts that
every score family is computed from (one GROUP BY, never a row per response in Python)."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, F, FloatField, Q, QuerySet, Sum
from django.db.models.functions import Cast

from cxm.tenancy.models import Organization
from surveys.models import Question, Response
from surveys.scoring import CSAT_SCALES, CSAT_TOP_MIN, ces_agree_q, csat_top_q, nps_category_q

from ..filters import MetricFilters
from .scores import ces_from_counts, csat_from_counts, nps_from_counts, rating_from_counts


def responses_for(
    *, organization: Organization, filters: MetricFilters, using: str, windowed: bool = True
) -> QuerySet[Any]:
    """Scored responses of the organization under the filters (dates in the organization's zone)."""
    rows = Response.objects.using(using).for_organization(organization).filter(score__isnull=False)
    if windowed:
        start, end = filters.window(organization)
        rows = rows.filter(submitted_at__gte=start, submitted_at__lt=end)
    rows = dimension_filtered(rows, filters)
    if filters.segment:
        dimension, value = filters.segment.split(":", 1)
        rows = rows.filter(**{f"customer__metrics_value__{dimension}": value})
    return rows


def dimension_filtered(rows: QuerySet[Any], filters: MetricFilters) -> QuerySet[Any]:
    """Rows (responses, or their daily rollups: both have a survey, a touchpoint and a language)
    under the survey, touchpoint, stage, channel and language filters."""
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
    return rows


def _score_sq() -> Any:
    return Cast(F("score"), FloatField()) * Cast(F("score"), FloatField())


DEFAULT_CSAT_TOP_TWO = csat_top_q()


def survey_csat_scales(*, organization: Organization, using: str) -> dict[int, int]:
    """Per survey id: the maximum of its CSAT scale (3, 5 or 7), from the survey's first CSAT
    question (which gives a response its CSAT score). Surveys without one are absent (1–5)."""
    scale_of: dict[int, int] = {}
    questions = (
        Question.objects.using(using)
        .for_organization(organization)
        .filter(kind="csat")
        .order_by("survey_id", "position", "id")
        .values_list("survey_id", "scale_max")
    )
    for survey_id, scale_max in questions:
        scale_of.setdefault(survey_id, scale_max if scale_max in CSAT_TOP_MIN else 5)
    return scale_of


def csat_scale_filters(*, organization: Organization, using: str) -> dict[int, Q]:
    """Scale maximum → the condition selecting responses whose CSAT is on that scale (1–5 is the
    default for every survey without another). One small query over the organization's questions."""
    scale_of = survey_csat_scales(organization=organization, using=using)
    other = {survey_id: scale for survey_id, scale in scale_of.items() if scale != 5}
    filters: dict[int, Q] = {5: ~Q(survey_id__in=list(other)) if other else Q()}
    for scale in sorted(set(other.values())):
        filters[scale] = Q(survey_id__in=[survey_id for survey_id, s in other.items() if s == scale])
    return filters


def _csat_top(scales: dict[int, Q]) -> Q:
    if list(scales) == [5] and not scales[5]:
        return DEFAULT_CSAT_TOP_TWO
    condition: Q | None = None
    for scale, on_scale in scales.items():
        part = on_scale & csat_top_q(scale)
        condition = part if condition is None else condition | part
    assert condition is not None
    return condition


def csat_top_two(*, organization: Organization, using: str) -> Q:
    """CSAT top boxes on each survey's own scale: 4–5 on 1–5 (the default), 6–7 on 1–7, 3 on 1–3."""
    return _csat_top(csat_scale_filters(organization=organization, using=using))


def nps_counts() -> dict[str, Any]:
    """Conditional counts of promoters, passives and detractors among NPS answers."""
    nps = Q(score_kind="nps")
    return {
        "promoters": Count("id", filter=nps & nps_category_q("promoter")),
        "passives": Count("id", filter=nps & nps_category_q("passive")),
        "detractors": Count("id", filter=nps & nps_category_q("detractor")),
    }


def score_aggregates(csat_scales: dict[int, Q] | None = None) -> dict[str, Any]:
    """Conditional counts and sums for NPS, CSAT, CES and ratings, for `.aggregate()` or `.annotate()`.
    `csat_scales` comes from `csat_scale_filters` (default: every CSAT answer on 1–5); CSAT sums are
    kept per scale, never pooled raw."""
    scales = csat_scales or {5: Q()}
    nps, csat, ces, rating = (Q(score_kind=kind) for kind in ("nps", "csat", "ces", "rating"))
    aggregates: dict[str, Any] = {
        **nps_counts(),
        "csat_n": Count("id", filter=csat),
        "csat_top2": Count("id", filter=csat & _csat_top(scales)),
        "ces_n": Count("id", filter=ces),
        "ces_agree": Count("id", filter=ces & ces_agree_q()),
        "ces_sum": Sum("score", filter=ces),
        "ces_sumsq": Sum(_score_sq(), filter=ces),
        "rating_n": Count("id", filter=rating),
        "rating_sum": Sum("score", filter=rating),
    }
    for scale, on_scale in scales.items():
        aggregates[f"csat_n_{scale}"] = Count("id", filter=csat & on_scale)
        aggregates[f"csat_top_{scale}"] = Count("id", filter=csat & on_scale & csat_top_q(scale))
        aggregates[f"csat_sum_{scale}"] = Sum("score", filter=csat & on_scale)
        aggregates[f"csat_sumsq_{scale}"] = Sum(_score_sq(), filter=csat & on_scale)
    return aggregates


def csat_from_row(row: dict[str, Any]) -> dict[str, Any]:
    """CSAT from one row of `score_aggregates()`: the top-box share over every scale (each answer
    judged on its own scale), the mean per scale (`by_scale`), and the mean rescaled to 0–100 as
    100 × (x − 1) / (max − 1) (`mean_0_100`). `mean` is the raw mean only when every answer is on
    one scale (`scale_max`), else None: scales are never pooled raw."""
    by_scale = {}
    rescaled_total, n_total = 0.0, 0
    for scale in CSAT_SCALES:
        n = row.get(f"csat_n_{scale}") or 0
        if not n:
            continue
        total = float(row.get(f"csat_sum_{scale}") or 0)
        by_scale[f"1-{scale}"] = csat_from_counts(
            n=n,
            top_two=row.get(f"csat_top_{scale}") or 0,
            total=total,
            total_sq=float(row.get(f"csat_sumsq_{scale}") or 0),
            scale_max=scale,
        )
        rescaled_total += 100.0 * (total - n) / (scale - 1)
        n_total += n
    only = next(iter(by_scale.values())) if len(by_scale) == 1 else None
    result = csat_from_counts(
        n=row["csat_n"] or 0,
        top_two=row["csat_top2"] or 0,
        total=only["mean"] * only["n"] if only else 0.0,
        total_sq=0.0,
        scale_max=only["scale_max"] if only else 5,
    )
    if only:
        result.update(mean=only["mean"], variance=only["variance"], scale_max=only["scale_max"])
    else:
        result.update(mean=None, variance=None, scale_max=None)
    result["mean_0_100"] = rescaled_total / n_total if n_total else None
    result["by_scale"] = by_scale
    return result


def scores_from_row(row: dict[str, Any]) -> dict[str, Any]:
    """NPS, CSAT and CES results from one row of `score_aggregates()`."""
    nps = nps_from_counts(
        promoters=row["promoters"] or 0, passives=row["passives"] or 0, detractors=row["detractors"] or 0
    )
    return {
        "nps": nps.as_dict(),
        "csat": csat_from_row(row),
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
        **score_aggregates(csat_scale_filters(organization=organization, using=using))
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
