"""A real Celery worker process on Redis: send a task, get its result."""

import pytest

from tests.waiting import GENEROUS
from tests.workers import celery_worker


@pytest.mark.worker
def test_real_worker_runs_a_task(redis_url):
    with celery_worker(redis_url=redis_url) as (client, queue):
        result = client.send_task("cxm.core.tasks.add", args=[2, 40], queue=queue)
        assert result.get(timeout=GENEROUS) == 42
