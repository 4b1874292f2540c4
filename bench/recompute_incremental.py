"""Benchmark: the full rebuild of an organization's default dashboards against the incremental
recompute after 1 % new data, on a database filled by bench/scale_data.py (organization "scale").

Each step runs in its own child process (its peak resident memory is its own), through the entry
points a worker uses, with `METRICS_RECOMPUTE_ON_SIGNAL` off (nothing else is queued meanwhile):
  full        `metrics.services.dashboards_recompute()`: the rollups rebuilt and every
              dashboard computed from all history (the baseline, same run);
  unchanged   `metrics.tasks.recompute_organization` with no new data (every dashboard reused);
  all         the same task after 1 % new customers, orders, interactions and responses
              (`scale_data.add`, which sends the signals ingest sends);
  responses   the same task after 1 % new responses only;
  check       a full rebuild after both additions, whose payloads must equal, exactly, those the
              incremental recompute stored (the JSON of every default snapshot).
Then the added rows are removed and a full rebuild leaves the dataset as found (skip with --keep).

Usage:
  .venv/bin/python bench/recompute_incremental.py --database cxm_scale_1m
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import scale_data  # noqa: E402
from bench.dashboards_scale import memory_kib  # noqa: E402

TAG_ALL = "benchinc"
TAG_RESPONSES = "benchincr"


def _payloads(organization: Any) -> dict[str, Any]:
    from metrics.models import Snapshot

    return {
        s.dashboard: s.payload
        for s in Snapshot.objects.for_organization(organization).filter(filters_key="default")
    }


def _differences(before: Any, after: Any, path: str = "") -> list[str]:
    """The paths where two payloads differ, with both values (the first few)."""
    if isinstance(before, dict) and isinstance(after, dict):
        found = []
        for key in sorted(set(before) | set(after), key=str):
            found += _differences(before.get(key), after.get(key), f"{path}.{key}")
        return found
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        found = []
        for index, (b, a) in enumerate(zip(before, after, strict=True)):
            found += _differences(b, a, f"{path}[{index}]")
        return found
    return [] if before == after else [f"{path}: incremental {before!r} != full {after!r}"[:300]]


def child(mode: str, database: str, slug: str) -> None:
    scale_data.django_setup(scale_data.database_url(database))
    from django.test.utils import override_settings

    from cxm.tenancy.models import Organization
    from metrics.services import dashboards_recompute
    from metrics.tasks import recompute_organization

    organization = Organization.objects.get(slug=slug)
    result: dict[str, Any] = {"rss_before_kib": memory_kib().get("VmRSS", 0)}
    with override_settings(METRICS_RECOMPUTE_ON_SIGNAL=False):
        if mode in ("full", "check"):
            before = _payloads(organization) if mode == "check" else None
            started = time.perf_counter()
            result["parts_ms"] = dashboards_recompute(organization=organization)
            result["seconds"] = time.perf_counter() - started
            if before is not None:
                after = _payloads(organization)
                result["identical"] = before == after
                result["differing"] = sorted(name for name in after if before.get(name) != after[name])
                result["differences"] = {
                    name: _differences(before.get(name), after[name])[:20] for name in result["differing"]
                }
        else:
            if mode == "all":
                result["added"] = scale_data.add(organization=organization, fraction=0.01, tag=TAG_ALL)
            elif mode == "responses":
                result["added"] = scale_data.add(
                    organization=organization, fraction=0.01, tag=TAG_RESPONSES, kinds=("responses",), seed=3
                )
            from metrics.services import recompute as recompute_module

            captured: dict[str, Any] = {}
            original = recompute_module.dashboards_recompute

            def capturing(**kwargs: Any) -> Any:
                captured["parts_ms"] = original(**kwargs)
                return captured["parts_ms"]

            recompute_module.dashboards_recompute = capturing  # type: ignore[assignment]
            started = time.perf_counter()
            result["outcome"] = recompute_organization(organization.pk)
            result["seconds"] = time.perf_counter() - started
            if result["outcome"] != "done":
                raise SystemExit(f"the recompute did not run: {result['outcome']}")
            result.update(captured)
    result["peak_kib"] = memory_kib().get("VmHWM", 0)
    print("RESULT " + json.dumps(result, default=str), flush=True)


def run_child(mode: str, args: argparse.Namespace) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", mode, "--database", args.database, "--slug", args.slug]
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    for line in completed.stdout.splitlines():
        if line.startswith("RESULT "):
            found = json.loads(line[len("RESULT ") :])
            found["load"] = " ".join(f"{x:.1f}" for x in os.getloadavg())
            print(mode, json.dumps(found), flush=True)
            return found
    raise SystemExit(f"child {mode} failed:\n{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", required=True)
    parser.add_argument("--slug", default=scale_data.SLUG)
    parser.add_argument("--keep", action="store_true", help="keep the added 1 % (no restoring rebuild)")
    parser.add_argument("--out", default="")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.database, args.slug)
        return
    scale_data.django_setup(scale_data.database_url(args.database))
    from cxm.tenancy.models import Organization

    organization = Organization.objects.get(slug=args.slug)
    report: dict[str, Any] = {
        "database": args.database,
        "counts": scale_data.table_counts(organization.pk),
        "load_start": " ".join(f"{x:.1f}" for x in os.getloadavg()),
    }
    print(report["counts"], flush=True)
    from metrics.models import RecomputeState

    # A run killed earlier (an interrupted benchmark) leaves its lock for 20 minutes: release it.
    RecomputeState.objects.for_organization(organization).update(running_since=None, run_token="")
    try:
        for mode in ("full", "unchanged", "all", "responses", "check"):
            report[mode] = run_child(mode, args)
    finally:
        if not args.keep:
            for tag in (TAG_ALL, TAG_RESPONSES):
                print("removed", scale_data.remove(organization=organization, tag=tag), flush=True)
            report["restore"] = run_child("full", args)
    report["load_end"] = " ".join(f"{x:.1f}" for x in os.getloadavg())
    full = report["full"]["seconds"]
    for mode in ("unchanged", "all", "responses"):
        report[mode]["speedup"] = full / report[mode]["seconds"] if report[mode]["seconds"] else None
    out = Path(args.out or f"/tmp/recompute_incremental-{args.database}.json")
    out.write_text(json.dumps(report, indent=1, default=str))
    print(json.dumps({k: report[k] for k in ("full", "unchanged", "all", "responses", "check")}, indent=1))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
