"""Cross-organization cases for metrics routes (see tests/isolation.py).

No metrics route takes an object id: every page and endpoint reads the request's organization, and
tests/metrics/test_pages.py and test_api.py prove another organization's numbers never show.
"""

from tests.isolation import EXEMPT_MODELS, EXEMPT_ROUTES, RouteCase, register  # noqa: F401

EXEMPT_MODELS.update(
    {
        "metrics.Snapshot": "read only by (request organization, dashboard, filters); no route takes its id",
        "metrics.RecomputeState": "one row per organization, read by the request's organization only",
        "metrics.ClvModel": "GET /api/v1/metrics/clv/model returns the request organization's latest; no id route",
        "metrics.CustomerValue": "read through metrics.selectors with the request's organization; no id route",
        "metrics.CustomerSummary": "derived per customer, read by the recompute of its own organization; no route",
        "metrics.ResponseRollup": "derived daily counts, read by the dashboards of the request's organization; no route",
        "metrics.RollupState": "one row per organization, used by its own recompute; no route",
        "metrics.RecomputePart": "parts stored by an organization's recompute for its next run; no route",
    }
)
