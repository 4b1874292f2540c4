import pytest
from django.core import mail

from cxm.tenancy.models import Membership, UserPreference
from cxm.tenancy.roles import PERMISSIONS, Role, role_allows
from tests.factories import OrganizationFactory


def test_role_table():
    assert role_allows(Role.VIEWER, "view") and not role_allows(Role.VIEWER, "edit")
    assert role_allows(Role.ANALYST, "edit") and not role_allows(Role.ANALYST, "manage_members")
    assert role_allows(Role.ADMIN, "manage_api_keys") and not role_allows(Role.ADMIN, "manage_owners")
    assert all(role_allows(Role.OWNER, p) for p in PERMISSIONS)
    assert not role_allows(None, "view")
    with pytest.raises(KeyError):
        role_allows(Role.OWNER, "fly")


@pytest.mark.django_db
def test_login_page_and_sign_in(client, owner):
    page = client.get("/accounts/login/")
    assert page.status_code == 200 and b"Sign in to cxm" in page.content
    response = client.post("/accounts/login/", {"username": "owner@acme.test", "password": "pw-123456!"})
    assert response.status_code == 302
    assert client.get("/", follow=True).redirect_chain[-1][0] == "/dashboards/"


@pytest.mark.django_db
def test_login_attempts_are_rate_limited(client, owner, settings):
    settings.LOGIN_RATE_LIMIT = 3
    for _ in range(3):
        assert (
            client.post("/accounts/login/", {"username": "owner@acme.test", "password": "wrong"}).status_code
            == 200
        )
    blocked = client.post("/accounts/login/", {"username": "owner@acme.test", "password": "pw-123456!"})
    assert blocked.status_code == 429
    assert b"Too many login attempts" in blocked.content
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_pages_need_login(client):
    response = client.get("/dashboards/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.django_db
def test_user_without_organization_sees_explanation(client, django_user_model):
    user = django_user_model.objects.create_user("lonely@x.test", "lonely@x.test", "pw-123456!")
    client.force_login(user)
    response = client.get("/dashboards/")
    assert response.status_code == 403 and b"not a member of any organization" in response.content


@pytest.mark.django_db
def test_viewer_cannot_open_settings(client, organization, make_member):
    client.force_login(make_member(organization, Role.VIEWER))
    assert client.get("/settings/").status_code == 403
    assert client.get("/settings/api-keys/").status_code == 403
    assert client.get("/dashboards/").status_code == 200


@pytest.mark.django_db
def test_settings_saves_thresholds(owner_client, organization):
    response = owner_client.post(
        "/settings/",
        {
            "name": "Acme Ltd",
            "time_zone": "Asia/Shanghai",
            "default_language": "zh-hans",
            "currency": "cny",
            "survey_fatigue_days": 14,
            "activity_window_days": 60,
            "churn_window_days": 120,
            "new_customer_days": 30,
            "monetized_nps_days": 180,
            "at_risk_p_alive": 0.4,
        },
    )
    assert response.status_code == 302
    organization.refresh_from_db()
    assert organization.name == "Acme Ltd" and organization.time_zone == "Asia/Shanghai"
    assert organization.currency == "CNY"
    assert (
        organization.settings["survey_fatigue_days"] == 14 and organization.settings["at_risk_p_alive"] == 0.4
    )


@pytest.mark.django_db
def test_settings_rejects_unknown_time_zone(owner_client, organization):
    response = owner_client.post(
        "/settings/", {"name": "A", "time_zone": "Mars/Olympus", "default_language": "en"}
    )
    assert response.status_code == 200
    assert "time_zone" in response.context["form"].errors
    organization.refresh_from_db()
    assert organization.time_zone == "UTC"


@pytest.mark.django_db(transaction=True)
def test_invite_member_by_email_and_accept(owner_client, organization):
    from django.test import Client

    client = Client()
    response = owner_client.post("/settings/members/", {"email": "new@acme.test", "role": "analyst"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    link = next(line for line in mail.outbox[0].body.splitlines() if "/accounts/invite/" in line)
    path = link[link.index("/accounts/invite/") :].strip()
    page = client.get(path)
    assert page.status_code == 200
    client.post(path, {"name": "New Person", "password": "a-long-pass-987"})
    membership = Membership.objects.unscoped().get(user__email="new@acme.test")
    assert membership.organization == organization and membership.role == Role.ANALYST
    assert client.get(path).status_code == 404  # used once


@pytest.mark.django_db
def test_admin_cannot_grant_owner(client, organization, make_member):
    admin = make_member(organization, Role.ADMIN)
    client.force_login(admin)
    viewer = make_member(organization, Role.VIEWER)
    membership = Membership.objects.unscoped().get(user=viewer)
    client.post(f"/settings/members/{membership.pk}/", {"role": "owner", "action": "role"})
    membership.refresh_from_db()
    assert membership.role == Role.VIEWER
    client.post(f"/settings/members/{membership.pk}/", {"role": "analyst", "action": "role"})
    membership.refresh_from_db()
    assert membership.role == Role.ANALYST


@pytest.mark.django_db
def test_last_owner_cannot_be_demoted(owner_client, owner, organization):
    membership = Membership.objects.unscoped().get(user=owner)
    owner_client.post(f"/settings/members/{membership.pk}/", {"role": "viewer", "action": "role"})
    membership.refresh_from_db()
    assert membership.role == Role.OWNER


@pytest.mark.django_db
def test_language_choice_is_remembered_per_user(client, owner):
    client.force_login(owner)
    client.post("/account/language/", {"language": "zh-hans", "next": "/dashboards/"})
    assert UserPreference.objects.get(user=owner).language == "zh-hans"
    client.cookies.clear()
    client.force_login(owner)
    page = client.get("/dashboards/")
    assert page["Content-Language"] == "zh-hans"
    assert "仪表板" in page.content.decode()


@pytest.mark.django_db
def test_organization_switcher(client, owner, organization):
    second = OrganizationFactory(slug="second", name="Second")
    Membership.objects.create(organization=second, user=owner, role=Role.VIEWER)
    client.force_login(owner)
    assert client.get("/dashboards/").context["current_organization"] == organization
    client.post("/orgs/switch/", {"organization": second.pk})
    assert client.get("/dashboards/").context["current_organization"] == second
    stranger = OrganizationFactory(slug="stranger")
    assert client.post("/orgs/switch/", {"organization": stranger.pk}).status_code == 404


@pytest.mark.django_db
def test_password_reset_sends_email(client, owner):
    client.post("/accounts/password_reset/", {"email": "owner@acme.test"})
    assert len(mail.outbox) == 1 and "/accounts/reset/" in mail.outbox[0].body


@pytest.mark.django_db
def test_create_organization_and_seed_demo_commands(db):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command(
        "create_organization",
        "--slug",
        "shop",
        "--name",
        "Shop",
        "--owner-email",
        "boss@shop.test",
        stdout=out,
    )
    assert "password:" in out.getvalue()
    assert Membership.objects.unscoped().get(user__email="boss@shop.test").role == Role.OWNER
    out = StringIO()
    call_command("seed_demo", "--size", "small", stdout=out)
    call_command("seed_demo", "--size", "small", stdout=StringIO())
    assert "demo@example.com" in out.getvalue()
    assert Membership.objects.unscoped().filter(organization__slug="demo").count() == 1
