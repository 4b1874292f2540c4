"""Login, admin login and password reset: limited per address, never a lockout by a stranger."""

from __future__ import annotations

import pytest
from django.core import mail

pytestmark = pytest.mark.django_db
GOOD = {"username": "owner@acme.test", "password": "pw-123456!"}
BAD = {"username": "owner@acme.test", "password": "wrong"}


def test_a_stranger_failing_from_another_address_never_locks_the_owner_out(client, owner, settings):
    settings.LOGIN_RATE_LIMIT = 3
    for _ in range(10):
        client.post("/accounts/login/", BAD, REMOTE_ADDR="203.0.113.9")
    blocked = client.post("/accounts/login/", GOOD, REMOTE_ADDR="203.0.113.9")
    assert blocked.status_code == 429 and "_auth_user_id" not in client.session
    # The owner, from their own address, signs in at once.
    owner_response = client.post("/accounts/login/", GOOD, REMOTE_ADDR="198.51.100.7")
    assert owner_response.status_code == 302 and client.session["_auth_user_id"] == str(owner.pk)


def test_successful_logins_are_not_counted(client, owner, settings):
    settings.LOGIN_RATE_LIMIT = 2
    for _ in range(4):
        assert client.post("/accounts/login/", GOOD).status_code == 302
        client.logout()


def test_a_forged_forwarded_for_does_not_reset_the_count(client, owner, settings):
    settings.LOGIN_RATE_LIMIT = 3
    codes = [
        client.post("/accounts/login/", BAD, HTTP_X_FORWARDED_FOR=f"10.9.{n}.1").status_code for n in range(5)
    ]
    assert codes == [200, 200, 200, 429, 429]


def test_admin_login_shares_the_limit(client, owner, settings):
    settings.LOGIN_RATE_LIMIT = 2
    codes = [client.post("/admin/login/", BAD).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    assert "Too many login attempts" in client.post("/admin/login/", GOOD).content.decode()
    # Another address still reaches the admin's own login.
    other = client.get("/admin/login/", REMOTE_ADDR="198.51.100.7")
    assert other.status_code == 200 and b"Django" in other.content


def test_password_reset_is_limited_per_address(client, owner, settings):
    settings.LOGIN_RATE_LIMIT = 2
    codes = [
        client.post(
            "/accounts/password_reset/", {"email": "owner@acme.test"}, REMOTE_ADDR="203.0.113.9"
        ).status_code
        for _ in range(3)
    ]
    assert codes == [302, 302, 429] and len(mail.outbox) == 2
    # The owner resets from their own address.
    assert (
        client.post(
            "/accounts/password_reset/", {"email": "owner@acme.test"}, REMOTE_ADDR="198.51.100.7"
        ).status_code
        == 302
    )
    assert len(mail.outbox) == 3


def test_settings_show_the_widget_secret_and_rotate_it(owner_client, organization, make_member, client):
    from cxm.tenancy.roles import Role

    page = owner_client.get("/settings/").content.decode()
    organization.refresh_from_db()
    old = organization.widget_secret
    assert len(old) == 64 and f"data-widget-secret>{old}</pre>" in page
    assert "hashlib.sha256" in page and "signature" in page
    r = owner_client.post("/settings/widget-secret/rotate/")
    assert r.status_code == 302
    organization.refresh_from_db()
    assert organization.widget_secret != old and len(organization.widget_secret) == 64
    analyst = make_member(organization, Role.ANALYST, email="analyst@acme.test")
    client.force_login(analyst)
    assert client.post("/settings/widget-secret/rotate/").status_code == 403
    assert old not in client.get("/settings/").content.decode()


def test_each_organization_has_its_own_widget_secret(organization, other_organization):
    assert organization.widget_secret and other_organization.widget_secret
    assert organization.widget_secret != other_organization.widget_secret
