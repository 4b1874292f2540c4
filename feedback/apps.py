from __future__ import annotations

import logging
from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

logger = logging.getLogger(__name__)


def _comments_arrived(sender: Any = None, organization_id: int | None = None, **kwargs: Any) -> None:
    """New or updated responses (a submission, a CSV import batch): queue the analysis of their comments.
    Never lets a text failure break the sender's write, which has committed."""
    if organization_id is None:
        return
    try:
        from .services import analysis_request

        analysis_request(organization_id=organization_id)
    except Exception:
        logger.exception("feedback: could not queue the analysis for organization %s", organization_id)


def _customer_erased(
    sender: Any = None, organization_id: int = 0, customer_id: int = 0, **kwargs: Any
) -> None:
    """Receiver of `journeys.signals.customer_erased`: their comments leave the text layer."""
    from .services import customer_text_scrub

    customer_text_scrub(organization_id=organization_id, customer_id=customer_id)


class FeedbackConfig(AppConfig):
    name = "feedback"
    verbose_name = _("Feedback and text analytics")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from journeys.signals import customer_erased
        from surveys.signals import response_recorded

        from . import imports, tasks  # noqa: F401

        response_recorded.connect(_comments_arrived, dispatch_uid="feedback-analyse-on-response")
        customer_erased.connect(_customer_erased, dispatch_uid="feedback-scrub-erased-customer")
        imports.register()
