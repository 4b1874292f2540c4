"""Tasks without a broker: the embedded default runs Celery tasks in the background of this process.

With no broker configured (`TASKS_IN_BACKGROUND`, on when neither `REDIS_URL` nor
`CELERY_BROKER_URL` is set), `task.delay()` and `task.apply_async()` hand the task to a small pool of
worker threads started on first use, and return at once. Each thread runs the task through Celery's
own `Task.apply`, the same code a worker runs, so the task's own rules hold: a recompute's debounce
(`countdown`/`eta` are honoured) and its one-run-at-a-time row lock. No request ever waits for a
recompute or an import.

Not covered here: time limits (a thread cannot be interrupted) and `expires`. A task still waiting
for its countdown when the process stops is dropped; whatever it was for is still marked in the
database (stale dashboards, a queued import) and is picked up again later. At exit the process waits
for the tasks already running, so none is cut off half way through.
"""

from __future__ import annotations

import atexit
import heapq
import itertools
import logging
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import celery.result
from celery import Task, _state
from celery.result import AsyncResult
from django.conf import settings
from django.db import connections
from django.utils import timezone

logger = logging.getLogger(__name__)

# Two threads: a long import does not hold up a dashboard recompute. More would only fight over the
# SQLite write lock and the two cores of a small server.
WORKERS = 2
# At exit, how long to wait for running tasks before leaving them to their dead-run timeouts.
EXIT_WAIT_SECONDS = 120.0


# Celery keeps "a task is running here, so joining a result would deadlock" in one flag for the whole
# process: a worker process runs one task at a time. `Task.apply` raises it while a task runs, so with
# tasks in background threads a request thread's `result.get()` failed whenever a background task was
# running. The flag is made per thread; a thread that never set it reads the process-wide value, so a
# real worker process keeps Celery's own guard.
_join_flag = threading.local()


def _task_join_will_block() -> bool:
    blocks: bool | None = getattr(_join_flag, "blocks", None)
    return _state.task_join_will_block() if blocks is None else blocks


def _set_task_join_will_block(blocks: bool) -> None:
    _join_flag.blocks = blocks


celery.result.task_join_will_block = _task_join_will_block  # type: ignore[assignment]
celery.result._set_task_join_will_block = _set_task_join_will_block  # type: ignore[assignment]


def enabled() -> bool:
    return bool(getattr(settings, "TASKS_IN_BACKGROUND", False))


