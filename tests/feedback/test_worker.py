"""A real Celery worker process on Redis analyses a new response's comment."""

from __future__ import annotations

import pytest

from feedback.models import TextAnalysis
from tests.journeys.test_import_worker import _database_url
from tests.waiting import GENEROUS, wait_until
from tests.workers import celery_worker

from .helpers import Comments


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_analyses_a_new_response(postgres, redis_url, organization, settings):
    settings.FEEDBACK_ANALYSE_ON_SIGNAL = False  # this process runs tasks eagerly; the worker must do it
    response = Comments(organization).add(2, "物流很快但是东西坏了")
    assert not TextAnalysis.objects.for_organization(organization).exists()

    with celery_worker(redis_url=redis_url, DATABASE_URL=_database_url()) as (app, queue):
        result = app.send_task("feedback.tasks.analyse_comments", args=[organization.pk], queue=queue)
        wait_until(
            lambda: TextAnalysis.objects.for_organization(organization).filter(response=response).exists(),
            timeout=GENEROUS,
            message="the worker did not analyse the response",
        )
        assert result.get(timeout=GENEROUS)["analysed"] == 1

    analysis = TextAnalysis.objects.for_organization(organization).get(response=response)
    assert analysis.language == "zh"
    assert {m.theme: m.sentiment for m in analysis.mentions.all()} == {
        "delivery": "positive",
        "product_quality": "negative",
    }
