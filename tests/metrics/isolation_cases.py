"""Cross-organization cases for metrics routes (see tests/isolation.py)."""

from tests.isolation import EXEMPT_MODELS, EXEMPT_ROUTES, RouteCase, register  # noqa: F401

# Models with no route yet: nothing exposes them, so there is nothing to leak.
EXEMPT_MODELS.update(
    {
        "metrics.Snapshot": "no route exposes it yet",
    }
)
