"""Tasks without a broker: queued to background threads of the process, countdowns honoured, the
same task code as under Celery, connections closed, running tasks finished at exit."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from celery import shared_task
from django.utils import timezone

from cxm.core import background
from cxm.core.background import BackgroundTask, _Runner

DEADLINE = 120


def test_jobs_run_in_order_of_their_due_time_and_countdowns_are_honoured():
    runner = _Runner(workers=1)
    ran: list[str] = []
    gate = threading.Event()
    runner.submit(lambda: gate.wait(DEADLINE), name="hold")
    runner.submit(lambda: ran.append("later"), name="later", delay=3600)
    runner.submit(lambda: ran.append("second"), name="second", delay=0.2)
    runner.submit(lambda: ran.append("first"), name="first")
    gate.set()
    deadline = timezone.now() + timedelta(seconds=DEADLINE)
    while len(ran) < 2 and timezone.now() < deadline:
        threading.Event().wait(0.05)
    assert ran == ["first", "second"]
    assert runner.pending() == 1  # "later" waits for its hour
    runner.stop(timeout=DEADLINE)
    assert runner.pending() == 0 and ran == ["first", "second"]  # dropped at exit, never run


def test_stop_waits_for_running_jobs_and_a_failing_job_does_not_stop_the_thread():
    runner = _Runner(workers=1)
    done: list[str] = []
    started = threading.Event()

    def slow() -> None:
        started.set()
        threading.Event().wait(0.5)
        done.append("slow")

    def broken() -> None:
        raise RuntimeError("boom")

    runner.submit(broken, name="broken")
    runner.submit(slow, name="slow")
    assert started.wait(DEADLINE)
    runner.stop(timeout=DEADLINE)
    assert done == ["slow"]


@shared_task(name="tests.background.record", bind=True)
def _record(self, value: int) -> int:
    _record.calls.append((value, self.request.id, threading.current_thread().name))  # type: ignore[attr-defined]
    return value * 2


_record.calls = []  # type: ignore[attr-defined]


def test_every_task_has_the_background_base_class():
    from metrics.tasks import recompute_organization

    assert isinstance(recompute_organization, BackgroundTask)
    assert isinstance(_record, BackgroundTask)


def test_delay_runs_the_same_task_in_the_caller_when_background_is_off(settings):
    settings.TASKS_IN_BACKGROUND = False
    _record.calls.clear()
    result = _record.delay(2)
    assert result.get() == 4  # eager: run inside the caller
    assert _record.calls[0][2] == threading.current_thread().name


def test_delay_returns_at_once_and_the_task_runs_in_a_background_thread(background_tasks):
    _record.calls.clear()
    result = _record.apply_async(args=[21], task_id="fixed-id")
    assert result.id == "fixed-id"
    assert background_tasks.wait_idle(DEADLINE)
    value, task_id, thread = _record.calls[0]
    assert (value, task_id) == (21, "fixed-id")  # Celery's request context, as on a worker
    assert thread.startswith("cxm-background-")


def test_eta_is_honoured(background_tasks):
    _record.calls.clear()
    _record.apply_async(args=[1], eta=timezone.now() + timedelta(hours=1))
    _record.apply_async(args=[2], countdown=0)
    deadline = timezone.now() + timedelta(seconds=DEADLINE)
    while not _record.calls and timezone.now() < deadline:
        threading.Event().wait(0.05)
    assert [call[0] for call in _record.calls] == [2]
    assert background_tasks.pending() >= 1
    # Leave nothing behind for the next test: take the hour-long job off the shared runner.
    with background_tasks._condition:
        background_tasks._heap = [
            item for item in background_tasks._heap if "tests.background" not in item[2]
        ]


@pytest.mark.django_db(transaction=True)
def test_a_background_task_closes_its_database_connections(background_tasks, monkeypatch):
    events: list[tuple[str, str]] = []
    close_all = background.connections.close_all

    def spy() -> None:
        events.append(("close", threading.current_thread().name))
        close_all()

    def job() -> None:
        from tests.factories import OrganizationFactory

        OrganizationFactory(slug="from-a-thread")
        events.append(("job", threading.current_thread().name))

    monkeypatch.setattr(background.connections, "close_all", spy)
    background.runner.submit(job, name="connection")
    assert background_tasks.wait_idle(DEADLINE)
    assert [kind for kind, _thread in events] == ["job", "close"]
    assert events[0][1] == events[1][1] != threading.current_thread().name
    from cxm.tenancy.models import Organization

    assert Organization.objects.filter(slug="from-a-thread").exists()
