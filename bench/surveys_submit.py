#!/usr/bin/env python
"""Public survey submission under load vs. PostgreSQL's raw single-row INSERT rate.

In one run, against one PostgreSQL database:
  1. pgbench: 16 clients each committing single-row INSERTs (the ceiling for one commit per row);
  2. gunicorn serving cxm as in production (uvicorn workers running cxm.asgi; `--server wsgi`: gthread
     workers running cxm.wsgi); wrk with 16 connections POSTing unique responses to
     /api/v1/public/surveys/<id>/responses (validation, CORS, throttle, idempotency key included);
  3. counts the stored responses and compares them with the 2xx answers wrk received.

Usage (from the repository root; needs PostgreSQL, pgbench and wrk):
  .venv/bin/python bench/surveys_submit.py --database cxm_surveys_bench --duration 10 --rounds 3
Options: --server asgi|wsgi, --workers/--threads (gunicorn), --no-group-commit, --redis-url (throttle
cache; default none, i.e. a per-process cache).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")

LUA = r"""
-- Unique responses; in the last second only GET /healthz, so that every POST wrk sent has its
-- answer when wrk stops (an answer cut off in flight would be stored but never counted as a 2xx).
local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end
function init(args)
  created = 0
  other = 0
  counter = 0
  path = args[1]
  qid = args[2]
  origin = args[3]
  prefix = args[4]
  deadline = tonumber(args[5])
end
function request()
  if os.time() >= deadline then
    return wrk.format("GET", "/healthz")
  end
  counter = counter + 1
  local body = '{"answers":{"' .. qid .. '":' .. (counter % 11) .. '},"idempotency_key":"' .. prefix .. tid .. '-' ..
    counter .. '","channel":"widget","locale":"en","page_url":"https://shop.example.com/checkout"}'
  return wrk.format("POST", path, {["Content-Type"] = "application/json", ["Origin"] = origin}, body)
end
function response(status, headers, body)
  if status == 201 then created = created + 1 elseif status ~= 200 then other = other + 1 end
end
function done(summary, latency, requests)
  local total_created, total_other = 0, 0
  for _, t in ipairs(threads) do
    total_created = total_created + t:get("created")
    total_other = total_other + t:get("other")
  end
  io.write(string.format("RESULT %d %d %d %d %d %d %.0f %.0f %.0f\n", summary.requests, total_created, total_other,
    summary.errors.connect, summary.errors.read + summary.errors.write, summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), summary.duration))
