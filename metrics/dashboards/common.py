"""What every dashboard payload shares: the window it covers, the significance of a change, and the
JSON conversion every payload goes through."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace
from typing import Any

import numpy as np

from cxm.tenancy.models import Organization

from ..computations import aggregates, rollup_scores, trends
from ..computations.significance import nps_z_test, two_proportion_z_test, welch_t_test
from ..filters import MetricFilters


def _window_payload(organization: Organization, filters: MetricFilters) -> dict[str, Any]:
    resolved = filters.resolved(organization)
    return {
        "start": resolved.start.isoformat() if resolved.start else None,
        "end": resolved.end.isoformat() if resolved.end else None,
        "bucket": filters.bucket,
        "time_zone": organization.time_zone,
    }


_SCAN = SimpleNamespace(
    score_summary=aggregates.score_summary,
    score_distribution=aggregates.score_distribution,
    score_trend=trends.score_trend,
    score_breakdown=trends.score_breakdown,
)


def score_source(filters: MetricFilters, context: dict[str, Any]) -> Any:
    """What computes the survey scores of a view: the daily rollups when they are current
    (`context["rollups"]`, set by the caller) and serve these filters, else a scan of the responses.
    Both give the same numbers (tests/metrics/test_rollups.py)."""
    if context.get("rollups") and rollup_scores.serves(filters):
        return rollup_scores
    return _SCAN


def period_comparison(current: dict[str, Any], previous: dict[str, Any]) -> dict[str, Any]:
    """Significance of the change from the previous same-length window to this one."""
    nps1, nps2 = current["nps"], previous["nps"]
    csat1, csat2 = current["csat"], previous["csat"]
    ces1, ces2 = current["ces"], previous["ces"]
    return {
        "nps": nps_z_test(
            nps1=nps1["nps"],
            var1=nps1["variance"],
            n1=nps1["n"],
            nps2=nps2["nps"],
            var2=nps2["variance"],
            n2=nps2["n"],
        ),
        "csat": two_proportion_z_test(
            successes1=csat1["top_two"], n1=csat1["n"], successes2=csat2["top_two"], n2=csat2["n"]
        ),
        "ces": welch_t_test(
            mean1=ces1["mean"],
            var1=ces1["variance"],
            n1=ces1["n"],
            mean2=ces2["mean"],
            var2=ces2["variance"],
            n2=ces2["n"],
        ),
    }


def json_safe(value: Any) -> Any:
    """NaN/inf become None, numpy scalars plain numbers, dates ISO strings (JSON payloads)."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return None if not np.isfinite(value) else float(value)
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "__float__") and not isinstance(value, bool | int):
        return float(value)
    return value
