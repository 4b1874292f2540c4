#!/usr/bin/env python
"""Bulk ingest benchmark: 1,000,000 interactions through POST /api/v1/interactions/bulk.

Real HTTP to gunicorn on 127.0.0.1 serving PostgreSQL, 10,000 records per request; the server is
production's (uvicorn workers running cxm.asgi) unless `--server wsgi` (sync workers, cxm.wsgi). Reports records
per second (wall clock, first request sent to last answer received) and the peak resident memory
of the web processes (gunicorn master and workers, sampled every 0.1 s from /proc).

Then, in the same run, the baseline: a raw COPY of the same rows (customer and touchpoint ids already
resolved, the COPY text encoded before the clock starts) into the same table, emptied first, in the
same batches with the same number of concurrent connections, one transaction per batch. It prints
both rates and their ratio (ingest / raw COPY). `--baseline-first` runs the raw COPY first instead.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cxm_journeys_bench \
        .venv/bin/python bench/journeys_ingest.py [--records 1000000] [--workers 2] [--concurrency 2] \
        [--baseline-first] [--no-baseline]

The database named in DATABASE_URL is dropped and created again.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import random
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def sh(*args: str, env: dict[str, str] | None = None) -> str:
    return subprocess.run(args, cwd=ROOT, env=env, check=True, capture_output=True, text=True).stdout


def recreate_database(url: str) -> None:
    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = parsed._replace(path="/postgres").geturl()
    import psycopg2

    connection = psycopg2.connect(admin)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}"')
    connection.close()


SETUP = """
from cxm.tenancy.services import organization_create, api_key_create
from journeys.services import journey_create, stage_create, touchpoint_create
org = organization_create(slug="bench", name="Bench")
journey = journey_create(organization=org, name="Bench journey")
for s, keys in (("Discover", ["web", "app"]), ("Buy", ["checkout", "store"]), ("Support", ["phone", "chat"])):
    stage = stage_create(journey=journey, name=s)
    for k in keys:
        touchpoint_create(organization=org, stage=stage, name=k, key=k, channel="website")
