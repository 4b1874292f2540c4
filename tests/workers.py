"""A real Celery worker process for tests: its own queue, so parallel runs never share tasks."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

from celery import Celery

ROOT = Path(__file__).resolve().parents[1]


@contextlib.contextmanager
def celery_worker(*, redis_url: str, **env: str) -> Iterator[tuple[Celery, str]]:
    """Starts `celery -A cxm worker` on a fresh queue; yields a client app and the queue name."""
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
        yield Celery(broker=redis_url, backend=redis_url, set_as_current=False), queue
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
