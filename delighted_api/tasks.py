from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(name="delighted.tasks.send_due_survey_requests", time_limit=5 * 60)
def send_due_survey_requests() -> dict[str, int]:
    """Beat: autopilot turns that have come are scheduled, and due survey requests become invitations
    (or are skipped by the fatigue rules). Idempotent: each request is claimed while pending."""
    return services.survey_requests_send_due()
