"""The Delighted-compatible API authenticates with HTTP Basic (a key, never a session or a Bearer
header), so the generic walk cannot call it; tests/delighted/test_http.py
(`test_another_organizations_key_sees_nothing`) proves that another organization's key gets 404 or
nothing on every route."""

from tests.isolation import EXEMPT_MODELS, EXEMPT_ROUTES

_WHY = "HTTP Basic only; cross-organization 404s in tests/delighted/test_http.py"
EXEMPT_ROUTES.update(
    {
        name: _WHY
        for name in (
            "delighted-people",
            "delighted-person",
            "delighted-pending-requests",
            "delighted-responses",
            "delighted-response",
            "delighted-metrics",
            "delighted-unsubscribes",
            "delighted-bounces",
            "delighted-autopilot",
            "delighted-autopilot-memberships",
        )
    }
)
EXEMPT_MODELS.update(
    {
        "delighted.ApiConfiguration": "one per organization, edited on its settings page (no id in a URL)",
        "delighted.SurveyRequest": "reached through its person: " + _WHY,
        "delighted.AutopilotMembership": "reached through its person: " + _WHY,
        "delighted.ResponseAnnotation": "reached through its response: " + _WHY,
        "delighted.ImportedRecord": "written by the importer only, never exposed",
    }
)
