"""The embedded default as `make run` serves it: SQLite in WAL mode, no broker, `runserver`.

While a dashboard recompute runs in the server's background thread, twelve public submissions
arrive during its compute phase and twelve more while it holds the write transaction: every one is
stored (none fails because the database is busy), and a dashboard visit meanwhile is answered from
the last snapshot, saying that a recompute is running."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEADLINE = 180


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _env(var: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="cxm.settings.local",
        CXM_VAR_DIR=str(var),
        METRICS_RECOMPUTE_DEBOUNCE="1",
        LOG_LEVEL="WARNING",
    )
    return env


def _wait(condition: Any, what: str) -> Any:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _request(url: str, *, data: bytes | None = None, session: str = "") -> tuple[int, str]:
    request = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if session:
        request.add_header("Cookie", f"sessionid={session}")
    try:
        with urllib.request.urlopen(request, timeout=DEADLINE) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.fixture
def embedded_server(tmp_path):
    var = tmp_path / "var"
    var.mkdir()
    env = _env(var)
    manage = [sys.executable, "manage.py"]
    for command in (["migrate", "--noinput"], ["seed_demo", "--size", "small"]):
        done = subprocess.run(
            manage + command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, done.stderr
    done = subprocess.run(
        [sys.executable, "-m", "tests.embedded_server", "setup"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    demo = json.loads(done.stdout.strip().splitlines()[-1])
    port = _free_port()
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.embedded_server", "serve", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: _ping(base), "the server to answer")
        yield {"base": base, "var": var, "log": tmp_path / "server.log", **demo}
    finally:
        for name in ("compute-go", "write-go"):
            (var / name).touch()
        server.terminate()
        server.wait(timeout=60)
        log.close()


def _ping(base: str) -> bool:
    try:
        return _request(base + "/healthz")[0] == 200
    except OSError:
        return False


def _submit_many(
    server: dict[str, Any], count: int
) -> tuple[list[threading.Thread], list[tuple[int, str, float]]]:
    url = f"{server['base']}/api/v1/public/surveys/{server['public_id']}/responses"
    results: list[tuple[int, str, float]] = []

    def one(index: int) -> None:
        body = json.dumps(
            {"answers": {str(server["question"]): index % 11 if server["kind"] == "nps" else 5}}
        )
        status, text = _request(url, data=body.encode())
        results.append((status, text, time.monotonic()))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    return threads, results


def test_the_embedded_default_settings(tmp_path):
    """SQLite in WAL mode, writers queue (BEGIN IMMEDIATE, 20 s busy timeout), tasks in background threads."""
    code = (
        "import json; from django.conf import settings as s; import django; django.setup(); "
        "print(json.dumps([s.DATABASES['default']['ENGINE'], s.DATABASES['default']['OPTIONS'], "
        "s.TASKS_IN_BACKGROUND, s.METRICS_RECOMPUTE_ON_SIGNAL]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    engine, options, background, on_signal = json.loads(done.stdout.strip().splitlines()[-1])
    assert engine == "django.db.backends.sqlite3"
    assert "PRAGMA journal_mode=WAL" in options["init_command"]
    assert (options["transaction_mode"], options["timeout"]) == ("IMMEDIATE", 20)
    assert background is True and on_signal is True


def test_submissions_and_pages_never_wait_for_a_background_recompute(embedded_server):
    server, var = embedded_server, embedded_server["var"]
    database = sqlite3.connect(var / "cxm.sqlite3")
    assert database.execute("PRAGMA journal_mode").fetchone()[0] == "wal"

    def snapshot_time() -> str:
        row = database.execute(
            "SELECT computed_at FROM metrics_snapshot WHERE dashboard = 'overview' AND filters_key = 'default'"
        ).fetchone()
        return row[0]

    def responses() -> int:
        return database.execute("SELECT COUNT(*) FROM surveys_response").fetchone()[0]

    seeded, before = snapshot_time(), responses()
    status_url = server["base"] + "/dashboards/status/?dashboard=overview"

    # One answer: new data queues a debounced recompute in the server's background thread.
    first, results = _submit_many(server, 1)
    first[0].join(DEADLINE)
    assert results[0][0] == 201, results
    _wait(lambda: (var / "computing").exists(), "the background recompute to start")

    # Twelve answers while it computes, and a dashboard visit: answered from the snapshot.
    wave, results = _submit_many(server, 12)
    code, page = _request(server["base"] + "/dashboards/", session=server["session"])
    for thread in wave:
        thread.join(DEADLINE)
    assert code == 200 and "Recomputing…" in page
    assert "Computed " in page and "data-chart" in page  # the last snapshot's numbers are shown
    assert not (var / "compute-go").exists()  # the recompute is still held: the page did not compute
    status = json.loads(_request(status_url, session=server["session"])[1])
    assert status["running"] is True and status["ready"] is True
    assert [r[0] for r in results] == [201] * 12, results
    assert snapshot_time() == seeded

    # Twelve more while the recompute holds SQLite's write lock: they wait for it, then succeed.
    (var / "compute-go").touch()
    _wait(lambda: (var / "writing").exists(), "the recompute's write transaction")
    wave, results = _submit_many(server, 12)
    time.sleep(1.0)  # let them reach the database and queue behind the writer
    released = time.monotonic()
    (var / "write-go").touch()
    for thread in wave:
        thread.join(DEADLINE)
    assert [r[0] for r in results] == [201] * 12, results
    assert all(finished >= released for _status, _text, finished in results)  # they waited, and were stored

    _wait(lambda: snapshot_time() != seeded, "the new snapshot")
    _wait(
        lambda: not json.loads(_request(status_url, session=server["session"])[1])["running"],
        "the run to end",
    )
    assert responses() == before + 25
    log = server["log"].read_text()
    assert "database is locked" not in log and " 500 " not in log
    database.close()


@pytest.mark.browser
def test_the_dashboard_says_a_recompute_runs_and_reloads_itself_when_it_is_stored(embedded_server, browser):
    server, var = embedded_server, embedded_server["var"]
    first, results = _submit_many(server, 1)
    first[0].join(DEADLINE)
    assert results[0][0] == 201, results
    _wait(lambda: (var / "computing").exists(), "the background recompute to start")

    context = browser.new_context(locale="zh-CN")
    context.add_cookies([{"name": "sessionid", "value": server["session"], "url": server["base"]}])
    page = context.new_page()
    page.goto(server["base"] + "/dashboards/")
    assert page.locator("[data-recomputing]").inner_text() == "正在重新计算…"
    shown = page.locator(".dash-status").get_attribute("data-computed-at")
    assert shown
    (var / "compute-go").touch()
    (var / "write-go").touch()
    # dashboards.js polls the status and reloads the page once a newer snapshot is stored.
    page.wait_for_function(
        "shown => document.querySelector('.dash-status').getAttribute('data-computed-at') !== shown",
        arg=shown,
        timeout=DEADLINE * 1000,
    )
    assert page.locator("[data-recomputing]").count() == 0
    assert page.locator("[data-chart]").count() > 0
    context.close()
