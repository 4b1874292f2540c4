"""Text: what customers say. Sentiment over time, the themes table (mentions, share of responses with a
comment, average sentiment, NPS of those who mention the theme against the others and the theme's
impact in NPS points, METRICS.md), themes over time, emerging terms and a word list per language.

The figures come from the feedback selectors (the served version of the analyses), under the standard
dashboard filters; a customer segment narrows to the comments of its customers (survey respondents and
feedback records' customers), the customers the other dashboards count in it."""

from __future__ import annotations

from typing import Any

from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from cxm.core.routers import reads_on
from cxm.tenancy.models import Organization
from feedback import page_selectors, selectors

from ..filters import MetricFilters
from ..tables import Table, _pct, _r
from .common import _window_payload
from .registry import Dashboard, register

TREND_THEMES = 8  # themes drawn over time: the most mentioned


def build_text(
    *, organization: Organization, filters: MetricFilters, using: str, context: dict[str, Any]
) -> dict[str, Any]:
    # The feedback selectors take no `using`: their ORM reads are routed to it for the whole build.
    with reads_on(using):
        return _build_text(organization=organization, filters=filters)


def _build_text(*, organization: Organization, filters: MetricFilters) -> dict[str, Any]:
    from ..selectors import segment_customer_ids  # metrics.selectors imports the dashboards

    text_filters = page_selectors.text_filters_from_metric(
        organization=organization,
        filters=filters,
        customers=(
            segment_customer_ids(organization=organization, segment=filters.segment)
            if filters.segment
            else None
        ),
    )
    trend = selectors.sentiment_trend(organization=organization, filters=text_filters, bucket=filters.bucket)
    themes = selectors.themes_table(organization=organization, filters=text_filters)
    top = [row["theme"] for row in themes["themes"] if row["mentions"]][:TREND_THEMES]
    theme_trend = [
        row
        for row in selectors.theme_trend(
            organization=organization, filters=text_filters, bucket=filters.bucket
        )
        if row["theme"] in top
    ]
    totals = {key: sum(row[key] for row in trend) for key in ("comments", "positive", "neutral", "negative")}
    weighted = sum((row["avg_sentiment"] or 0) * row["comments"] for row in trend)
    totals["avg_sentiment"] = weighted / totals["comments"] if totals["comments"] else None
    return {
        "window": _window_payload(organization, filters),
        "summary": totals,
        "responses_with_comment": themes["responses_with_comment"],
        "nps": themes["nps"],
        "sentiment_trend": trend,
        "themes": themes["themes"],
        "trend_themes": top,
        "theme_trend": theme_trend,
        "emerging": selectors.emerging(organization=organization, filters=text_filters)["terms"],
        "words": {
            language: page_selectors.word_weights(
                organization=organization, filters=text_filters, language=language
            )
            for language in ("zh", "en")
        },
    }


def theme_name(row: dict[str, Any]) -> str:
    """The theme's name in the active language."""
    return row["name_zh"] if (get_language() or "").startswith("zh") else row["name_en"]


def tables(payload: dict[str, Any], currency: str = "") -> list[Table]:
    themes = [
        [
            theme_name(row),
            row["mentions"],
            _pct(row["share"]),
            _r(row["avg_sentiment"], 2),
            row["positive"],
            row["neutral"],
            row["negative"],
            _r(row["nps_mentioners"]),
            _r(row["nps_others"]),
            _r(row["impact"]),
        ]
        for row in payload["themes"]
        if row["mentions"]
    ]
    trend = [
        [
            row["bucket"],
            row["comments"],
            row["positive"],
            row["neutral"],
            row["negative"],
            _r(row["avg_sentiment"], 2),
        ]
        for row in payload["sentiment_trend"]
    ]
    emerging = [
        [
            term["term"],
            term["current_count"],
            term["previous_count"],
            _pct(term["current_share"]),
            _pct(term["previous_share"]),
            _r(term["p_value"], 4),
        ]
        for term in payload["emerging"]
    ]
    return [
        Table(
            "themes",
            _("Themes"),
            [
                _("Theme"),
                _("Mentions"),
                _("Share of responses with a comment (%)"),
                _("Average sentiment"),
                _("Positive"),
                _("Neutral"),
                _("Negative"),
                _("NPS of those who mention it"),
                _("NPS of the others"),
                _("Impact (NPS points)"),
            ],
            themes,
        ),
        Table(
            "sentiment",
            _("Sentiment over time"),
            [_("Period"), _("Comments"), _("Positive"), _("Neutral"), _("Negative"), _("Average sentiment")],
            trend,
        ),
        Table(
            "emerging",
            _("Emerging terms"),
            [
                _("Term"),
                _("Comments now"),
                _("Comments before"),
                _("Share now (%)"),
                _("Share before (%)"),
                _("p-value"),
            ],
            emerging,
        ),
    ]


register(
    Dashboard(
        key="text",
        title=gettext_lazy("Text"),
        order=60,
        builder=build_text,
        tables=tables,
        charts=("text-sentiment", "text-themes", "text-theme-trend"),
        scripts=("feedback/text_dashboard.js",),
    )
)
