"""A real Celery worker process for tests: its own queue, so parallel runs never share tasks."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from celery import Celery

ROOT = Path(__file__).resolve().parents[1]


@contextlib.contextmanager
def celery_worker(*, redis_url: str, **env: str) -> Iterator[tuple[Celery, str]]:
    """Starts `celery -A cxm worker` on a fresh queue; yields a client app and the queue name."""
    with celery_worker_process(redis_url=redis_url, **env) as (client, queue, _worker):
        yield client, queue


@contextlib.contextmanager
def celery_worker_process(
    *, redis_url: str, **env: str
) -> Iterator[tuple[Celery, str, subprocess.Popen[bytes]]]:
    """`celery_worker`, also yielding the worker process (a solo pool: tasks run in it) to kill."""
    queue = f"test-{uuid.uuid4().hex[:8]}"
    full_env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "DJANGO_SETTINGS_MODULE": "cxm.settings.test",
        "CXM_VAR_DIR": str(ROOT / "var"),
        **env,
    }
    command = [sys.executable, "-m", "celery", "-A", "cxm", "worker", "-Q", queue, "-c", "1", "-P", "solo"]
    command += ["--without-gossip", "--without-mingle", "-l", "warning"]
    worker = subprocess.Popen(
        command, cwd=ROOT, env=full_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        # Not the current app: shared tasks of this process must keep resolving to cxm's own app.
        yield Celery(broker=redis_url, backend=redis_url, set_as_current=False), queue, worker
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()


DEAD_BROKER = "redis://127.0.0.1:1/0"  # nothing listens on port 1: connection refused


def send_to_a_dead_broker(monkeypatch: pytest.MonkeyPatch) -> None:
    """From here on in this test, the project's Celery app sends tasks to a Redis that refuses
    connections (instead of running them in-process)."""
    from cxm.celery import app

    monkeypatch.setitem(app.conf, "task_always_eager", False)
    monkeypatch.setitem(app.conf, "broker_url", DEAD_BROKER)
    monkeypatch.setattr(app, "_pool", None)  # connections are made anew, to the dead broker
    monkeypatch.setattr(app.amqp, "_producer_pool", None)
