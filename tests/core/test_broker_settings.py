"""The broker hands an unacknowledged task to another worker after `visibility_timeout`: it must be
longer than any task may run, or a long CSV import starts a second time while the first still runs."""

from __future__ import annotations

from django.conf import settings


def _time_limits() -> dict[str, float]:
    from cxm.celery import app

    app.loader.import_default_modules()  # every app's tasks.py
    limits = {name: task.time_limit for name, task in app.tasks.items() if not name.startswith("celery.")}
    return {name: limit or settings.CELERY_TASK_TIME_LIMIT for name, limit in limits.items()}


def test_visibility_timeout_is_longer_than_every_task_time_limit():
    limits = _time_limits()
    assert limits["journeys.tasks.import_csv_file"] == 2 * 60 * 60  # the longest: it is in the list
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    assert visibility > max(limits.values()), sorted(limits.items(), key=lambda item: -item[1])[:3]


def test_sending_a_task_gives_up_within_seconds_when_the_broker_is_down():
    policy = settings.CELERY_TASK_PUBLISH_RETRY_POLICY
    assert policy["max_retries"] <= 3 and policy["interval_max"] <= 1
    assert settings.CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS["retry_policy"] == policy
    assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["socket_connect_timeout"] <= 5
