"""A real Celery worker process for tests: its own queue, so parallel runs never share tasks.

`celery_worker` returns only once the worker answers a ping (starting Django and Celery can take
many seconds on a busy machine); a worker that exits or never answers fails the test with its log.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from celery import Celery

from .waiting import GENEROUS, WaitTimeout, wait_until

ROOT = Path(__file__).resolve().parents[1]


def _tail(path: Path, limit: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-limit:]
    except OSError:
        return ""


@contextlib.contextmanager
def celery_worker(*, redis_url: str, **env: str) -> Iterator[tuple[Celery, str]]:
    """Starts `celery -A cxm worker` on a fresh queue; yields a client app and the queue name."""
    with celery_worker_process(redis_url=redis_url, **env) as (client, queue, _worker):
        yield client, queue


@contextlib.contextmanager
def celery_worker_process(
    *, redis_url: str, **env: str
) -> Iterator[tuple[Celery, str, subprocess.Popen[bytes]]]:
    """`celery_worker`, also yielding the worker process (a solo pool: tasks run in it) to kill; waits
    until the worker answers a ping."""
    queue = f"test-{uuid.uuid4().hex[:8]}"
    node = f"{queue}@localhost"
    full_env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "DJANGO_SETTINGS_MODULE": "cxm.settings.test",
        "CXM_VAR_DIR": str(ROOT / "var"),
        **env,
    }
    command = [sys.executable, "-m", "celery", "-A", "cxm", "worker", "-Q", queue, "-c", "1", "-P", "solo"]
    command += ["-n", node, "--without-gossip", "--without-mingle", "-l", "info"]
    with tempfile.TemporaryDirectory(prefix="cxm-worker-") as folder:
        log = Path(folder) / "worker.log"
        with log.open("wb") as output:
            worker = subprocess.Popen(
                command, cwd=ROOT, env=full_env, stdout=output, stderr=subprocess.STDOUT
            )
        # Not the current app: shared tasks of this process must keep resolving to cxm's own app.
        app = Celery(broker=redis_url, backend=redis_url, set_as_current=False)
        try:
            _wait_until_ready(app, worker, node, log)
            yield app, queue, worker
        finally:
            worker.terminate()
            try:
                worker.wait(timeout=GENEROUS)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
            app.close()


def _wait_until_ready(app: Celery, worker: subprocess.Popen[Any], node: str, log: Path) -> None:
    def answers() -> bool:
        if worker.poll() is not None:
            raise AssertionError(f"the Celery worker exited with {worker.returncode}:\n{_tail(log)}")
        return bool(app.control.ping(destination=[node], timeout=0.5))

    try:
        wait_until(answers, timeout=GENEROUS * 2, interval=0.2)
    except WaitTimeout as exc:
        raise AssertionError(f"the Celery worker never answered a ping: {exc}\n{_tail(log)}") from exc


DEAD_BROKER = "redis://127.0.0.1:1/0"  # nothing listens on port 1: connection refused


def send_to_a_dead_broker(monkeypatch: pytest.MonkeyPatch) -> None:
    """From here on in this test, the project's Celery app sends tasks to a Redis that refuses
    connections (instead of running them in-process)."""
    from cxm.celery import app

    monkeypatch.setitem(app.conf, "task_always_eager", False)
    monkeypatch.setitem(app.conf, "broker_url", DEAD_BROKER)
    monkeypatch.setattr(app, "_pool", None)  # connections are made anew, to the dead broker
    monkeypatch.setattr(app.amqp, "_producer_pool", None)
