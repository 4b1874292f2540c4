"""Reads the text pages need beyond `feedback.selectors`: the dashboard filters as text filters, the
word list of a language, the top themes per touchpoint, and the choices of the explorer's filters."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import Avg, Count

from cxm.tenancy.models import Organization

from . import selectors
from .models import FeedbackRecord, TextAnalysis
from .selectors import TextFilters, mentions, term_document_counts


def text_filters_from_metric(*, organization: Organization, filters: Any, **extra: Any) -> TextFilters:
    """The dashboard filters (`metrics.filters.MetricFilters`, resolved to the organization's window)
    as text filters; a stage narrows to its touchpoints. A customer segment is the caller's to resolve
    (`customers=`, a subquery of customer ids: segments are the metrics layer's)."""
    resolved = filters.resolved(organization)
    touchpoints: tuple[int, ...] | None = None
    if filters.touchpoint:
        touchpoints = (filters.touchpoint,)
    if filters.stage:
        in_stage = selectors.stage_touchpoint_ids(organization=organization, stage_id=filters.stage)
        touchpoints = tuple(t for t in touchpoints if t in in_stage) if touchpoints else in_stage
    return TextFilters(
        start=resolved.start,
        end=resolved.end,
        touchpoints=touchpoints,
        channel=filters.channel,
        survey=filters.survey,
        locale=filters.locale,
        **extra,
    )


def word_weights(
    *, organization: Organization, filters: TextFilters, language: str, limit: int = 40
) -> list[dict[str, Any]]:
    """The most frequent words of one language's comments (comments containing each), heaviest first,
    with a weight 1–5 for the word list's type size. Two queries."""
    counts, _documents = term_document_counts(
        organization=organization, filters=TextFilters(**{**filters.__dict__, "language": language})
    )
    top = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:limit]
    if not top:
        return []
    high, low = top[0][1], top[-1][1]
    span = max(high - low, 1)
    return [{"term": term, "n": n, "weight": 1 + round(4 * (n - low) / span)} for term, n in top]


def top_themes_by_touchpoint(
    *,
    organization: Organization,
    touchpoint_ids: Sequence[int],
    filters: TextFilters | None = None,
    limit: int = 3,
) -> dict[int, list[dict[str, Any]]]:
    """Per touchpoint: its most mentioned themes (comments mentioning each, their share of the
    touchpoint's comments and the average sentiment). A fixed number of queries whatever the
    touchpoints: the served version, the comments and the mentions per touchpoint, the theme names."""
    found: dict[int, list[dict[str, Any]]] = {}
    if not touchpoint_ids or not selectors.served_version(organization=organization):
        return found  # nothing analysed yet: one query
    base = TextFilters(**{**(filters or TextFilters()).__dict__, "touchpoints": tuple(touchpoint_ids)})
    totals = dict(
        selectors.analyses(organization=organization, filters=base)
        .values("touchpoint_id")
        .annotate(n=Count("id"))
        .values_list("touchpoint_id", "n")
    )
    rows: list[Any] = list(
        mentions(organization=organization, filters=base)
        .values("touchpoint_id", "theme")
        .annotate(n=Count("analysis", distinct=True), avg=Avg("score"))
        .order_by("touchpoint_id", "-n", "theme")
    )
    names = theme_names(organization=organization) if rows else {}
    for row in rows:
        items = found.setdefault(row["touchpoint_id"], [])
        if len(items) < limit:
            total = totals.get(row["touchpoint_id"]) or 0
            items.append(
                {
                    "theme": row["theme"],
                    "names": names.get(row["theme"], (row["theme"], row["theme"])),
                    "mentions": row["n"],
                    "share": row["n"] / total if total else None,
                    "avg_sentiment": row["avg"],
                }
            )
    return found


def theme_names(*, organization: Organization) -> dict[str, tuple[str, str]]:
    """Theme key → (English name, Chinese name) of the organization's taxonomy."""
    taxonomy = selectors.taxonomy_of(organization=organization)
    return {theme.key: (theme.name_en, theme.name_zh) for theme in taxonomy.themes}


def feedback_sources(*, organization: Organization) -> list[str]:
    """The feedback sources the organization's records name (for the explorer's source filter)."""
    return list(
        FeedbackRecord.objects.for_organization(organization)
        .exclude(source="")
        .values_list("source", flat=True)
        .distinct()
        .order_by("source")[:100]
    )


def analysed_count(*, organization: Organization) -> int:
    return (
        TextAnalysis.objects.for_organization(organization)
        .filter(version=selectors.served_version(organization=organization))
        .count()
    )
