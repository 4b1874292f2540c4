"""Benchmark: every dashboard under every filter at scale, computed and served from a snapshot; the
full rebuild against hand-written SQL with its peak memory; the recompute after 1 % new data.

Runs against a database filled by bench/scale_data.py (organization "scale"), through the entry
points that pages and workers use, looked up by name so that the script keeps working while the
code under it changes (a missing one stops the run with a message naming what was looked for):
  computed  the task that computes a snapshot on demand (metrics.tasks.compute_snapshot), called
            in-process after the snapshot for those filters is deleted, so it really computes;
  page      GET of the dashboard page with the filters in the query string, through the Django test
            client (the whole request: middleware, session, snapshot read, template), with the
            snapshot present (checked before timing);
  rebuild   the full recompute of an organization (metrics.services.dashboards_rebuild,
            or dashboards_recompute(full=True), or dashboards_recompute), in a child process whose
            peak resident memory (VmHWM) is reported; compared with the same aggregates written by
            hand as SQL (bench/metrics_recompute.py) on the same data;
  recompute the periodic task (metrics.tasks.recompute_organization) after 1 % new data added by
            scale_data.add (which sends the signals ingest sends), in a child process; the data is
            then removed and a full rebuild restores the snapshots, so the dataset is left as found.

Usage:
  .venv/bin/python bench/dashboards_scale.py --database cxm_scale_1m --scale 1 --repeat 2
Options: --only overview (one dashboard), --page-repeat 20, --skip-rebuild, --skip-recompute,
  --skip-hand, --cold (also time the first page visit without a snapshot), --out FILE (markdown).
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import scale_data  # noqa: E402

DASHBOARD_URLS = {
    "overview": "/dashboards/",
    "journey": "/dashboards/journey/",
    "retention": "/dashboards/retention/",
    "value": "/dashboards/value/",
    "drivers": "/dashboards/drivers/",
}


class EntryPointMissing(SystemExit):
    pass


def entry_point(candidates: list[str]) -> tuple[str, Callable[..., Any]]:
    """The first of "module:attribute" that exists, or stop with the list of what was tried."""
    for candidate in candidates:
        module_name, _, attribute = candidate.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        found = getattr(module, attribute, None)
        if callable(found):
            return candidate, found
    raise EntryPointMissing(
        f"none of these entry points exists: {', '.join(candidates)}. The code moved: point the "
        "benchmark at the new name (bench/dashboards_scale.py, the candidate lists)."
    )


COMPUTE_ENTRIES = ["metrics.tasks:compute_snapshot"]
REBUILD_ENTRIES = ["metrics.services:dashboards_rebuild", "metrics.services:dashboards_recompute"]
RECOMPUTE_ENTRIES = ["metrics.tasks:recompute_organization"]


def rebuild_call(organization: Any) -> Any:
    name, function = entry_point(REBUILD_ENTRIES)
    if "full" in inspect.signature(function).parameters:
        return function(organization=organization, full=True)
    return function(organization=organization)


def memory_kib() -> dict[str, int]:
    """Peak and current resident memory of this process (KiB), from /proc, else getrusage."""
    found: dict[str, int] = {}
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                found[key] = int(value.split()[0])
    except OSError:
        found["VmHWM"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return found


# --- child processes (own memory peak) ------------------------------------------------------------


def child(mode: str, database: str, slug: str) -> None:
    scale_data.django_setup(scale_data.database_url(database))
    from django.test.utils import override_settings

    from cxm.tenancy.models import Organization

    organization = Organization.objects.get(slug=slug)
    with override_settings(METRICS_RECOMPUTE_ON_SIGNAL=False):
        before = memory_kib()
        result: dict[str, Any] = {"rss_before_kib": before.get("VmRSS", 0)}
        if mode == "rebuild":
            started = time.perf_counter()
            detail = rebuild_call(organization)
            result["seconds"] = time.perf_counter() - started
            result["detail"] = detail if isinstance(detail, dict) else str(detail)
        elif mode == "recompute":
            name, task = entry_point(RECOMPUTE_ENTRIES)
            # The run before the new data settles whatever state the recompute keeps (untimed).
            started = time.perf_counter()
            task(organization.pk)
            result["settle_seconds"] = time.perf_counter() - started
            result["added"] = scale_data.add(organization=organization, fraction=0.01, tag="benchinc")
            started = time.perf_counter()
            outcome = task(organization.pk)
            result["seconds"] = time.perf_counter() - started
            result["outcome"] = str(outcome)
        result["peak_kib"] = memory_kib().get("VmHWM", 0)
    print("RESULT " + json.dumps(result, default=str), flush=True)


def run_child(mode: str, args: argparse.Namespace) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", mode, "--database", args.database, "--slug", args.slug]
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    for line in completed.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    raise SystemExit(f"child {mode} failed:\n{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}")


# --- the filters -----------------------------------------------------------------------------------


def filter_set(organization: Any) -> list[tuple[str, dict[str, str]]]:
    """(label, query parameters): date windows from one day to all time, then each dimension
    (on the default window), each picked as the busiest value in this organization's data."""
    from django.db import connection
    from django.utils import timezone

    org = organization.pk
    today = timezone.localdate(timezone=organization.tzinfo)
    last = today - timedelta(days=1)
    with connection.cursor() as c:
        c.execute("SELECT min(submitted_at) FROM surveys_response WHERE organization_id = %s", [org])
        first_at = c.fetchone()[0]
        c.execute(
            "SELECT r.touchpoint_id, t.stage_id, t.channel FROM surveys_response r JOIN journeys_touchpoint t ON t.id = r.touchpoint_id"
            " WHERE r.organization_id = %s AND r.score_kind = 'nps' GROUP BY 1, 2, 3 ORDER BY count(*) DESC LIMIT 1",
            [org],
        )
        touchpoint, stage, _channel = c.fetchone()
        c.execute(
            "SELECT t.channel FROM surveys_response r JOIN journeys_touchpoint t ON t.id = r.touchpoint_id"
            " WHERE r.organization_id = %s GROUP BY 1 ORDER BY count(*) DESC LIMIT 1",
            [org],
        )
        channel = c.fetchone()[0]
        c.execute(
            "SELECT survey_id FROM surveys_response WHERE organization_id = %s GROUP BY 1 ORDER BY count(*) DESC LIMIT 1",
            [org],
        )
        survey = c.fetchone()[0]
        c.execute(
            "SELECT locale FROM surveys_response WHERE organization_id = %s GROUP BY 1 ORDER BY count(*) DESC LIMIT 1",
            [org],
        )
        locale = c.fetchone()[0]
        segment = "champions"
        try:
            c.execute(
                "SELECT rfm_segment FROM metrics_customervalue WHERE organization_id = %s AND rfm_segment <> ''"
                " GROUP BY 1 ORDER BY count(*) DESC LIMIT 1",
                [org],
            )
            row = c.fetchone()
            segment = row[0] if row else segment
        except Exception:  # the table moved: keep the default segment
            connection.rollback()
    first_day = timezone.localtime(first_at, organization.tzinfo).date() if first_at else last
    window = lambda days: {"start": (last - timedelta(days=days - 1)).isoformat(), "end": last.isoformat()}  # noqa: E731
    return [
        ("1 day", window(1)),
        ("7 days", window(7)),
        ("30 days", window(30)),
        ("90 days", window(90)),
        ("default (365 days)", {}),
        ("all time", {"start": first_day.isoformat(), "end": today.isoformat()}),
        ("touchpoint", {"touchpoint": str(touchpoint)}),
        ("stage", {"stage": str(stage)}),
        (f"channel={channel}", {"channel": channel}),
        ("survey", {"survey": str(survey)}),
        (f"segment=rfm:{segment}", {"segment": f"rfm_segment:{segment}"}),
        (f"language={locale}", {"locale": locale}),
    ]


