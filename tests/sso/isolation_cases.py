"""Cross-organization cases for single sign-on routes (see tests/isolation.py)."""

from __future__ import annotations

from tests.isolation import EXEMPT_MODELS, EXEMPT_ROUTES

EXEMPT_ROUTES.update(
    {
        "sso-start": "the parameter is a public organization slug; an organization without single sign-on "
        "is a 404 (tests/sso/test_login.py)",
    }
)
EXEMPT_MODELS.update(
    {
        "sso.SsoProvider": "shown only as the request's own organization's (Settings → Single sign-on), never by id"
    }
)
