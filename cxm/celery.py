"""The Celery app. Tasks are autodiscovered from each app's tasks.py; the beat schedule lives here."""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cxm.settings.local")

# Without a broker, tasks run in background threads of the process that queues them (cxm.core.background).
app = Celery("cxm", task_cls="cxm.core.background:BackgroundTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Periodic work, in one place. Each entry expires before its next run so backlogs never pile up.
app.conf.beat_schedule = {
    "metrics-recompute-stale": {
        "task": "metrics.tasks.recompute_all_organizations",
        "schedule": crontab(minute="*/15"),
        "options": {"expires": 14 * 60, "queue": "metrics"},
    },
    "journeys-sweep-import-jobs": {
        "task": "journeys.tasks.sweep_import_jobs",
        "schedule": 120.0,
        "options": {"expires": 110},
    },
    "surveys-sweep-invitations": {
        "task": "surveys.tasks.sweep_invitations",
        "schedule": 120.0,
        "options": {"expires": 110},
    },
    "loop-sweep-webhook-deliveries": {
        "task": "loop.tasks.sweep_webhook_deliveries",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    "loop-notify-sweep": {
        "task": "loop.tasks.notify_sweep",
        "schedule": 60.0,
        "options": {"expires": 55, "queue": "notifications"},
    },
    "loop-notify-digests": {
        "task": "loop.tasks.notify_digests",
        "schedule": crontab(minute=5),
        "options": {"expires": 55 * 60, "queue": "notifications"},
    },
    "loop-escalate-overdue-cases": {
        "task": "loop.tasks.escalate_overdue_cases",
        "schedule": 300.0,
        "options": {"expires": 290},
    },
    "feedback-sweep-text-analysis": {
        "task": "feedback.tasks.sweep_text_analysis",
        "schedule": 60.0,
        "options": {"expires": 55, "queue": "metrics"},
    },
    "surveys-seal-responses": {
        "task": "surveys.tasks.seal_responses",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    "delighted-send-due-survey-requests": {
        "task": "delighted.tasks.send_due_survey_requests",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    "core-heartbeat": {
        "task": "cxm.core.tasks.heartbeat",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
}
