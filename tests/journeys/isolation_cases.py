"""Cross-organization cases for journeys routes (see tests/isolation.py)."""

from tests.isolation import EXEMPT_MODELS, EXEMPT_ROUTES, RouteCase, register  # noqa: F401

# Models with no route yet: nothing exposes them, so there is nothing to leak.
EXEMPT_MODELS.update(
    {
        "journeys.Customer": "no route exposes it yet",
        "journeys.Interaction": "no route exposes it yet",
        "journeys.Journey": "no route exposes it yet",
        "journeys.Stage": "no route exposes it yet",
        "journeys.Touchpoint": "no route exposes it yet",
        "journeys.Transaction": "no route exposes it yet",
    }
)
