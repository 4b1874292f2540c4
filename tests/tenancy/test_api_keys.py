import hashlib
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from cxm.tenancy.models import ApiKey
from cxm.tenancy.services import api_key_authenticate, api_key_create, api_key_revoke


@pytest.mark.django_db
def test_key_is_stored_hashed_with_a_visible_prefix(organization):
    key, plaintext = api_key_create(organization=organization, name="CRM sync")
    stored = ApiKey.objects.unscoped().get(pk=key.pk)
    assert plaintext.startswith(f"cxm_{stored.prefix}_")
    assert stored.hashed_key == hashlib.sha256(plaintext.encode()).hexdigest()
    assert plaintext not in str(ApiKey.objects.unscoped().filter(pk=key.pk).values().first())


@pytest.mark.django_db
def test_authenticate_records_last_use_and_revocation_stops_it(organization):
    key, plaintext = api_key_create(organization=organization, name="x")
    assert key.last_used_at is None
    found = api_key_authenticate(plaintext=plaintext)
    assert found.pk == key.pk and found.organization == organization
    assert ApiKey.objects.unscoped().get(pk=key.pk).last_used_at is not None
    api_key_revoke(api_key=key)
    assert api_key_authenticate(plaintext=plaintext) is None
    assert api_key_authenticate(plaintext="cxm_nothing_here") is None


@pytest.mark.django_db
def test_revoked_key_gets_401_json(organization):
    from rest_framework.test import APIClient

    key, plaintext = api_key_create(organization=organization, name="x")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    assert client.get("/api/v1/organization/").json()["slug"] == "acme"
    api_key_revoke(api_key=key)
    response = client.get("/api/v1/organization/")
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "Invalid or revoked API key."


@pytest.mark.django_db
def test_create_api_key_command_prints_the_key_once(organization):
    out, err = StringIO(), StringIO()
    call_command("create_api_key", "--org", "acme", "--name", "ETL", "--read-only", stdout=out, stderr=err)
    plaintext = out.getvalue().strip()
    key = api_key_authenticate(plaintext=plaintext)
    assert key.name == "ETL" and key.read_only is True
    assert key.prefix in err.getvalue()
    with pytest.raises(CommandError):
        call_command("create_api_key", "--org", "nope", "--name", "x", stdout=StringIO(), stderr=StringIO())


@pytest.mark.django_db
def test_settings_page_creates_shows_once_and_revokes(owner_client, organization):
    response = owner_client.post("/settings/api-keys/", {"name": "Zapier", "read_only": "on"})
    assert response.status_code == 200
    shown = response.context["new_key"]
    key = api_key_authenticate(plaintext=shown)
    assert key.organization == organization and key.read_only
    again = owner_client.get("/settings/api-keys/")
    assert shown not in again.content.decode()
    assert f"cxm_{key.prefix}" in again.content.decode()
    owner_client.post(f"/settings/api-keys/{key.pk}/revoke/")
    assert ApiKey.objects.unscoped().get(pk=key.pk).revoked_at is not None


@pytest.mark.django_db
def test_read_only_key_cannot_write(read_only_api_client, api_client):
    assert read_only_api_client.get("/api/v1/organization/").status_code == 200
    from cxm.api.permissions import request_allows
    from cxm.tenancy.tenant import Tenant

    class R:
        def __init__(self, key):
            self.tenant = Tenant(organization=key.organization, api_key=key)

    ro = ApiKey.objects.unscoped().get(name="ro")
    assert request_allows(R(ro), "view") and not request_allows(R(ro), "edit")