end
"""

SETUP = """
from cxm.tenancy.models import Organization
from surveys import services
org, _ = Organization.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
survey = services.survey_create_from_template(organization=org, template="nps", name="Bench NPS")
services.survey_update(survey=survey, allowed_origins=["https://shop.example.com"])
services.survey_set_status(survey=survey, action="activate")
print("SURVEY", survey.public_id, survey.questions.order_by("position").first().id)
"""


def run(cmd: list[str], env: dict[str, str] | None = None, **kw: object) -> str:
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True, **kw)  # type: ignore[call-overload]
    return out.stdout


def psql(dsn: str, sql: str) -> str:
    return run(["psql", dsn, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--database", default="cxm_surveys_bench")
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--server", choices=("asgi", "wsgi"), default="asgi")
    parser.add_argument("--port", type=int, default=0, help="default: a free port")
    parser.add_argument("--no-group-commit", action="store_true")
    parser.add_argument("--redis-url", default="")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    for tool in ("pgbench", "wrk", "psql"):
        if shutil.which(tool) is None:
            print(f"{tool} is required", file=sys.stderr)
            return 2

    admin = f"postgresql://postgres@{args.host}:5432/postgres"
    dsn = f"postgresql://postgres@{args.host}:5432/{args.database}"
    psql(admin, f"DROP DATABASE IF EXISTS {args.database}")
    psql(admin, f"CREATE DATABASE {args.database}")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "cxm.settings.production",
        "DATABASE_URL": f"postgres://postgres@{args.host}:5432/{args.database}",
        "SECRET_KEY": secrets.token_urlsafe(60),
        "SECURE_SSL_REDIRECT": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "PUBLIC_RATE_LIMIT": "100000000/min",
        "LOG_LEVEL": "WARNING",
        "REDIS_URL": args.redis_url,
        "CXM_SURVEYS_GROUP_COMMIT": "0" if args.no_group_commit else "1",
    }
    run([PY, "manage.py", "migrate", "--noinput", "-v0"], env=env, cwd=ROOT)
    setup = run([PY, "manage.py", "shell", "-c", SETUP], env=env, cwd=ROOT)
    _, public_id, question_id = re.search(r"SURVEY (\S+) (\d+)", setup).group(0).split()  # type: ignore[union-attr]

    psql(
        dsn,
        "CREATE TABLE bench_insert (id bigserial PRIMARY KEY, organization_id int, payload jsonb, "
        "created_at timestamptz DEFAULT now())",
    )
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script:
        script.write("INSERT INTO bench_insert (organization_id, payload) VALUES (1, '{\"score\": 9}');\n")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(LUA)
    if not args.port:
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            args.port = probe.getsockname()[1]
    if args.server == "asgi":
        app = ["cxm.asgi:application", "-k", "uvicorn_worker.UvicornWorker"]
        env["WEB_THREADS"] = str(args.threads)
    else:
        app = ["cxm.wsgi:application", "-k", "gthread", "--threads", str(args.threads)]
    server = subprocess.Popen(
        [
            GUNICORN,
            *app,
            "--workers",
            str(args.workers),
            "-b",
            f"127.0.0.1:{args.port}",
            "--log-level",
            "warning",
            "--backlog",
            "2048",
        ],
        env=env,
        cwd=ROOT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{args.port}"
    path = f"/api/v1/public/surveys/{public_id}/responses"
    origin = "https://shop.example.com"
    wrk = ["wrk", "-t", "2", "-c", str(args.clients), "--timeout", "5s", "-s", lua.name]
    rounds = []
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        # Warm up (connections, imports, survey snapshot).
        run([*wrk, "-d", "4s", base, "--", path, question_id, origin, "warm-", str(int(time.time()) + 3)])
        # Rounds alternate the two measurements, so that load from elsewhere on the machine hits both.
        for number in range(args.rounds):
            # 1. The raw rate: single-row committed INSERTs, same database, same concurrency.
            psql(dsn, "TRUNCATE bench_insert")
            out = run(
                [
                    "pgbench",
                    "-n",
                    "-c",
                    str(args.clients),
                    "-j",
                    "2",
                    "-T",
                    str(args.duration),
                    "-f",
                    script.name,
                    dsn,
                ]
            )
            pg_tps = float(re.search(r"tps = ([\d.]+)", out).group(1))  # type: ignore[union-attr]
            # 2. The endpoint under gunicorn, from an empty table.
            psql(dsn, "TRUNCATE surveys_answer, surveys_response CASCADE")
            time.sleep(1)
            started = time.time()
            deadline = int(started) + args.duration  # POSTs until here (whole seconds: os.time() in Lua)
            out = run(
                [
                    *wrk,
                    "-d",
                    f"{args.duration + 2}s",
                    base,
                    "--",
                    path,
                    question_id,
                    origin,
                    f"r{number}-",
                    str(deadline),
                ]
            )
            post_seconds = deadline - started
            time.sleep(1)
            fields = re.search(r"RESULT (.*)", out).group(1).split()  # type: ignore[union-attr]
            requests, ok, other, e_conn, e_rw, e_timeout, p50, p99, _us = (float(x) for x in fields)
            stored = int(psql(dsn, "SELECT count(*) FROM surveys_response").strip())
            answers = int(psql(dsn, "SELECT count(*) FROM surveys_answer").strip())
            rate = ok / post_seconds
            # Context: what the same server answers for GET /healthz (the middleware stack, no work).
            hz = run(
                [
                    "wrk",
                    "-t",
                    "2",
                    "-c",
                    str(args.clients),
                    "-d",
                    f"{max(3, args.duration // 2)}s",
                    f"{base}/healthz",
                ]
            )
            healthz_rps = float(re.search(r"Requests/sec:\s+([\d.]+)", hz).group(1))  # type: ignore[union-attr]
            rounds.append(
                {
                    "pgbench_insert_tps": round(pg_tps, 1),
                    "endpoint_2xx_per_s": round(rate, 1),
                    "ratio_pct": round(100 * rate / pg_tps, 1),
                    "healthz_rps": round(healthz_rps, 1),
                    "p50_ms": round(p50 / 1000, 2),
                    "p99_ms": round(p99 / 1000, 2),
                    "answers_2xx": int(ok),
                    "answers_other": int(other),
                    "socket_errors": int(e_conn + e_rw + e_timeout),
                    "stored_responses": stored,
                    "stored_answers": answers,
                    "stored_equals_2xx": stored == int(ok),
                }
            )
            print(json.dumps(rounds[-1]), flush=True)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
        os.unlink(lua.name)
        os.unlink(script.name)

    def median(key: str) -> float:
        return sorted(r[key] for r in rounds)[len(rounds) // 2]

    result = {
        "median_pgbench_insert_tps": median("pgbench_insert_tps"),
        "median_endpoint_2xx_per_s": median("endpoint_2xx_per_s"),
        "median_ratio_pct": median("ratio_pct"),
        "median_p50_ms": median("p50_ms"),
        "median_p99_ms": median("p99_ms"),
        "median_healthz_rps": median("healthz_rps"),
        "all_stored_equal_2xx": all(r["stored_equals_2xx"] for r in rounds),
        "rounds": len(rounds),
        "clients": args.clients,
        "gunicorn": (
            f"uvicorn workers x {args.workers} (cxm.asgi)"
            if args.server == "asgi"
            else f"gthread {args.workers} workers x {args.threads} threads (cxm.wsgi)"
        ),
        "group_commit": not args.no_group_commit,
        "throttle_cache": "redis" if args.redis_url else "per-process",
        "duration_s": args.duration,
        "cpus": os.cpu_count(),
        "load_average_after": open("/proc/loadavg").read().split()[:3],
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