def responses_under(organization: Any, params: dict[str, str]) -> int | None:
    try:
        from metrics.computations.aggregates import responses_for
        from metrics.filters import MetricFilters

        return responses_for(
            organization=organization, filters=MetricFilters.from_params(params), using="default"
        ).count()
    except Exception:  # moved: the count is context only
        return None


def snapshot_rows(organization: Any, dashboard: str, params: dict[str, str]) -> Any:
    from metrics.filters import MetricFilters
    from metrics.models import Snapshot

    key = MetricFilters.from_params(params).key
    manager = Snapshot.objects
    if hasattr(manager, "for_organization"):
        rows = manager.for_organization(organization)
    else:  # pragma: no cover - older code
        rows = manager.filter(organization=organization)
    return rows.filter(dashboard=dashboard, filters_key=key)


# --- timing ----------------------------------------------------------------------------------------


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    if len(ordered) == 1:
        return ordered[0]
    # Nearest rank on the upper side: with few samples p95 is the slowest one.
    index = min(len(ordered) - 1, max(0, int(-(-q * len(ordered) // 1)) - 1))
    return ordered[index]


def time_dashboards(
    organization: Any,
    dashboards: list[str],
    filters: list[tuple[str, dict[str, str]]],
    args: argparse.Namespace,
) -> list[dict[str, Any]]:
    from bench.metrics_recompute import logged_in_client

    _name, compute = entry_point(COMPUTE_ENTRIES)
    client = logged_in_client(organization, "scale-bench@example.com")
    rows = []
    for dashboard in dashboards:
        url = DASHBOARD_URLS[dashboard]
        client.get(url)  # warm the templates of this page
        for label, params in filters:
            computed, cold = [], None
            for attempt in range(args.repeat):
                snapshot_rows(organization, dashboard, params).delete()
                if args.cold and attempt == 0:
                    started = time.perf_counter()
                    response = client.get(url, params)
                    cold = time.perf_counter() - started
                    snapshot_rows(organization, dashboard, params).delete()
                started = time.perf_counter()
                compute(organization.pk, dashboard, dict(params))
                computed.append(time.perf_counter() - started)
            if not snapshot_rows(organization, dashboard, params).exists():
                raise SystemExit(f"{dashboard} {label}: the compute entry point stored no snapshot")
            pages = []
            for _ in range(args.page_repeat):
                started = time.perf_counter()
                response = client.get(url, params)
                pages.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200:
                    raise SystemExit(f"{url} {params}: status {response.status_code}")
            row = {
                "dashboard": dashboard,
                "filter": label,
                "params": params,
                "responses": responses_under(organization, params),
                "computed_p50": statistics.median(computed),
                "computed_p95": percentile(computed, 0.95),
                "page_p50": statistics.median(pages),
                "page_p95": percentile(pages, 0.95),
                "cold": cold,
            }
            rows.append(row)
            print(
                f"{dashboard:9} {label:24} computed p50 {row['computed_p50']:.2f}s p95 {row['computed_p95']:.2f}s"
                f" | page p50 {row['page_p50']:.0f}ms p95 {row['page_p95']:.0f}ms"
                + (f" | cold page {cold:.2f}s" if cold is not None else ""),
                flush=True,
            )
    return rows


def time_hand(organization: Any) -> dict[str, float]:
    from bench.metrics_recompute import time_hand_sql

    return time_hand_sql(organization, 1)


# --- report ----------------------------------------------------------------------------------------


def markdown(report: dict[str, Any]) -> str:
    lines = [
        f"Data ({report['database']}): " + ", ".join(f"{n:,} {t}" for t, n in report["counts"].items()) + ".",
        f"Load average at start: {report['load_start']}; at end: {report['load_end']}. "
        f"Computed: {report['repeat']} runs each; pages: {report['page_repeat']} requests each.",
        "",
    ]
    if report.get("dashboards"):
        lines += [
            "| dashboard | filter | responses in view | computed p50 s | computed p95 s | page p50 ms | page p95 ms |"
            + (" cold page s |" if any(r["cold"] is not None for r in report["dashboards"]) else ""),
            "| --- | --- | ---: | ---: | ---: | ---: | ---: |"
            + (" ---: |" if any(r["cold"] is not None for r in report["dashboards"]) else ""),
        ]
        for r in report["dashboards"]:
            n = f"{r['responses']:,}" if r["responses"] is not None else "?"
            cold = f" {r['cold']:.2f} |" if r["cold"] is not None else ""
            lines.append(
                f"| {r['dashboard']} | {r['filter']} | {n} | {r['computed_p50']:.2f} | {r['computed_p95']:.2f}"
                f" | {r['page_p50']:.0f} | {r['page_p95']:.0f} |{cold}"
            )
        worst_c = max(report["dashboards"], key=lambda r: r["computed_p95"])
        worst_p = max(report["dashboards"], key=lambda r: r["page_p95"])
        lines += [
            "",
            f"Slowest computed p95: {worst_c['computed_p95']:.2f} s ({worst_c['dashboard']}, {worst_c['filter']}); "
            f"slowest page p95: {worst_p['page_p95']:.0f} ms ({worst_p['dashboard']}, {worst_p['filter']}).",
        ]
    if report.get("rebuild"):
        rebuild = report["rebuild"]
        lines += [
            "",
            f"Full rebuild ({rebuild['entry']}): {rebuild['seconds']:.1f} s, peak RSS {rebuild['peak_kib'] / 1024:.0f} MiB "
            f"(process after imports: {rebuild['rss_before_kib'] / 1024:.0f} MiB).",
        ]
        if report.get("hand"):
            hand_total = sum(report["hand"].values())
            lines.append(
                f"Hand-written SQL, same aggregates: {hand_total:.1f} s ("
                + ", ".join(f"{k} {v:.1f}" for k, v in report["hand"].items())
                + f"). Full rebuild / hand SQL: **{rebuild['seconds'] / hand_total:.2f}**."
            )
    if report.get("recompute"):
        rec = report["recompute"]
        lines.append(
            f"Recompute after 1 % new data ({rec['entry']}; added {rec['added']}): {rec['seconds']:.1f} s "
            f"(outcome {rec['outcome']}), peak RSS {rec['peak_kib'] / 1024:.0f} MiB; full rebuild / recompute: "
            f"**{report['rebuild']['seconds'] / rec['seconds']:.1f}×**."
            if report.get("rebuild")
            else f"Recompute after 1 % new data: {rec['seconds']:.1f} s, peak RSS {rec['peak_kib'] / 1024:.0f} MiB."
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", required=True)
    parser.add_argument(
        "--scale", type=float, default=1.0, help="generate at this scale when the organization is missing"
    )
    parser.add_argument("--slug", default=scale_data.SLUG)
    parser.add_argument("--repeat", type=int, default=3, help="computed runs per dashboard and filter")
    parser.add_argument("--page-repeat", type=int, default=20, help="page requests per dashboard and filter")
    parser.add_argument("--only", choices=list(DASHBOARD_URLS), action="append")
    parser.add_argument("--skip-rebuild", action="store_true")
    parser.add_argument("--skip-hand", action="store_true")
    parser.add_argument("--skip-recompute", action="store_true")
    parser.add_argument("--skip-dashboards", action="store_true")
    parser.add_argument("--cold", action="store_true")
    parser.add_argument("--out", default="")
    parser.add_argument("--child", choices=["rebuild", "recompute"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.database, args.slug)
        return
    url = scale_data.database_url(args.database)
    scale_data.django_setup(url)
    from django.test.utils import override_settings

    from cxm.tenancy.models import Organization

    organization = Organization.objects.filter(slug=args.slug).first()
    if organization is None:
        print(f"generating scale {args.scale} in {args.database}", flush=True)
        scale_data.generate(scale=args.scale, slug=args.slug)
        organization = Organization.objects.get(slug=args.slug)
    counts = scale_data.table_counts(organization.pk)
    report: dict[str, Any] = {
        "database": args.database,
        "counts": {
            "responses": counts["surveys_response"],
            "interactions": counts["journeys_interaction"],
            "orders": counts["journeys_transaction"],
            "customers": counts["journeys_customer"],
            "answers": counts["surveys_answer"],
        },
        "load_start": " ".join(f"{x:.1f}" for x in os.getloadavg()),
        "repeat": args.repeat,
        "page_repeat": args.page_repeat,
    }
    print(report["counts"], flush=True)
    # Fail early, before an hour of timing, if an entry point is gone.
    entry_point(COMPUTE_ENTRIES)
    rebuild_name, _ = entry_point(REBUILD_ENTRIES)
    recompute_name, _ = entry_point(RECOMPUTE_ENTRIES)
    if not args.skip_rebuild:
        report["rebuild"] = {"entry": rebuild_name, **run_child("rebuild", args)}
        print("rebuild", report["rebuild"], flush=True)
    if not args.skip_hand:
        report["hand"] = time_hand(organization)
        print("hand sql", report["hand"], flush=True)
    with override_settings(METRICS_RECOMPUTE_ON_SIGNAL=False):
        if not args.skip_dashboards:
            dashboards = args.only or list(DASHBOARD_URLS)
            report["dashboards"] = time_dashboards(organization, dashboards, filter_set(organization), args)
        if not args.skip_recompute:
            try:
                report["recompute"] = {"entry": recompute_name, **run_child("recompute", args)}
                print("recompute", report["recompute"], flush=True)
            finally:
                print("removed", scale_data.remove(organization=organization, tag="benchinc"), flush=True)
                # Leave the dataset as found: snapshots and stored values from the data without the 1 %.
                restore = run_child("rebuild", args)
                report.setdefault("rebuild_after", restore)
                print("restored by a full rebuild", restore, flush=True)
    report["load_end"] = " ".join(f"{x:.1f}" for x in os.getloadavg())
    text = markdown(report)
    print(text)
    out = Path(args.out or f"/tmp/dashboards_scale-{args.database}.md")
    out.write_text(text)
    out.with_suffix(".json").write_text(json.dumps(report, indent=1, default=str))
    print(f"written to {out} and {out.with_suffix('.json')}")


if __name__ == "__main__":
    main()
