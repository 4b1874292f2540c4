"""Benchmark: the customer side of a full rebuild alone, with its peak memory: the purchase summaries
rebuilt in SQL (metrics.services.customer_summaries_refresh), then the per-customer values stored a
part of the customers at a time (metrics.services.customer_values_store) and the value page's
per-customer part aggregated from them (metrics.computations.value_section.value_section_stored).
Runs in this process; prints the time of each step and the peak resident memory (VmHWM).

Usage (a dataset of bench/scale_data.py):
  nice -n 5 .venv/bin/python bench/customer_values_scale.py --database cxm_scale_10m
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import scale_data  # noqa: E402
from bench.dashboards_scale import memory_kib  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", required=True)
    parser.add_argument("--slug", default=scale_data.SLUG)
    args = parser.parse_args()
    scale_data.django_setup(scale_data.database_url(args.database))
    from django.utils import timezone

    from cxm.tenancy.models import Organization
    from cxm.tenancy.selectors import organization_settings
    from metrics.computations.value_section import value_section_stored
    from metrics.dashboard_selectors import current_clv_model
    from metrics.services import customer_summaries_refresh, customer_values_store

    organization = Organization.objects.get(slug=args.slug)
    now = timezone.now()
    model = current_clv_model(organization=organization)
    report: dict[str, object] = {
        "rss_before_mib": memory_kib().get("VmRSS", 0) // 1024,
        "model": model is not None,
    }
    started = time.perf_counter()
    report["summaries"] = customer_summaries_refresh(organization=organization)
    report["summaries_s"] = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    risk = customer_values_store(
        organization=organization,
        now=now,
        model=model,
        settings=organization_settings(organization=organization),
    )
    report["values_s"] = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    section = value_section_stored(
        organization=organization, model=model, model_payload=None, now=now, revenue_at_risk=risk
    )
    report["section_s"] = round(time.perf_counter() - started, 1)
    report["customers"] = section["customers"]
    report["peak_mib"] = memory_kib().get("VmHWM", 0) // 1024
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
