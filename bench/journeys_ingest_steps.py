#!/usr/bin/env python
"""Where a bulk-ingest batch spends its time, in-process (no HTTP): run after bench/journeys_ingest.py,
on its database (100,000 customers, the bench organization).

Sends `--batches` batches of 10,000 new interactions through `records_ingest` (one worker, one
connection), timing each step, then the raw COPY of the same rows into the same table, and prints
the mean per batch.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cxm_journeys_bench \
        .venv/bin/python bench/journeys_ingest_steps.py [--batches 10]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cxm.settings.local")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402
from journeys_ingest import RAW_COLUMNS, copy_lines, make_bodies  # noqa: E402

from cxm.core.jsonsafe import loads_strict  # noqa: E402
from cxm.tenancy.models import Organization  # noqa: E402
from journeys import ingest  # noqa: E402
from journeys.ingest import writer  # noqa: E402
from journeys.signals import customer_data_changed  # noqa: E402

TIMES: dict[str, float] = defaultdict(float)


def timed(name: str, module: Any, attribute: str) -> None:
    real: Callable[..., Any] = getattr(module, attribute)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        began = time.perf_counter()
        try:
            return real(*args, **kwargs)
        finally:
            TIMES[name] += time.perf_counter() - began

    setattr(module, attribute, wrapper)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--customers", type=int, default=100_000)
    args = parser.parse_args()
    customer_data_changed.receivers.clear()  # no dashboard recompute in this process meanwhile
    organization = Organization.objects.get(slug="bench")
    # Records numbered after the HTTP benchmark's so they are new.
    bodies = make_bodies(args.batches * 10_000, 10_000, args.customers, first=1_000_000)
    timed("clean (Python)", ingest, "clean_records")
    timed("lock organization + touchpoints", writer, "_live_touchpoints")
    timed("resolve + lock customers, move first/last seen", writer, "customers_resolve")
    timed("ids into rows (Python)", writer, "_resolved_rows")
    timed("COPY (incl. encoding the text)", writer, "_copy_into_table")
    timed("write_clean_rows (all of the write, incl. commit)", ingest, "write_clean_rows")
    began = time.perf_counter()
    for body in bodies:
        TIMES["parse JSON (as the API: loads_strict)"] -= time.perf_counter()
        records = loads_strict(body, check_text=False)
        TIMES["parse JSON (as the API: loads_strict)"] += time.perf_counter()
        ingest.records_ingest(organization=organization, kind="interactions", records=records)
    total = time.perf_counter() - began
    print(f"in-process ingest, {args.batches} batches of 10,000: {total / args.batches:.3f} s per batch")
    for name, seconds in TIMES.items():
        print(f"  {name}: {seconds / args.batches:.3f} s")
    lines = copy_lines(os.environ["DATABASE_URL"], bodies)
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM journeys_interaction WHERE external_id = ANY(%s)",
            [[record["id"] for body in bodies for record in json.loads(body)]],
        )
    import io

    copy_time = commit_time = 0.0
    for text in lines:
        with transaction.atomic():
            raw = connection.cursor().cursor
            began = time.perf_counter()
            raw.copy_expert(f"COPY journeys_interaction ({RAW_COLUMNS}) FROM STDIN", io.StringIO(text))
            copy_time += time.perf_counter() - began
            began = time.perf_counter()
        commit_time += time.perf_counter() - began
    print(
        f"raw COPY of the same rows: {(copy_time + commit_time) / args.batches:.3f} s per batch "
        f"(COPY {copy_time / args.batches:.3f} s, commit {commit_time / args.batches:.3f} s)"
    )


if __name__ == "__main__":
    main()
