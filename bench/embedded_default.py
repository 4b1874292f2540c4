"""The embedded default as `make run` serves it (SQLite file, no broker, `runserver`): what a visitor
waits for while dashboards recompute in the background.

    .venv/bin/python bench/embedded_default.py [--var DIR] [--customers 40000]

Creates (or reuses, with --var) a var directory with the demo data, starts runserver on a free port
and measures, on the demo data and then after a CSV import of --customers new customers:
- the first dashboard visit after new data, while the recompute runs in the background (server
  answers from the last snapshot), and how long the background recompute takes;
- 12 clients submitting public answers one after another throughout the recompute (all must be 201);
- the CSV upload request (returns once the file is saved) and the import, polled like the progress bar.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEADLINE = 1800
PAUSE = 0.2  # between one client's answers: 12 clients send up to ~60 answers a second


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Browser:
    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def csrf(self) -> str:
        return next(c.value for c in self.jar if c.name == "csrftoken")

    def open(
        self, path: str, data: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, str, float]:
        request = urllib.request.Request(self.base + path, data=data, headers=headers or {})
        started = time.monotonic()
        try:
            with self.opener.open(request, timeout=DEADLINE) as response:
                body = response.read().decode()
                return response.status, body, time.monotonic() - started
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(), time.monotonic() - started

    def login(self, email: str, password: str) -> None:
        self.open("/accounts/login/")
        form = urllib.parse.urlencode(
            {"username": email, "password": password, "csrfmiddlewaretoken": self.csrf()}
        )
        status, body, _ = self.open(
            "/accounts/login/", form.encode(), {"Referer": self.base + "/accounts/login/"}
        )
        assert status == 200 and "logout" in body.lower(), status

    def upload(
        self, path: str, fields: dict[str, str], filename: str, content: bytes
    ) -> tuple[int, str, float]:
        boundary = "----cxmbench"
        parts = []
        for name, value in fields.items():
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
            )
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            f"Content-Type: text/csv\r\n\r\n".encode()
            + content
            + b"\r\n"
        )
        parts.append(f"--{boundary}--\r\n".encode())
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}", "Referer": self.base + path}
        return self.open(path, b"".join(parts), headers)


def wait(condition: Any, what: str, timeout: float = DEADLINE) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise SystemExit(f"timed out waiting for {what}")


def submit(base: str, public_id: str, question: int, score: int) -> tuple[int, float]:
    body = json.dumps({"answers": {str(question): score % 11}}).encode()
    request = urllib.request.Request(
        f"{base}/api/v1/public/surveys/{public_id}/responses",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=DEADLINE) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    return status, time.monotonic() - started


def submit_while(
    base: str, public_id: str, question: int, clients: int, until: threading.Event
) -> list[tuple[int, float]]:
    """`clients` threads submitting answers (PAUSE apart) until `until` is set."""
    results: list[tuple[int, float]] = []

    def client(index: int) -> None:
        while not until.is_set():
            results.append(submit(base, public_id, question, index + len(results)))
            until.wait(PAUSE)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(DEADLINE)
    return results


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--var", help="a var directory to reuse (created and seeded when missing)")
    parser.add_argument("--customers", type=int, default=40_000)
    options = parser.parse_args()
    var = Path(options.var or tempfile.mkdtemp(prefix="cxm-embedded-"))
    var.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"}}
    env.update(
        DJANGO_SETTINGS_MODULE="cxm.settings.local", CXM_VAR_DIR=str(var), METRICS_RECOMPUTE_DEBOUNCE="2"
    )
    env.update(LOG_LEVEL="WARNING", PUBLIC_RATE_LIMIT="1000000/min")  # all answers come from 127.0.0.1
    manage = [sys.executable, "manage.py"]
    database_path = var / "cxm.sqlite3"
    if not database_path.exists():
        for command in (["migrate", "--noinput"], ["seed_demo"]):
            subprocess.run(manage + command, cwd=ROOT, env=env, check=True, capture_output=True)
    database = sqlite3.connect(database_path)

    def one_value(sql: str) -> Any:
        row = database.execute(sql).fetchone()
        return row[0] if row else None

    public_id, question = database.execute(
        "SELECT s.public_id, q.id FROM surveys_survey s JOIN surveys_question q ON q.survey_id = s.id "
        "WHERE s.status = 'active' AND q.kind = 'nps' ORDER BY s.id LIMIT 1"
    ).fetchone()
    port = free_port()
    server = subprocess.Popen(
        [*manage, "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(var / "bench-server.log").open("w"),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        browser = Browser(base)
        wait(lambda: _up(base), "the server")
        browser.login("demo@example.com", "cxm-demo-2026")
        browser.open("/dashboards/")  # warm up: every view imported

        def snapshot_time() -> str:
            return str(
                one_value(
                    "SELECT computed_at FROM metrics_snapshot WHERE dashboard='overview' AND filters_key='default'"
                )
            )

        def measure(label: str, trigger: Any) -> None:
            before = snapshot_time()
            trigger()
            wait(
                lambda: (
                    json.loads(browser.open("/dashboards/status/?dashboard=overview")[1])["running"]
                    or snapshot_time() != before
                ),
                "the recompute to start",
            )
            status, page, seconds = browser.open("/dashboards/")
            running = "Recomputing" in page
            done = threading.Event()
            answers: list[tuple[int, float]] = []
            clients = threading.Thread(
                target=lambda: answers.extend(submit_while(base, public_id, question, 12, done))
            )
            clients.start()
            wait(lambda: snapshot_time() != before, "the new snapshot")
            wait(
                lambda: not json.loads(browser.open("/dashboards/status/?dashboard=overview")[1])["running"],
                "the run to end",
            )
            done.set()
            clients.join(DEADLINE)
            duration = one_value("SELECT last_duration_ms FROM metrics_recomputestate")
            customers = one_value("SELECT COUNT(*) FROM journeys_customer")
            print(f"{label} ({customers} customers):")
            print(
                f"  first dashboard visit during the recompute: {status} in {seconds * 1000:.0f} ms"
                f" (says 'Recomputing…': {running})"
            )
            print(f"  background recompute: {duration} ms")
            codes = {
                code: sum(1 for c, _ in answers if c == code) for code in sorted({c for c, _ in answers})
            }
            latencies = sorted(s for _, s in answers)
            print(
                f"  12 clients submitting answers throughout it: {len(answers)} answers, status counts {codes}, "
                f"median {latencies[len(latencies) // 2] * 1000:.0f} ms, slowest {latencies[-1] * 1000:.0f} ms"
            )

        measure("Demo data, one new answer", lambda: submit(base, public_id, question, 9))

        rows = "external_id,name,city\n" + "".join(
            f"B{index:06d},Bench customer {index},Shanghai\n" for index in range(options.customers)
        )
        uploaded: dict[str, Any] = {}

        def upload() -> None:
            browser.open("/imports/")
            status, body, seconds = browser.upload(
                "/imports/",
                {"kind": "customers", "csrfmiddlewaretoken": browser.csrf()},
                "bench.csv",
                rows.encode(),
            )
            match = re.search(r'data-status-url="(/imports/\d+/status/)"', body)
            assert status == 200 and match, status
            uploaded.update(seconds=seconds, status_url=match.group(1), started=time.monotonic())
            first = json.loads(browser.open(match.group(1))[1])
            seen = [first["percent"]]
            while not first["finished"]:
                time.sleep(1)
                first = json.loads(browser.open(match.group(1))[1])
                seen.append(first["percent"])
            uploaded.update(done=time.monotonic(), final=first, seen=seen)
            print(
                f"CSV upload of {options.customers} customers: the request returned in {seconds * 1000:.0f} ms"
            )
            print(
                f"  import in the background: {first['status']} after {uploaded['done'] - uploaded['started']:.1f} s; "
                f"progress seen (polled each second): {sorted(set(seen))}"
            )

        measure(f"After importing {options.customers} customers", upload)
    finally:
        server.terminate()
        server.wait(timeout=120)
    log = (var / "bench-server.log").read_text()
    print("server log: 'database is locked':", "database is locked" in log, "| 500s:", '" 500 ' in log)
    print(f"var directory: {var}")
    return 0


def _up(base: str) -> bool:
    try:
        with urllib.request.urlopen(base + "/healthz", timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


if __name__ == "__main__":
    sys.exit(main())
