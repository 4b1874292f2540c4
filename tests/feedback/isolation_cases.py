"""Cross-organization cases for feedback and text routes (see tests/isolation.py)."""

from __future__ import annotations

from typing import Any

from tests.isolation import EXEMPT_MODELS, EXEMPT_ROUTES, RouteCase, register


def _theme(org: Any) -> dict[str, Any]:
    from feedback.services import taxonomy_theme_put

    taxonomy_theme_put(organization=org, key=None, data={"key": f"theirs-{org.pk}", "phrases_en": ["theirs"]})
    return {"key": f"theirs-{org.pk}"}


def _comment(org: Any) -> dict[str, Any]:
    from django.utils import timezone

    from feedback.models import FeedbackRecord
    from feedback.services import text_pending_analyse

    FeedbackRecord.objects.create(
        organization=org,
        external_id="theirs",
        text="delivery was slow",
        channel="chat",
        occurred_at=timezone.now(),
    )
    text_pending_analyse(organization_id=org.pk)
    return {"kind": "feedback", "ref": "theirs"}


register(
    "api-text-taxonomy-theme",
    RouteCase(_theme, models=("feedback.TextSettings",), methods=("GET", "PUT", "DELETE")),
)
register(
    "api-text-comment",
    RouteCase(_comment, models=("feedback.FeedbackRecord", "feedback.TextAnalysis", "feedback.ThemeMention")),
)
EXEMPT_ROUTES.update(
    {
        "explorer-export": "its parameter is the file format (csv or xlsx), not an object; another "
        "organization's comments are never in it (tests/feedback/test_pages.py)",
    }
)
EXEMPT_MODELS.update(
    {
        "feedback.Correction": "listed and created only through /text/corrections, scoped to the caller's "
        "organization; correcting another organization's comment is a 404 (tests/feedback/test_api.py)",
    }
)
