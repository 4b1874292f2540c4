"""New data while the broker is down: the signal's sender is not failed, the dashboards stay marked
stale in the database, and beat's sweep queues their recompute once the broker is back."""

from __future__ import annotations

import pytest

from metrics.models import RecomputeState
from metrics.tasks import recompute_all_organizations
from surveys.signals import response_recorded
from tests.workers import send_to_a_dead_broker

pytestmark = pytest.mark.django_db


def test_a_recompute_that_cannot_be_queued_is_queued_by_the_sweep_later(
    organization, monkeypatch, django_capture_on_commit_callbacks, caplog
):
    send_to_a_dead_broker(monkeypatch)
    with caplog.at_level("ERROR"), django_capture_on_commit_callbacks(execute=True) as callbacks:
        response_recorded.send(sender=None, organization_id=organization.pk)  # raises nothing
    # the recompute's send was tried, and failed (the text analysis tries its own beside it)
    assert len([c for c in callbacks if "recompute_request" in c.__qualname__]) == 1
    assert any("on_commit" in r.getMessage() or r.exc_info for r in caplog.records)
    state = RecomputeState.objects.unscoped().get(organization=organization)
    assert state.stale_since is not None and state.finished_at is None

    from cxm.celery import app

    monkeypatch.setitem(app.conf, "task_always_eager", True)  # the broker is back (here: in-process)
    assert recompute_all_organizations() == 1
    state.refresh_from_db()
    assert state.stale_since is None and state.finished_at is not None


def test_a_large_filtered_view_with_the_broker_down_answers_and_tries_again_next_visit(
    organization, owner_client, monkeypatch, settings
):
    from django.core.cache import cache

    from metrics import services
    from metrics.filters import MetricFilters
    from metrics.tasks import job_cache_key

    from .data import seed_dataset

    seed_dataset(organization, customers=20)
    services.dashboards_recompute(organization=organization)
    settings.METRICS_ON_DEMAND_MAX_ROWS = 0  # every filtered view goes to a worker
    send_to_a_dead_broker(monkeypatch)
    response = owner_client.get("/dashboards/?bucket=day")
    assert response.status_code == 200
    assert 'role="progressbar"' in response.content.decode()
    key = job_cache_key(organization.pk, "overview", MetricFilters.from_params({"bucket": "day"}).key)
    assert cache.get(key) is None  # not marked queued: the next visit sends it again
