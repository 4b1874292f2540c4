"""Overview: NPS, CSAT and CES with their intervals and the change from the previous window, trends,
the NPS distribution, the latest comments and scores by survey and language."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cxm.core.labels import language_label
from cxm.tenancy.models import Organization

from ..computations.aggregates import responses_for
from ..filters import MetricFilters
from ..tables import Table, _score_cells, _score_headers, _score_rows
from .common import _window_payload, period_comparison, score_source
from .registry import Dashboard, register


def build_overview(
    *, organization: Organization, filters: MetricFilters, using: str, context: dict[str, Any]
) -> dict[str, Any]:
    scores = score_source(filters, context)
    current = scores.score_summary(organization=organization, filters=filters, using=using)
    previous = scores.score_summary(
        organization=organization, filters=filters.previous(organization), using=using
    )
    comments = list(
        responses_for(organization=organization, filters=filters, using=using)
        .exclude(comment="")
        .order_by("-submitted_at", "-id")
        .values("id", "score_kind", "score", "comment", "locale", "submitted_at", "survey__name")[:10]
    )
    for comment in comments:
        comment["submitted_at"] = timezone.localtime(comment["submitted_at"], organization.tzinfo).strftime(
            "%Y-%m-%d %H:%M"
        )
    return {
        "window": _window_payload(organization, filters),
        "summary": current,
        "previous": previous,
        "comparison": period_comparison(current, previous),
        "trend": scores.score_trend(organization=organization, filters=filters, using=using),
        "distribution": scores.score_distribution(organization=organization, filters=filters, using=using),
        "comments": comments,
        "by_survey": scores.score_breakdown(
            organization=organization, filters=filters, using=using, dimension="survey"
        ),
        "by_locale": scores.score_breakdown(
            organization=organization, filters=filters, using=using, dimension="locale"
        ),
    }


def tables(payload: dict[str, Any], currency: str = "") -> list[Table]:
    trend = [[row["period"], *_score_cells(row)] for row in payload["trend"]]
    return [
        Table("trend", _("Scores over time"), _score_headers(_("Period")), trend),
        Table("by_survey", _("By survey"), _score_headers(_("Survey")), _score_rows(payload["by_survey"])),
        Table(
            "by_locale",
            _("By language"),
            _score_headers(_("Language")),
            _score_rows(payload["by_locale"], language_label),
        ),
        Table(
            "comments",
            _("Latest comments"),
            [_("Submitted"), _("Survey"), _("Score type"), _("Score"), _("Comment")],
            [
                [c["submitted_at"], c["survey__name"], c["score_kind"].upper(), c["score"], c["comment"]]
                for c in payload["comments"]
            ],
        ),
    ]


register(
    Dashboard(
        key="overview",
        title=gettext_lazy("Overview"),
        order=10,
        path="",
        builder=build_overview,
        tables=tables,
        charts=("nps-trend", "csat-ces-trend", "volume", "distribution", "categories"),
    )
)
