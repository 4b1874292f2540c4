"""Survey scores from the daily rollups (`ResponseRollup`) instead of the responses: the same rows
`aggregates.score_aggregates` produces (promoters, top boxes per CSAT scale, sums and sums of
squares), folded from the count per score value, so `scores_from_row` and every definition of
METRICS.md apply unchanged and the numbers are identical to a scan of the responses.

The rollup's day is the local calendar day of the organization's time zone, and every window is a
range of local days (`MetricFilters.window`), so a window is a range of rollup days. A segment
filter (a per-customer value) cannot be served from the rollups: `serves` says so and the caller
scans the responses.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from django.db import router
from django.db.models import F, QuerySet, Sum

from cxm.tenancy.models import Organization
from surveys.scoring import CES_AGREE_MIN, NPS_PASSIVE_MIN, NPS_PROMOTER_MIN, csat_top_min

from ..filters import MetricFilters
from ..models import ResponseRollup
from .aggregates import dimension_filtered, scores_from_row, survey_csat_scales
from .scores import rating_from_counts
from .trends import DIMENSIONS


def serves(filters: MetricFilters) -> bool:
    """Whether the rollups can answer views under these filters (everything but a segment)."""
    return not filters.segment


def rollups_for(*, organization: Organization, filters: MetricFilters, using: str) -> QuerySet[Any]:
    """Rollup rows of the filtered window (the local days from start to end, both included). Read
    where they are written: a recompute refreshes them just before, and a replica may lag (they are
    small: a few rows per day, survey, touchpoint, language and score)."""
    resolved = filters.resolved(organization)
    rows = (
        ResponseRollup.objects.using(router.db_for_write(ResponseRollup))
        .for_organization(organization)
        .filter(day__gte=resolved.start, day__lte=resolved.end)
    )
    return dimension_filtered(rows, filters)


class _Folder:
    """Folds (survey, kind, score, n) counts into one `score_aggregates()` row."""

    def __init__(self, scale_of: dict[int, int]) -> None:
        self.scale_of = scale_of
        # The scales `csat_scale_filters` names: 1–5 always, and every other scale a survey uses.
        self.scales = sorted({5, *scale_of.values()})

    def empty(self) -> dict[str, Any]:
        row: dict[str, Any] = dict.fromkeys(
            (
                "promoters",
                "passives",
                "detractors",
                "csat_n",
                "csat_top2",
                "ces_n",
                "ces_agree",
                "rating_n",
            ),
            0,
        )
        row.update(ces_sum=None, ces_sumsq=None, rating_sum=None)
        for scale in self.scales:
            row[f"csat_n_{scale}"] = 0
            row[f"csat_top_{scale}"] = 0
            row[f"csat_sum_{scale}"] = None
            row[f"csat_sumsq_{scale}"] = None
        return row

    @staticmethod
    def _add(row: dict[str, Any], key: str, value: float) -> None:
        row[key] = (row[key] or 0) + value

    def add(self, row: dict[str, Any], survey_id: int, kind: str, score: int, n: int) -> None:
        if kind == "nps":
            if score >= NPS_PROMOTER_MIN:
                row["promoters"] += n
            elif score >= NPS_PASSIVE_MIN:
                row["passives"] += n
            else:
                row["detractors"] += n
        elif kind == "csat":
            scale = self.scale_of.get(survey_id, 5)
            top = score >= csat_top_min(scale)
            row["csat_n"] += n
            row["csat_top2"] += n if top else 0
            row[f"csat_n_{scale}"] += n
            row[f"csat_top_{scale}"] += n if top else 0
            self._add(row, f"csat_sum_{scale}", score * n)
            self._add(row, f"csat_sumsq_{scale}", float(score * score * n))
        elif kind == "ces":
            row["ces_n"] += n
            row["ces_agree"] += n if score >= CES_AGREE_MIN else 0
            self._add(row, "ces_sum", score * n)
            self._add(row, "ces_sumsq", float(score * score * n))
        elif kind == "rating":
            row["rating_n"] += n
            self._add(row, "rating_sum", score * n)


def _folder(organization: Organization, using: str) -> _Folder:
    return _Folder(survey_csat_scales(organization=organization, using=using))


def score_summary(*, organization: Organization, filters: MetricFilters, using: str) -> dict[str, Any]:
    """`aggregates.score_summary` from the rollups."""
    folder = _folder(organization, using)
    row = folder.empty()
    counts = (
        rollups_for(organization=organization, filters=filters, using=using)
        .values_list("survey_id", "score_kind", "score")
        .annotate(total=Sum("n"))
        .order_by()
    )
    for survey_id, kind, score, n in counts:
        folder.add(row, survey_id, kind, score, n)
    return scores_from_row(row)


def _bucket(day: date, bucket: str) -> date:
    if bucket == "week":
        return day - timedelta(days=day.weekday())
    if bucket == "month":
        return day.replace(day=1)
    return day


def score_trend(
    *, organization: Organization, filters: MetricFilters, using: str, bucket: str | None = None
) -> list[dict[str, Any]]:
    """`trends.score_trend` from the rollups: the local day of a rollup row gives its day, week
    (starting Monday) or month."""
    bucket = bucket or filters.bucket
    folder = _folder(organization, using)
    rows: dict[date, dict[str, Any]] = {}
    counts = (
        rollups_for(organization=organization, filters=filters, using=using)
        .values_list("day", "survey_id", "score_kind", "score")
        .annotate(total=Sum("n"))
        .order_by()
    )
    for day, survey_id, kind, score, n in counts:
        period = _bucket(day, bucket)
        if period not in rows:
            rows[period] = folder.empty()
        folder.add(rows[period], survey_id, kind, score, n)
    return [{"period": period.isoformat(), **scores_from_row(rows[period])} for period in sorted(rows)]


def score_breakdown(
    *, organization: Organization, filters: MetricFilters, using: str, dimension: str
) -> list[dict[str, Any]]:
    """`trends.score_breakdown` from the rollups, for the dimensions a rollup row carries (survey,
    touchpoint, its stage and channel, language). The database orders the keys, as in the scan."""
    key_field, label_field = DIMENSIONS[dimension]
    folder = _folder(organization, using)
    counts = (
        rollups_for(organization=organization, filters=filters, using=using)
        .annotate(key=F(key_field), label=F(label_field))
        .values_list("key", "label", "survey_id", "score_kind", "score")
        .annotate(total=Sum("n"))
        .order_by("key")
    )
    result: list[dict[str, Any]] = []
    groups: dict[Any, tuple[Any, dict[str, Any]]] = {}
    order: list[Any] = []
    for key, label, survey_id, kind, score, n in counts:
        if key not in groups:
            groups[key] = (label, folder.empty())
            order.append(key)
        folder.add(groups[key][1], survey_id, kind, score, n)
    for key in order:
        label, row = groups[key]
        result.append(
            {"key": key, "label": label if label not in (None, "") else None, **scores_from_row(row)}
        )
    return result


def score_distribution(*, organization: Organization, filters: MetricFilters, using: str) -> dict[str, Any]:
    """`aggregates.score_distribution` from the rollups."""
    counts: Iterable[tuple[str, int, int]] = (
        rollups_for(organization=organization, filters=filters, using=using)
        .values_list("score_kind", "score")
        .annotate(total=Sum("n"))
        .order_by()
    )
    ranges = {"nps": range(0, 11), "csat": range(1, 6), "ces": range(1, 8), "rating": range(1, 6)}
    result: dict[str, Any] = {kind: {str(v): 0 for v in values} for kind, values in ranges.items()}
    for kind, score, n in counts:
        if kind in result:
            result[kind][str(score)] = n
    result["rating_summary"] = rating_from_counts(
        distribution={int(k): v for k, v in result["rating"].items()}
    )
    return result
