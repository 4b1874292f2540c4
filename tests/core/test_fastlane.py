"""The lean WSGI lane serves the public submission with the same view and answers as the full stack."""

import io
import json

import pytest

from cxm.core.fastlane import LEAN_MIDDLEWARE, LeanWSGIHandler, with_fast_lane
from surveys.collection.http import METHODS, PATH


def _call(app, method, path, body=b"", headers=None):
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "application/json",
        **(headers or {}),
    }
    captured = {}

    def start_response(status, response_headers, exc_info=None):
        captured["status"] = int(status.split()[0])
        captured["headers"] = dict(response_headers)

    content = b"".join(app(environ, start_response))
    return captured["status"], captured["headers"], content


def test_lean_handler_loads_only_the_lean_middleware(settings):
    full = list(settings.MIDDLEWARE)
    handler = LeanWSGIHandler()
    assert len(LEAN_MIDDLEWARE) < len(full)
    assert list(settings.MIDDLEWARE) == full  # restored
    assert handler._middleware_chain is not None


@pytest.mark.django_db(transaction=True)
def test_public_submit_goes_through_the_lean_lane_and_is_stored(organization):
    from django.core.wsgi import get_wsgi_application

    from surveys import services
    from surveys.models import Response
    from surveys.selectors import snapshot_invalidate

    snapshot_invalidate()
    survey = services.survey_create_from_template(organization=organization, template="nps")
    services.survey_set_status(survey=survey, action="activate")
    question = survey.questions.order_by("position").first()
    calls = []

    class Spy:
        def __call__(self, environ, start_response):
            calls.append(environ["PATH_INFO"])
            return full(environ, start_response)

    full = get_wsgi_application()
    app = with_fast_lane(Spy(), paths=PATH, methods=METHODS)
    body = json.dumps({"answers": {str(question.pk): 9}, "idempotency_key": "lean-1"}).encode()
    status, headers, content = _call(
        app, "POST", f"/api/v1/public/surveys/{survey.public_id}/responses", body
    )
    assert status == 201, content
    assert calls == []  # not the full stack
    assert headers["X-Request-ID"] and "Content-Security-Policy" in headers
    assert "Set-Cookie" not in headers
    assert Response.objects.unscoped().get(idempotency_key="lean-1").score == 9
    status, _headers, _content = _call(app, "GET", "/healthz")
    assert status == 200 and calls == ["/healthz"]
