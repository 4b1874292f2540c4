"""Recompute: snapshots replaced atomically, one run per organization, debounced bursts, signals,
beat, replica routing, and a real worker on Redis."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone

from journeys.signals import customer_data_changed
from metrics import selectors, services
from metrics.dashboards import registry
from metrics.models import CustomerValue, RecomputeState, Snapshot
from metrics.services.customer_summaries import customer_summaries_refresh
from metrics.tasks import recompute_all_organizations
from surveys.signals import response_recorded
from tests.factories import OrganizationFactory
from tests.waiting import GENEROUS
from tests.workers import celery_worker

from .data import customer, order, response, seed_dataset, survey

ROOT = Path(__file__).resolve().parents[2]
UTC = ZoneInfo("UTC")


def _small_data(org):
    s = survey(org)
    now = timezone.now()
    c = customer(org)
    response(org, s, "nps", 10, now - timedelta(days=2), c, comment="Lovely")
    response(org, s, "nps", 3, now - timedelta(days=1))
    order(org, c, now - timedelta(days=3), "42.00")
    return s, c


@pytest.mark.django_db
def test_recompute_stores_every_dashboard_and_customer_values(organization):
    _s, c = _small_data(organization)
    services.dashboards_recompute(organization=organization)
    snapshots = {s.dashboard: s for s in Snapshot.objects.unscoped().filter(organization=organization)}
    assert set(snapshots) == {"overview", "journey", "retention", "value", "drivers", "text"}
    assert snapshots["overview"].payload["summary"]["nps"]["nps"] == 0.0  # one promoter, one detractor
    assert snapshots["overview"].payload["comments"][0]["comment"] == "Lovely"
    values = selectors.customer_segment(organization=organization, customer=c)
    assert values["historical_clv"] == 42
    assert values["latest_nps"] == {
        "score": 10,
        "category": "promoter",
        "submitted_at": values["latest_nps"]["submitted_at"],
    }
    assert values["lifecycle_stage"] == "new" and values["value_tier"] == "high"
    # a single buyer sits at percentile ½ on R and F: scores 3, 3 → "need attention"
    assert values["rfm"]["segment"] == "need_attention"
    assert CustomerValue.objects.unscoped().filter(organization=organization).count() == 1


@pytest.mark.django_db
def test_customer_segment_before_any_recompute(organization):
    c = customer(organization)
    values = selectors.customer_segment(organization=organization, customer=c)
    assert (
        values["rfm"]["segment"] == "" and values["predicted_clv"] is None and values["computed_at"] is None
    )


@pytest.mark.django_db
def test_interrupted_recompute_leaves_the_previous_snapshots(organization, monkeypatch):
    _small_data(organization)
    services.recompute_run(organization_id=organization.pk)
    before = {
        s.dashboard: (s.computed_at, s.payload)
        for s in Snapshot.objects.unscoped().filter(organization=organization)
    }
    values_before = CustomerValue.objects.unscoped().filter(organization=organization).count()
    response(organization, survey(organization, "New"), "nps", 10, timezone.now())

    def crash(**kwargs):
        raise RuntimeError("worker killed midway")

    # interrupted while computing (the last dashboard)…
    monkeypatch.setitem(registry._registry, "drivers", replace(registry.require("drivers"), builder=crash))
    with pytest.raises(RuntimeError):
        services.recompute_run(organization_id=organization.pk)
    after = {
        s.dashboard: (s.computed_at, s.payload)
        for s in Snapshot.objects.unscoped().filter(organization=organization)
    }
    assert after == before
    state = RecomputeState.objects.unscoped().get(organization=organization)
    assert (
        state.running_since is None and "worker killed" in state.last_error and state.stale_since is not None
    )
    monkeypatch.undo()

    # …and while writing: the customer values written first are rolled back with the snapshots
    original = services.snapshots_store

    def half_written(**kwargs):
        original(**{**kwargs, "payloads": {"overview": kwargs["payloads"]["overview"]}})
        raise RuntimeError("connection lost")

    monkeypatch.setattr(services.snapshots, "snapshots_store", half_written)
    CustomerValue.objects.unscoped().filter(organization=organization).update(rfm_segment="marker")
    with pytest.raises(RuntimeError):
        services.recompute_run(organization_id=organization.pk)
    after = {
        s.dashboard: (s.computed_at, s.payload)
        for s in Snapshot.objects.unscoped().filter(organization=organization)
    }
    assert after == before
    assert (
        CustomerValue.objects.unscoped().filter(organization=organization, rfm_segment="marker").count()
        == values_before
    )


@pytest.mark.django_db
def test_a_second_request_while_running_does_not_start_a_second_run(organization):
    token = services.recompute_claim(organization_id=organization.pk)
    assert token
    assert services.recompute_claim(organization_id=organization.pk) is None
    assert services.recompute_run(organization_id=organization.pk) == "busy"
    assert not Snapshot.objects.unscoped().filter(organization=organization).exists()
    services.recompute_release(organization_id=organization.pk, token=token, duration_ms=1)
    assert services.recompute_run(organization_id=organization.pk) == "done"
    assert RecomputeState.objects.unscoped().get(organization=organization).runs == 2


@pytest.mark.django_db
def test_a_stale_lock_of_a_dead_worker_is_taken_over(organization):
    RecomputeState.objects.create(
        organization=organization, running_since=timezone.now() - timedelta(hours=1), run_token="dead"
    )
    assert services.recompute_run(organization_id=organization.pk) == "done"


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_recomputes_produce_one_run(postgres, monkeypatch):
    org = OrganizationFactory(slug="concurrent")
    original = services.dashboards_recompute
    started, release = threading.Event(), threading.Event()

    def slow(**kwargs):
        started.set()
        release.wait(GENEROUS)
        return original(**kwargs)

    monkeypatch.setattr(services.recompute, "dashboards_recompute", slow)
    results = []

    def run():
        try:
            results.append(services.recompute_run(organization_id=org.pk))
        finally:
            connection.close()

    first = threading.Thread(target=run)
    first.start()
    assert started.wait(GENEROUS)
    second = threading.Thread(target=run)
    second.start()
    second.join(GENEROUS)
    release.set()  # the first run holds its lock until the second has been turned away
    first.join(GENEROUS)
    assert not first.is_alive() and not second.is_alive()
    assert sorted(results) == ["busy", "done"]
    assert RecomputeState.objects.unscoped().get(organization=org).runs == 1


@pytest.mark.django_db
@override_settings(METRICS_RECOMPUTE_DEBOUNCE=60)
def test_bursts_of_signals_coalesce_into_one_run(organization, django_capture_on_commit_callbacks):
    _small_data(organization)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        for _ in range(5):
            response_recorded.send(sender=None, organization_id=organization.pk, response_ids=[1])
        customer_data_changed.send(sender=None, organization_id=organization.pk, kind="transactions")
    # One recompute queued (the text analysis of the comments queues its own task beside it).
    assert len([c for c in callbacks if "recompute_request" in c.__qualname__]) == 1
    state = RecomputeState.objects.unscoped().get(organization=organization)
    assert state.runs == 1 and state.stale_since is None
    assert Snapshot.objects.unscoped().filter(organization=organization, dashboard="overview").exists()


@pytest.mark.django_db
@override_settings(METRICS_RECOMPUTE_ON_SIGNAL=True)
def test_new_data_marks_dashboards_stale_and_the_page_says_so(organization, owner_client):
    services.recompute_run(organization_id=organization.pk)
    RecomputeState.objects.unscoped().filter(organization=organization).update(requested_at=timezone.now())
    response_recorded.send(
        sender=None, organization_id=organization.pk, response_ids=[1]
    )  # debounced: queued only
    assert RecomputeState.objects.unscoped().get(organization=organization).stale_since is not None
    page = owner_client.get("/dashboards/")
    assert "a recompute is queued" in page.content.decode()
    RecomputeState.objects.unscoped().filter(organization=organization).update(running_since=timezone.now())
    assert "Recomputing…" in owner_client.get("/dashboards/").content.decode()


@pytest.mark.django_db
def test_beat_recomputes_stale_and_old_organizations(organization, other_organization):
    services.recompute_run(organization_id=organization.pk)
    assert recompute_all_organizations() == 1  # the other organization never ran; ours is fresh
    assert Snapshot.objects.unscoped().filter(organization=other_organization).count() == len(registry.keys())
    RecomputeState.objects.unscoped().filter(organization=organization).update(
        finished_at=timezone.now() - timedelta(days=1)
    )
    assert recompute_all_organizations() == 1


@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
@pytest.mark.django_db(transaction=True)
def test_reads_go_to_the_replica_and_writes_to_the_primary(settings):
    """A second alias, a mirror of the test database (like DATABASE_REPLICA_URL's TEST MIRROR):
    recompute reads must arrive on it, writes on the primary."""
    from django.db.utils import load_backend

    org = OrganizationFactory(slug="replicated")
    _small_data(org)
    replica = {**connections["default"].settings_dict}
    connections["replica"] = load_backend(replica["ENGINE"]).DatabaseWrapper(replica, "replica")
    settings.DATABASES = {**settings.DATABASES, "replica": replica}
    # The purchase summaries are derived on the primary (INSERT … SELECT over its transactions, kept
    # as ingest writes): refreshed first, outside the captured recompute.
    customer_summaries_refresh(organization=org)
    try:
        with (
            CaptureQueriesContext(connections["replica"]) as reads,
            CaptureQueriesContext(connections["default"]) as writes,
        ):
            services.dashboards_recompute(organization=org, rebuild_summaries=False)
        read_sql = " ".join(q["sql"] for q in reads.captured_queries)
        write_sql = " ".join(q["sql"] for q in writes.captured_queries)
        assert "surveys_response" in read_sql and "journeys_transaction" in read_sql
        assert "INSERT" not in read_sql and "UPDATE" not in read_sql and "DELETE" not in read_sql
        assert "metrics_snapshot" in write_sql and "metrics_customervalue" in write_sql
        assert 'FROM "surveys_response"' not in write_sql and 'FROM "journeys_transaction"' not in write_sql
    finally:
        connections["replica"].close()
        del connections["replica"]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_recompute_through_a_real_worker_updates_the_page(postgres, redis_url, client, make_member):
    org = OrganizationFactory(slug="worker-org")
    client.force_login(make_member(org))
    s = survey(org)
    for score in (10, 10, 10, 0):
        response(org, s, "nps", score, timezone.now() - timedelta(hours=2))
    settings_dict = connection.settings_dict
    database_url = f"postgres://{settings_dict['USER']}@{settings_dict['HOST']}:{settings_dict['PORT'] or 5432}/{settings_dict['NAME']}"
    with celery_worker(redis_url=redis_url, DATABASE_URL=database_url) as (app, queue):
        result = app.send_task("metrics.tasks.recompute_organization", args=[org.pk], queue=queue)
        assert result.get(timeout=GENEROUS) == "done"
    snapshot = Snapshot.objects.unscoped().get(organization=org, dashboard="overview", filters_key="default")
    assert snapshot.payload["summary"]["nps"]["nps"] == 50.0
    page = client.get("/dashboards/").content.decode()
    assert "50.0" in page and "Computed" in page


@pytest.mark.django_db
def test_demo_seed_fits_clv_and_recomputes(organization):
    from io import StringIO

    from metrics import demo
    from metrics.models import ClvModel

    seed_dataset(organization, customers=60, now=timezone.now())
    out = StringIO()
    demo.seed(organization=organization, stdout=out, size="small")
    demo.seed(organization=organization, stdout=out, size="small")  # idempotent
    assert ClvModel.objects.unscoped().filter(organization=organization).count() == 1
    assert Snapshot.objects.unscoped().filter(organization=organization).count() == len(registry.keys())
    value = Snapshot.objects.unscoped().get(organization=organization, dashboard="value").payload
    assert value["clv_source"] == "predictive" and value["model"]["bgnbd"]["r"] > 0


@pytest.mark.django_db
def test_a_burst_of_signals_costs_one_database_write(organization, django_assert_num_queries):
    """Survey submissions send a signal per response; only the first of a burst touches the database."""
    # A debounce window longer than any run of the test, however slow the machine.
    with override_settings(METRICS_RECOMPUTE_ON_SIGNAL=False, METRICS_RECOMPUTE_DEBOUNCE=3600):
        response_recorded.send(sender=None, organization_id=organization.pk, response_ids=[1])
        assert RecomputeState.objects.unscoped().get(organization=organization).stale_since is not None
        with django_assert_num_queries(0):
            for _ in range(50):
                response_recorded.send(sender=None, organization_id=organization.pk, response_ids=[1])
        # A run clears the mark; the next signal marks the dashboards stale again.
        services.recompute_run(organization_id=organization.pk)
        assert RecomputeState.objects.unscoped().get(organization=organization).stale_since is None
        response_recorded.send(sender=None, organization_id=organization.pk, response_ids=[2])
        assert RecomputeState.objects.unscoped().get(organization=organization).stale_since is not None
