"""The embedded default (no broker): new data recomputes in a background thread of the process; a
dashboard visit never computes, it serves the last snapshot and says that an update is running."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from metrics import services
from metrics.models import RecomputeState, Snapshot
from metrics.policy import recompute_policy
from surveys.signals import response_recorded

from .data import customer, order, response, survey

DEADLINE = 120
pytestmark = pytest.mark.django_db(transaction=True)


def _data(org, scores=(10, 3)):
    s = survey(org)
    c = customer(org)
    now = timezone.now()
    for days, score in enumerate(scores, start=1):
        response(org, s, "nps", score, now - timedelta(days=days), c)
    order(org, c, now - timedelta(days=3), "42.00")
    return s, c


def _overview(org):
    return Snapshot.objects.unscoped().get(organization=org, dashboard="overview", filters_key="default")


@pytest.fixture
def held_compute(monkeypatch):
    """Hold every recompute in its compute phase until `release` is set."""
    started, release = threading.Event(), threading.Event()
    original = services.dashboards_compute

    def held(**kwargs):
        started.set()
        assert release.wait(DEADLINE)
        return original(**kwargs)

    monkeypatch.setattr(services.snapshots, "dashboards_compute", held)
    yield started, release
    release.set()


def test_new_data_recomputes_in_the_background_while_the_page_serves_the_snapshot(
    background_tasks, organization, owner_client, held_compute
):
    started, release = held_compute
    _data(organization)
    release.set()
    services.recompute_run(organization_id=organization.pk)  # the first snapshot
    before = _overview(organization)
    assert before.payload["summary"]["nps"]["n"] == 2
    started.clear()
    release.clear()
    s = survey(organization)
    response(organization, s, "nps", 10, timezone.now() - timedelta(hours=1))
    response_recorded.send(sender=None, organization_id=organization.pk, response_ids=[1])  # returns at once
    assert started.wait(DEADLINE)  # the recompute runs, in a background thread
    state = RecomputeState.objects.unscoped().get(organization=organization)
    assert state.running_since is not None and state.runs == 1

    with CaptureQueriesContext(connection) as queries:
        page = owner_client.get("/dashboards/")
    html = page.content.decode()
    assert page.status_code == 200 and "Recomputing…" in html
    assert f'data-computed-at="{before.computed_at.isoformat()}"' in html and "data-poll" in html
    assert not [q for q in queries.captured_queries if "surveys_response" in q["sql"]]  # nothing computed
    status = owner_client.get("/dashboards/status/?dashboard=overview").json()
    assert status["running"] is True and status["computed_at"] == before.computed_at.isoformat()

    release.set()
    assert background_tasks.wait_idle(DEADLINE)
    after = _overview(organization)
    assert after.computed_at > before.computed_at and after.payload["summary"]["nps"]["n"] == 3
    state.refresh_from_db()
    assert state.runs == 2 and state.running_since is None and state.stale_since is None
    html = owner_client.get("/dashboards/").content.decode()
    assert "Recomputing…" not in html and "a recompute is queued" not in html
    status = owner_client.get("/dashboards/status/?dashboard=overview").json()
    assert status["computed_at"] == after.computed_at.isoformat() and status["running"] is False


def test_a_burst_of_answers_makes_one_background_run(background_tasks, organization):
    _data(organization)
    for _ in range(20):
        response_recorded.send(sender=None, organization_id=organization.pk, response_ids=[1])
    assert background_tasks.wait_idle(DEADLINE)
    assert RecomputeState.objects.unscoped().get(organization=organization).runs == 1
    assert _overview(organization).payload["summary"]["nps"]["n"] == 2


def test_the_first_visit_queues_the_first_computation(
    background_tasks, organization, owner_client, held_compute
):
    started, release = held_compute
    _data(organization)
    html = owner_client.get("/dashboards/").content.decode()
    assert "These numbers are being computed. The page refreshes when they are ready." in html
    assert "data-poll" in html
    assert started.wait(DEADLINE)
    assert not Snapshot.objects.unscoped().filter(organization=organization).exists()
    release.set()
    assert background_tasks.wait_idle(DEADLINE)
    assert _overview(organization).payload["summary"]["nps"]["n"] == 2
    assert "data-chart" in owner_client.get("/dashboards/").content.decode()


def test_a_visit_requeues_a_recompute_that_was_lost(background_tasks, organization, owner_client, settings):
    """Stale dashboards whose queued run never started (the process stopped, or signals are off)."""
    _data(organization)
    services.recompute_run(organization_id=organization.pk)
    before = _overview(organization).computed_at
    long_ago = timezone.now() - timedelta(minutes=10)
    RecomputeState.objects.unscoped().filter(organization=organization).update(
        stale_since=long_ago, requested_at=long_ago
    )
    html = owner_client.get("/dashboards/").content.decode()
    assert "a recompute is queued" in html or "Recomputing…" in html
    assert background_tasks.wait_idle(DEADLINE)
    state = RecomputeState.objects.unscoped().get(organization=organization)
    assert (state.runs, state.last_error, state.stale_since) == (2, "", None)
    assert _overview(organization).computed_at > before
    # Queued lately (inside the debounce and its grace): a visit does not queue it twice.
    now = timezone.now()
    RecomputeState.objects.unscoped().filter(organization=organization).update(
        stale_since=now, requested_at=now
    )
    assert services.recompute_queue_if_due(organization_id=organization.pk) is False
    # Fresh and not stale: nothing is due.
    RecomputeState.objects.unscoped().filter(organization=organization).update(
        stale_since=None, requested_at=None
    )
    assert services.recompute_queue_if_due(organization_id=organization.pk) is False
    # Not refreshed for the policy's refresh_after (no beat without a broker): the visit refreshes it.
    RecomputeState.objects.unscoped().filter(organization=organization).update(
        finished_at=now - recompute_policy().refresh_after - timedelta(minutes=1)
    )
    assert services.recompute_queue_if_due(organization_id=organization.pk) is True
    assert background_tasks.wait_idle(DEADLINE)


def test_recompute_now_skips_the_debounce(background_tasks, organization, owner_client, settings):
    settings.METRICS_RECOMPUTE_DEBOUNCE = 3600
    _data(organization)
    services.recompute_run(organization_id=organization.pk)
    before = _overview(organization).computed_at
    # Store the session first: the in-memory test database (shared cache) does not wait on table locks.
    owner_client.get("/dashboards/")
    r = owner_client.post("/dashboards/recompute/", {"next": "/dashboards/"})
    assert r.status_code == 302
    assert background_tasks.wait_idle(DEADLINE)  # an hour-long countdown would not be idle
    state = RecomputeState.objects.unscoped().get(organization=organization)
    assert (state.runs, state.last_error) == (2, "")
    assert _overview(organization).computed_at > before


def test_large_filtered_views_are_computed_in_the_background(
    background_tasks, organization, owner_client, settings, held_compute
):
    started, release = held_compute
    settings.METRICS_ON_DEMAND_MAX_ROWS = 0
    _data(organization)
    html = owner_client.get("/dashboards/?bucket=day").content.decode()
    assert 'role="progressbar"' in html and "data-poll" in html
    assert started.wait(DEADLINE)
    status = owner_client.get("/dashboards/status/?dashboard=overview&bucket=day").json()
    assert status["ready"] is False
    release.set()
    assert background_tasks.wait_idle(DEADLINE)
    status = owner_client.get("/dashboards/status/?dashboard=overview&bucket=day").json()
    assert status["ready"] is True and status["progress"] == 1.0
    html = owner_client.get("/dashboards/?bucket=day").content.decode()
    assert "data-chart" in html and re.search(r'data-computed-at="\d{4}-', html)
