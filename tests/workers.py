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
    """Starts `celery -A cxm worker` on a fresh queue and waits until it answers; yields a client app
    and the queue name."""
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
            yield app, queue
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