key, plaintext = api_key_create(organization=org, name="bench")
print(plaintext)
"""


def rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return 0
    return 0


def children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as handle:
            return [int(p) for p in handle.read().split()]
    except OSError:
        return []


class MemorySampler(threading.Thread):
    def __init__(self, master: int) -> None:
        super().__init__(daemon=True)
        self.master = master
        self.stop = threading.Event()
        self.peak_total = 0
        self.peak_worker = 0

    def run(self) -> None:
        while not self.stop.is_set():
            workers = children(self.master)
            sizes = [rss_kib(pid) for pid in workers]
            total = rss_kib(self.master) + sum(sizes)
            self.peak_total = max(self.peak_total, total)
            self.peak_worker = max([self.peak_worker, *sizes])
            time.sleep(0.1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_bodies(records: int, batch: int, customers: int, first: int = 0) -> list[bytes]:
    """Request bodies of `batch` records numbered from `first` (ids ev-<number>)."""
    rng = random.Random(7 + first)
    keys = ["web", "app", "checkout", "store", "phone", "chat"]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    bodies = []
    for offset in range(first, first + records, batch):
        chunk = []
        for number in range(offset, min(offset + batch, first + records)):
            moment = start + timedelta(seconds=number * 20 + rng.randint(0, 19))
            chunk.append(
                {
                    "id": f"ev-{number}",
                    "customer_external_id": f"C{rng.randrange(customers):07d}",
                    "touchpoint": keys[number % len(keys)],
                    "kind": "view",
                    "occurred_at": moment.isoformat().replace("+00:00", "Z"),
                    "properties": {"page": f"/p/{number % 500}", "ab": "b" if number % 2 else "a"},
                }
            )
        bodies.append(json.dumps(chunk, separators=(",", ":")).encode())
    return bodies


def copy_lines(url: str, bodies: list[bytes]) -> list[str]:
    """The COPY text of every batch: the rows the ingest stores, with customer and touchpoint ids."""
    import psycopg2

    connection = psycopg2.connect(url)
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM tenancy_organization WHERE slug = 'bench'")
        (organization_id,) = cursor.fetchone()
        cursor.execute(
            "SELECT external_id, id FROM journeys_customer WHERE organization_id = %s", [organization_id]
        )
        customers = dict(cursor.fetchall())
        cursor.execute(
            "SELECT key, id FROM journeys_touchpoint WHERE organization_id = %s", [organization_id]
        )
        touchpoints = dict(cursor.fetchall())
    connection.close()
    created = datetime.now(UTC).isoformat()
    batches = []
    for body in bodies:
        lines = []
        for record in json.loads(body):
            occurred = datetime.fromisoformat(record["occurred_at"]).isoformat()
            properties = json.dumps(record["properties"], ensure_ascii=False, separators=(",", ":"))
            lines.append(
                f"{organization_id}\t{customers[record['customer_external_id']]}\t"
                f"{touchpoints[record['touchpoint']]}\t{record['kind']}\t{occurred}\t{properties}\t"
                f"{record['id']}\t{created}\n"
            )
        batches.append("".join(lines))
    return batches


RAW_COLUMNS = (
    "organization_id, customer_id, touchpoint_id, kind, occurred_at, properties, external_id, created_at"
)


def _admin(url: str, statement: str) -> None:
    import psycopg2

    connection = psycopg2.connect(url)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(statement)
    connection.close()


def empty_table(url: str) -> None:
    _admin(url, "TRUNCATE journeys_interaction")


def checkpoint(url: str) -> None:
    """Each timed phase starts with no dirty pages left by the one before."""
    _admin(url, "CHECKPOINT")


def raw_copy(url: str, batches: list[str], concurrency: int) -> float:
    """Empties the interaction table, then COPYs the batches on `concurrency` connections; seconds."""
    import io

    import psycopg2

    empty_table(url)
    checkpoint(url)
    idle: queue.Queue = queue.Queue()
    for _ in range(concurrency):  # connections opened before the clock starts
        idle.put(psycopg2.connect(url))

    def send(batch: str) -> None:
        connection = idle.get()
        with connection.cursor() as cursor:
            cursor.copy_expert(f"COPY journeys_interaction ({RAW_COLUMNS}) FROM STDIN", io.StringIO(batch))
        connection.commit()
        idle.put(connection)

    began = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(send, batches))
    elapsed = time.perf_counter() - began
    while not idle.empty():
        idle.get().close()
    return elapsed


def post(port: int, key: str, path: str, body: bytes) -> dict:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    connection.request(
        "POST",
        path,
        body=body,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    response = connection.getresponse()
    data = response.read()
    connection.close()
    if response.status != 200:
        raise RuntimeError(f"{response.status}: {data[:300]!r}")
    return json.loads(data)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument(
        "--server",
        choices=("asgi", "wsgi"),
        default="asgi",
        help="asgi: as in production (uvicorn workers running cxm.asgi); wsgi: sync workers running cxm.wsgi",
    )
    parser.add_argument("--baseline-first", action="store_true", help="run the raw COPY before the ingest")
    parser.add_argument("--no-baseline", action="store_true", help="skip the raw COPY baseline")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/cxm_journeys_bench")
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "cxm.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "SECURE_SSL_REDIRECT": "0",
        "API_RATE_LIMIT": "1000000/min",
        "LOG_LEVEL": "WARNING",
        "CXM_VAR_DIR": str(ROOT / "var"),
    }
    env.pop("REDIS_URL", None)
    print(f"database: {url.rsplit('/', 1)[-1]} (recreated)", flush=True)
    recreate_database(url)
    sh(PYTHON, "manage.py", "migrate", "--noinput", "-v0", env=env)
    key = sh(PYTHON, "manage.py", "shell", "-c", SETUP, env=env).strip().splitlines()[-1]
    port = free_port()
    server = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "gunicorn",
            *(
                ["cxm.asgi:application", "-k", "uvicorn_worker.UvicornWorker"]
                if args.server == "asgi"
                else ["cxm.wsgi:application"]
            ),
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(args.workers),
            "--timeout",
            "600",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.2)
        customers = [
            json.dumps(
                [
                    {"external_id": f"C{n:07d}", "name": f"Customer {n}"}
                    for n in range(k, min(k + 10_000, args.customers))
                ]
            ).encode()
            for k in range(0, args.customers, 10_000)
        ]
        for body in customers:
            post(port, key, "/api/v1/customers/bulk", body)
        print(f"{args.customers:,} customers created; building {args.records:,} interactions…", flush=True)
        bodies = make_bodies(args.records, args.batch, args.customers)
        baseline = None if args.no_baseline else copy_lines(url, bodies)
        baseline_elapsed = 0.0
        if baseline is not None and args.baseline_first:
            baseline_elapsed = raw_copy(url, baseline, args.concurrency)
            empty_table(url)
        warm_up = b'[{"customer_external_id":"C0000000","occurred_at":"2026-01-01T00:00:00Z"}]'
        for _ in range(args.workers * 2):  # every worker imports its code before the clock starts
            post(port, key, "/api/v1/interactions/bulk", warm_up)
        checkpoint(url)
        sampler = MemorySampler(server.pid)
        sampler.start()
        latencies: list[float] = []

        def send(body: bytes) -> int:
            began = time.perf_counter()
            result = post(port, key, "/api/v1/interactions/bulk", body)
            latencies.append(time.perf_counter() - began)
            if result["rejected"]:
                raise RuntimeError(result["errors"][:3])
            return result["created"]

        began = time.perf_counter()
        with ThreadPoolExecutor(args.concurrency) as pool:
            created = sum(pool.map(send, bodies))
        elapsed = time.perf_counter() - began
        sampler.stop.set()
        sampler.join()
        # Idempotency check: the first batch again creates nothing.
        again = post(port, key, "/api/v1/interactions/bulk", bodies[0])
        latencies.sort()
        print(
            f"records: {created:,} created in {elapsed:.1f} s with {len(bodies)} requests of {args.batch:,}"
        )
        print(f"throughput: {created / elapsed:,.0f} records/s")
        print(
            f"request latency: median {latencies[len(latencies) // 2]:.2f} s, "
            f"p95 {latencies[int(len(latencies) * 0.95) - 1]:.2f} s"
        )
        print(
            f"peak RSS: {sampler.peak_total / 1024:.0f} MiB for master + {args.workers} workers "
            f"(largest worker {sampler.peak_worker / 1024:.0f} MiB)"
        )
        print(f"re-sending a batch: created {again['created']}, duplicates {again['duplicates']}")
        if baseline is not None:
            if not args.baseline_first:
                baseline_elapsed = raw_copy(url, baseline, args.concurrency)
            rows = sum(batch.count("\n") for batch in baseline)
            print(
                f"raw COPY of the same {rows:,} rows into the same table ({len(baseline)} transactions, "
                f"{args.concurrency} connections): {baseline_elapsed:.1f} s, {rows / baseline_elapsed:,.0f} rows/s"
            )
            print(f"ratio ingest / raw COPY: {(created / elapsed) / (rows / baseline_elapsed):.2f}")
            print(f"load average after the run: {os.getloadavg()[0]:.1f}")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
