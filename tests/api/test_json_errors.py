"""Under /api/ every error is JSON in the API's error shape, with DEBUG on as well as off."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings

pytestmark = pytest.mark.django_db

DEBUG_MODES = [pytest.param(True, id="debug"), pytest.param(False, id="production")]


def _error(response) -> dict:
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    return response.json()["error"]


@pytest.mark.parametrize("debug", DEBUG_MODES)
def test_unknown_route_is_a_json_404(api_client, debug):
    with override_settings(DEBUG=debug):
        response = api_client.get("/api/v1/no-such-thing/")
        outside = api_client.get("/api/nothing-here")
    assert response.status_code == 404
    assert _error(response) == {"status": 404, "code": "not_found", "message": "Not found."}
    assert outside.status_code == 404 and _error(outside)["code"] == "not_found"


@pytest.mark.parametrize("debug", DEBUG_MODES)
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_a_body_sent_without_the_trailing_slash_gets_a_json_404_naming_the_address(api_client, debug, method):
    with override_settings(DEBUG=debug):
        response = getattr(api_client, method)("/api/v1/customers", {"external_id": "C1"}, format="json")
    assert response.status_code == 404
    error = _error(response)
    assert error["code"] == "not_found"
    assert error["message"] == "Not found. This address ends with a slash: /api/v1/customers/"


@pytest.mark.parametrize("debug", DEBUG_MODES)
def test_a_get_without_the_trailing_slash_is_still_redirected(api_client, debug):
    with override_settings(DEBUG=debug):
        response = api_client.get("/api/v1/customers?page_size=2")
    assert response.status_code == 301
    assert response["Location"] == "/api/v1/customers/?page_size=2"


@pytest.mark.parametrize("debug", DEBUG_MODES)
def test_an_unexpected_exception_is_a_json_500(debug, caplog):
    client = Client(raise_request_exception=False)
    with override_settings(DEBUG=debug, ROOT_URLCONF="tests.api.crash_urls"):
        plain = client.get("/api/v1/test-crash/plain")
        drf = client.get("/api/v1/test-crash/drf")
        page = client.get("/test-crash/page")
    expected = {
        "status": 500,
        "code": "server_error",
        "message": "An unexpected error occurred; it has been logged.",
    }
    assert plain.status_code == 500 and _error(plain) == expected
    assert drf.status_code == 500 and _error(drf) == expected
    # Pages keep Django's own error pages.
    assert page.status_code == 500 and page["Content-Type"].startswith("text/html")
    assert "boom outside DRF" in caplog.text and "boom inside DRF" in caplog.text


@pytest.mark.parametrize("debug", DEBUG_MODES)
def test_a_plain_view_refusing_a_method_answers_json_and_keeps_allow(debug):
    with override_settings(DEBUG=debug, ROOT_URLCONF="tests.api.crash_urls"):
        response = Client().get("/api/v1/test-crash/post-only")
    assert response.status_code == 405
    assert _error(response) == {"status": 405, "code": "method_not_allowed", "message": "Method Not Allowed."}
    assert response["Allow"] == "POST"


def test_pages_keep_their_html_404(client):
    with override_settings(DEBUG=True):
        response = client.get("/no-such-page/")
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("debug", DEBUG_MODES)
def test_under_asgi_too(debug):
    import asyncio

    from django.test import AsyncClient

    async def get():
        return await AsyncClient().get("/api/v1/no-such-thing/")

    with override_settings(DEBUG=debug):
        response = asyncio.run(get())
    assert response.status_code == 404
    assert _error(response) == {"status": 404, "code": "not_found", "message": "Not found."}