class _Runner:
    """A heap of (due time, sequence, job) served by WORKERS daemon threads, started lazily."""

    def __init__(self, workers: int = WORKERS) -> None:
        self._workers = workers
        self._heap: list[tuple[float, int, str, Callable[[], None]]] = []
        self._sequence = itertools.count()
        self._condition = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._running: set[str] = set()
        self._stopping = False

    def submit(self, job: Callable[[], None], *, name: str, delay: float = 0.0) -> None:
        with self._condition:
            self._start()
            due = time.monotonic() + max(delay, 0.0)
            heapq.heappush(self._heap, (due, next(self._sequence), name, job))
            self._condition.notify()

    def _start(self) -> None:
        if self._threads:
            return
        for index in range(self._workers):
            thread = threading.Thread(target=self._loop, name=f"cxm-background-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)
        atexit.register(self.stop)

    def _next(self) -> tuple[str, Callable[[], None]] | None:
        with self._condition:
            while True:
                if self._stopping:
                    return None
                if self._heap:
                    wait = self._heap[0][0] - time.monotonic()
                    if wait <= 0:
                        _due, _sequence, name, job = heapq.heappop(self._heap)
                        self._running.add(name)
                        return name, job
                    self._condition.wait(wait)
                else:
                    self._condition.wait()

    def _loop(self) -> None:
        while (item := self._next()) is not None:
            name, job = item
            try:
                job()
            except Exception:
                logger.exception("background task %s failed", name)
            finally:
                # This thread's connections would otherwise stay open (and on SQLite, hold a file).
                connections.close_all()
                with self._condition:
                    self._running.discard(name)
                    self._condition.notify_all()

    def pending(self) -> int:
        with self._condition:
            return len(self._heap) + len(self._running)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing is queued or running (tests); False on timeout."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while self._heap or self._running:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._condition.wait(min(remaining, 0.5))
            return True

    def stop(self, timeout: float = EXIT_WAIT_SECONDS) -> None:
        """Start nothing more; drop what waits for its countdown; wait for what runs."""
        deadline = time.monotonic() + timeout
        with self._condition:
            self._stopping = True
            dropped = len(self._heap)
            self._heap.clear()
            self._condition.notify_all()
            if dropped:
                logger.info(
                    "background: %s task(s) still waiting for their countdown dropped at exit "
                    "(what they were for stays marked in the database)",
                    dropped,
                )
            while self._running and time.monotonic() < deadline:
                logger.info("background: waiting for %s", ", ".join(sorted(self._running)))
                self._condition.wait(min(deadline - time.monotonic(), 5.0))


runner = _Runner()


def _delay_seconds(countdown: float | None, eta: datetime | None) -> float:
    if eta is not None:
        return (eta - timezone.now()).total_seconds()
    return float(countdown or 0)


def submit_task(
    task: Task,
    args: Any = None,
    kwargs: Any = None,
    *,
    task_id: str | None = None,
    countdown: float | None = None,
    eta: datetime | None = None,
) -> AsyncResult:
    """Queue `task` to run in this process's background threads through Celery's `Task.apply`."""
    task_id = task_id or uuid.uuid4().hex
    call_args, call_kwargs = list(args or ()), dict(kwargs or {})

    def job() -> None:
        task.apply(args=call_args, kwargs=call_kwargs, task_id=task_id, throw=True)

    runner.submit(job, name=f"{task.name}[{task_id}]", delay=_delay_seconds(countdown, eta))
    return AsyncResult(task_id, app=task.app)


_beat_lock = threading.Lock()
_beat_started = False


def beat_start() -> bool:
    """Without a broker there is no beat process: the server runs the beat schedule itself, each
    entry queued to the background threads at its due time (so the sweeps pick up what a restart
    lost: an import left half way, invitations still queued). Once per process; False if it does
    not start (a broker is configured, `TASKS_BACKGROUND_BEAT` is off, or it already runs)."""
    global _beat_started
    if not (enabled() and getattr(settings, "TASKS_BACKGROUND_BEAT", False)):
        return False
    with _beat_lock:
        if _beat_started:
            return False
        _beat_started = True
    from celery.schedules import maybe_schedule

    from cxm.celery import app

    app.loader.import_default_modules()  # every app's tasks.py: the schedule names their tasks
    for name, entry in app.conf.beat_schedule.items():
        beat_entry_submit(
            task=app.tasks[entry["task"]], name=name, schedule=maybe_schedule(entry["schedule"])
        )
    return True


def beat_entry_submit(*, task: Task, name: str, schedule: Any, into: _Runner | None = None) -> None:
    """Queue `task` for the schedule's next due time; each run queues the one after it."""
    target = into or runner

    def job() -> None:
        try:
            task.apply(throw=True)
        finally:
            beat_entry_submit(task=task, name=name, schedule=schedule, into=target)

    wait = schedule.remaining_estimate(schedule.now()).total_seconds()
    target.submit(job, name=f"beat:{name}", delay=max(wait, 0.0))


class BackgroundTask(Task):
    """The base class of every cxm task: without a broker, `apply_async` queues to this process's
    background threads instead of running the task inside the caller."""

    def apply_async(
        self, args: Any = None, kwargs: Any = None, task_id: str | None = None, **options: Any
    ) -> Any:
        if enabled():
            return submit_task(
                self,
                args,
                kwargs,
                task_id=task_id,
                countdown=options.get("countdown"),
                eta=options.get("eta"),
            )
        return super().apply_async(args, kwargs, task_id=task_id, **options)
