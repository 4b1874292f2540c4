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
from tests.waiting import GENEROUS

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


class _CountingTask:
    """Stands in for a task: `apply` is what the beat entry calls."""

    def __init__(self) -> None:
        self.runs = 0

    def apply(self, throw: bool = False) -> None:
        self.runs += 1


def test_a_beat_entry_runs_again_at_each_due_time_until_the_process_stops():
    from celery.schedules import maybe_schedule

    runner = _Runner(workers=1)
    task = _CountingTask()
    background.beat_entry_submit(task=task, name="often", schedule=maybe_schedule(0.05), into=runner)  # type: ignore[arg-type]
    from tests.waiting import wait_until

    wait_until(lambda: task.runs >= 3, timeout=DEADLINE)
    runner.stop(timeout=DEADLINE)
    runs = task.runs
    threading.Event().wait(0.3)
    assert task.runs == runs  # stopped: nothing runs any more


def test_a_quarter_hour_entry_waits_for_its_time():
    from celery.schedules import crontab

    runner = _Runner(workers=1)
    task = _CountingTask()
    background.beat_entry_submit(task=task, name="quarter", schedule=crontab(minute="*/15"), into=runner)  # type: ignore[arg-type]
    with runner._condition:
        due, _sequence, name, _job = runner._heap[0]
    import time

    wait = due - time.monotonic()
    assert name == "beat:quarter" and 0 < wait <= 15 * 60 and task.runs == 0
    runner.stop(timeout=DEADLINE)


def test_without_a_broker_the_server_runs_every_beat_entry_once_per_process(settings, monkeypatch):
    from django.core.exceptions import MiddlewareNotUsed

    from cxm.celery import app
    from cxm.core.middleware import EmbeddedBeatMiddleware

    queued: list[tuple[str, str]] = []
    monkeypatch.setattr(
        background, "beat_entry_submit", lambda *, task, name, schedule: queued.append((name, task.name))
    )
    monkeypatch.setattr(background, "_beat_started", False)
    settings.TASKS_IN_BACKGROUND, settings.TASKS_BACKGROUND_BEAT = True, False
    assert background.beat_start() is False and queued == []  # turned off (as in tests)
    settings.TASKS_IN_BACKGROUND, settings.TASKS_BACKGROUND_BEAT = False, True
    assert background.beat_start() is False and queued == []  # a broker: beat is its own process
    settings.TASKS_IN_BACKGROUND = True
    with pytest.raises(MiddlewareNotUsed):  # started when the server loads its middleware
        EmbeddedBeatMiddleware(lambda request: None)  # type: ignore[arg-type,return-value]
    expected = {(name, entry["task"]) for name, entry in app.conf.beat_schedule.items()}
    assert set(queued) == expected and len(queued) == len(expected)
    assert {"journeys.tasks.sweep_import_jobs", "surveys.tasks.sweep_invitations"} <= {t for _n, t in queued}
    assert background.beat_start() is False and len(queued) == len(expected)  # once per process


def test_a_task_running_in_a_background_thread_does_not_forbid_joining_results_elsewhere():
    """`Task.apply` marks "joining would block" while a task runs; that mark is per thread, so a
    request thread may still wait on a result while a background thread runs a task."""
    import celery.result

    inside = threading.Event()
    release = threading.Event()
    seen_inside: list[bool] = []

    def background_task() -> None:
        with celery.result.denied_join_result():
            seen_inside.append(celery.result.task_join_will_block())
            inside.set()
            release.wait(GENEROUS)

    thread = threading.Thread(target=background_task)
    thread.start()
    try:
        assert inside.wait(GENEROUS)
        celery.result.assert_will_not_block()  # raised RuntimeError before
        assert celery.result.task_join_will_block() is False
    finally:
        release.set()
        thread.join(GENEROUS)
    assert seen_inside == [True]
    with celery.result.denied_join_result(), pytest.raises(RuntimeError):
        celery.result.assert_will_not_block()
