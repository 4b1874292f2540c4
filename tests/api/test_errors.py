import pytest
from rest_framework.test import APIClient


@pytest.mark.django_db
def test_organization_endpoint(api_client, organization):
    body = api_client.get("/api/v1/organization/").json()
    assert body == {
        "id": organization.pk,
        "slug": "acme",
        "name": "Acme",
        "time_zone": "UTC",
        "default_language": "en",
        "created_at": body["created_at"],
    }


@pytest.mark.django_db
def test_session_user_reaches_the_api_in_their_organization(owner_client, organization):
    assert owner_client.get("/api/v1/organization/").json()["slug"] == "acme"


@pytest.mark.django_db
def test_401_without_credentials_is_json():
    response = APIClient().get("/api/v1/organization/")
    assert response.status_code in (401, 403)
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["status"] == response.status_code


@pytest.mark.django_db
def test_401_for_a_bad_key():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer cxm_bad_key")
    response = client.get("/api/v1/organization/")
    assert response.status_code == 401
    assert response.json() == {
        "error": {"status": 401, "code": "authentication_failed", "message": "Invalid or revoked API key."}
    }
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.django_db
def test_404_unknown_api_path_is_json(api_client):
    response = api_client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.django_db
def test_405_is_json(api_client):
    response = api_client.delete("/api/v1/organization/")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


@pytest.mark.django_db
def test_415_is_json(api_client):
    response = api_client.post("/api/v1/organization/", data="a=1", content_type="text/plain")
    assert response.status_code in (405, 415)
    assert response.json()["error"]["status"] == response.status_code


@pytest.mark.django_db
def test_429_is_json(api_client, settings):
    from rest_framework.settings import api_settings

    from cxm.api.throttling import ApiKeyRateThrottle

    original = ApiKeyRateThrottle.THROTTLE_RATES
    ApiKeyRateThrottle.THROTTLE_RATES = {**api_settings.DEFAULT_THROTTLE_RATES, "api_key": "2/min"}
    try:
        codes = [api_client.get("/api/v1/organization/").status_code for _ in range(3)]
        response = api_client.get("/api/v1/organization/")
    finally:
        ApiKeyRateThrottle.THROTTLE_RATES = original
    assert codes[:2] == [200, 200] and response.status_code == 429
    assert response.json()["error"]["code"] == "throttled"
    assert int(response["Retry-After"]) > 0


def test_validation_and_500_shapes():
    from rest_framework import exceptions

    from cxm.api.exceptions import exception_handler

    response = exception_handler(
        exceptions.ValidationError({"score": ["Ensure this value is less than or equal to 10."]}), {}
    )
    assert response.status_code == 400
    assert response.data == {
        "error": {
            "status": 400,
            "code": "invalid",
            "message": "score: Ensure this value is less than or equal to 10.",
            "fields": {"score": ["Ensure this value is less than or equal to 10."]},
        }
    }
    crashed = exception_handler(RuntimeError("boom"), {})
    assert crashed.status_code == 500 and crashed.data["error"]["code"] == "server_error"


def test_413_shape():
    from django.core.exceptions import RequestDataTooBig

    from cxm.api.exceptions import exception_handler

    response = exception_handler(RequestDataTooBig("too big"), {})
    assert response.status_code == 413 and response.data["error"]["code"] == "payload_too_large"


@pytest.mark.django_db
def test_schema_and_docs_are_served_locally(client):
    schema = client.get("/api/v1/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/organization/" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html
    assert "cdn" not in html.lower()


@pytest.fixture
def echo(settings):
    settings.ROOT_URLCONF = "tests.api.echo_urls"


@pytest.mark.django_db
def test_400_field_errors_end_to_end(api_client, echo):
    response = api_client.post("/api/v1/echo/", {"score": 11}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "status": 400,
            "code": "invalid",
            "message": "score: Ensure this value is less than or equal to 10.",
            "fields": {"score": ["Ensure this value is less than or equal to 10."]},
        }
    }
    assert api_client.post("/api/v1/echo/", {"score": 7}, format="json").json() == {"score": 7}


@pytest.mark.django_db
def test_400_malformed_json(api_client, echo):
    response = api_client.post("/api/v1/echo/", data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"


@pytest.mark.django_db
def test_413_end_to_end(api_client, echo):
    response = api_client.post("/api/v1/echo/", {"score": 1, "pad": "x" * 2000}, format="json")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


@pytest.mark.django_db
def test_415_end_to_end(api_client, echo):
    response = api_client.post(
        "/api/v1/echo/", data="score=1", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


@pytest.mark.django_db
def test_read_only_key_gets_403_on_write(read_only_api_client, echo):
    response = read_only_api_client.post("/api/v1/echo/", {"score": 1}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["message"] == "This key or role lacks the 'edit' permission."


@pytest.mark.django_db
def test_the_api_throttle_counts_per_key_not_per_address(api_client, organization):
    """Two keys behind one address each get the whole rate: the throttle identifies the key."""
    from rest_framework.settings import api_settings
    from rest_framework.test import APIClient

    from cxm.api.throttling import ApiKeyRateThrottle
    from cxm.tenancy.services import api_key_create

    _key, plaintext = api_key_create(organization=organization, name="second")
    second = APIClient()
    second.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    original = ApiKeyRateThrottle.THROTTLE_RATES
    ApiKeyRateThrottle.THROTTLE_RATES = {**api_settings.DEFAULT_THROTTLE_RATES, "api_key": "2/min"}
    try:
        first_codes = [api_client.get("/api/v1/organization/").status_code for _ in range(3)]
        second_codes = [second.get("/api/v1/organization/").status_code for _ in range(2)]
    finally:
        ApiKeyRateThrottle.THROTTLE_RATES = original
    assert first_codes == [200, 200, 429]
    assert second_codes == [200, 200]
