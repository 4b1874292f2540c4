"""Single sign-on through a real OpenID Connect provider on loopback: the code flow with PKCE and a
nonce, the identity token checked (signature, audience, expiry), the domain rule, just-in-time
membership, and password login switched off."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from cxm.audit.models import AuditEvent
from cxm.sso.models import SsoProvider
from cxm.sso.secrets import secret_decrypt
from cxm.sso.services import sso_provider_save
from cxm.tenancy.models import Membership
from cxm.tenancy.roles import Role

from .conftest import CLIENT_ID, CLIENT_SECRET

pytestmark = [pytest.mark.django_db, pytest.mark.xdist_group("oidc-provider")]


@pytest.fixture
def sso(organization, oidc_provider):
    return sso_provider_save(
        organization=organization,
        enabled=True,
        issuer=oidc_provider.issuer,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        default_role=Role.ANALYST,
        allowed_domains=["acme.test"],
    )


def _sign_in(client, provider, email, slug="acme"):
    start = client.get(f"/sso/{slug}/")
    assert start.status_code == 302
    authorize = start["Location"]
    assert authorize.startswith(provider.issuer + "/authorize/")
    assert "code_challenge=" in authorize and "nonce=" in authorize
    return client.get(provider.sign_in(authorize, email))


def test_settings_read_discovery_and_keep_the_secret_encrypted(sso, oidc_provider):
    stored = SsoProvider.objects.unscoped().get(pk=sso.pk)
    assert stored.token_endpoint == oidc_provider.issuer + "/token/"
    assert stored.jwks_uri.startswith(oidc_provider.issuer)
    assert CLIENT_SECRET not in stored.client_secret_encrypted
    assert secret_decrypt(stored.client_secret_encrypted) == CLIENT_SECRET
    event = AuditEvent.objects.for_organization(sso.organization).get(action="settings.sso_update")
    assert event.after["client_id"] == CLIENT_ID and event.after["client_secret"] == "(changed)"
    assert CLIENT_SECRET not in str(event.after) and stored.client_secret_encrypted not in str(event.after)


def test_a_new_person_signs_in_and_joins_with_the_default_role(client, organization, sso, oidc_provider):
    response = _sign_in(client, oidc_provider, "alice@acme.test")
    assert response.status_code == 302 and response["Location"] == "/"
    user = get_user_model().objects.get(email="alice@acme.test")
    assert not user.has_usable_password()
    membership = Membership.objects.for_organization(organization).get(user=user)
    assert membership.role == Role.ANALYST
    assert client.get("/surveys/").status_code == 200  # signed in, in the organization
    joined = AuditEvent.objects.for_organization(organization).get(action="member.join_sso")
    assert joined.after["role"] == "analyst"


def test_an_existing_account_is_matched_by_email(client, organization, sso, oidc_provider, make_member):
    bob = make_member(organization, Role.ADMIN, email="bob@acme.test")
    bob.email = "bob@acme.test"
    bob.save()
    assert _sign_in(client, oidc_provider, "bob@acme.test").status_code == 302
    assert int(client.session["_auth_user_id"]) == bob.pk
    assert Membership.objects.for_organization(organization).get(user=bob).role == Role.ADMIN  # kept


@pytest.mark.parametrize(
    ("email", "reason"),
    [
        ("forged@acme.test", "signature is not valid"),
        ("otherapp@acme.test", "issued for another application"),
        ("expired@acme.test", "has expired"),
        ("eve@elsewhere.test", "outside the allowed email domains"),
    ],
)
def test_refused_tokens_and_the_domain_rule(client, organization, sso, oidc_provider, email, reason):
    response = _sign_in(client, oidc_provider, email)
    assert response.status_code == 403
    assert reason in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert not get_user_model().objects.filter(email=email).exists()
    assert not Membership.objects.for_organization(organization).filter(user__email=email).exists()


def test_a_replayed_callback_is_refused(client, sso, oidc_provider):
    start = client.get("/sso/acme/")
    callback = oidc_provider.sign_in(start["Location"], "alice@acme.test")
    assert client.get(callback).status_code == 302
    client.logout()
    replay = client.get(callback)
    assert replay.status_code == 403 and "_auth_user_id" not in client.session


def test_password_login_switched_off(client, organization, sso, oidc_provider, make_member):
    carol = make_member(organization, Role.VIEWER, email="carol@acme.test")
    signed_in = client.post("/accounts/login/", {"username": "carol@acme.test", "password": "pw-123456!"})
    assert signed_in.status_code == 302  # passwords work until the switch is off
    client.logout()
    sso_provider_save(
        organization=organization,
        enabled=True,
        issuer=oidc_provider.issuer,
        client_id=CLIENT_ID,
        default_role=Role.ANALYST,
        allowed_domains=["acme.test"],
        password_login_disabled=True,
    )
    refused = client.post("/accounts/login/", {"username": "carol@acme.test", "password": "pw-123456!"})
    assert refused.status_code == 200 and "_auth_user_id" not in client.session
    assert "signs in with single sign-on" in refused.content.decode()
    wrong = client.post("/accounts/login/", {"username": "carol@acme.test", "password": "nope"})
    assert "signs in with single sign-on" not in wrong.content.decode()  # nothing told to a guesser
    assert carol.pk


def test_local_accounts_of_other_organizations_keep_working(client, other_organization, sso, make_member):
    make_member(other_organization, Role.OWNER, email="dave@globex.test")
    response = client.post("/accounts/login/", {"username": "dave@globex.test", "password": "pw-123456!"})
    assert response.status_code == 302 and "_auth_user_id" in client.session


def test_unknown_or_disabled_organizations_are_404(client, organization, other_organization, sso):
    assert client.get("/sso/nobody/").status_code == 404
    assert client.get(f"/sso/{other_organization.slug}/").status_code == 404  # no provider there
    assert client.get("/sso/?organization=acme").status_code == 302
    assert client.get("/sso/?organization=").status_code == 400


def test_the_settings_page_in_both_languages(owner_client, organization, sso):
    page = owner_client.get("/settings/sso/").content.decode()
    assert "/sso/acme/" in page and "/sso/callback/" in page and CLIENT_SECRET not in page
    chinese = owner_client.get("/settings/sso/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "单点登录" in chinese


def test_settings_refuse_an_unreachable_issuer(owner_client, organization):
    response = owner_client.post(
        "/settings/sso/",
        {
            "enabled": "on",
            "issuer": "http://127.0.0.1:9/o",
            "client_id": "x",
            "client_secret": "y",
            "default_role": "viewer",
        },
    )
    assert response.status_code == 200
    assert "discovery document could not be read" in response.content.decode()
    assert not SsoProvider.objects.for_organization(organization).exists()


def test_viewers_cannot_reach_the_settings(client, organization, make_member):
    client.force_login(make_member(organization, Role.VIEWER))
    assert client.get("/settings/sso/").status_code == 403
