"""Writes of the metrics layer: snapshots, per-customer values, the CLV model, recompute state.

Reads for a recompute go through `read_alias()` (the replica when configured); every write goes to
the primary ("default") inside one transaction, so a failed or interrupted recompute leaves the
previous snapshots in place.

- `recompute`: stale marks, the debounced queue, the guarded run (claim, run, release).
- `snapshots`: compute the dashboards' payloads and store them.
- `clv`: fit and score the CLV model, and its JSON.
- `customer_values`: the per-customer rows a recompute stores, a part of the customers at a time.
- `customer_summaries`: the per-customer purchase summaries, refreshed as data arrives.
"""

from __future__ import annotations

from .clv import clv_fit, clv_model_payload, clv_score, clv_scores_payload
from .customer_summaries import customer_summaries_refresh
from .customer_values import customer_values_store
from .recompute import (
    recompute_claim,
    recompute_mark_stale,
    recompute_queue_if_due,
    recompute_release,
    recompute_request,
    recompute_run,
    stale_signal_key,
)
from .snapshots import (
    dashboards_compute,
    dashboards_recompute,
    snapshot_compute,
    snapshot_resolve,
    snapshots_store,
)

__all__ = [
    "clv_fit",
    "clv_model_payload",
    "clv_score",
    "clv_scores_payload",
    "customer_summaries_refresh",
    "customer_values_store",
    "dashboards_compute",
    "dashboards_recompute",
    "recompute_claim",
    "recompute_mark_stale",
    "recompute_queue_if_due",
    "recompute_release",
    "recompute_request",
    "recompute_run",
    "snapshot_compute",
    "snapshot_resolve",
    "snapshots_store",
    "stale_signal_key",
]
