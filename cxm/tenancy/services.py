from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from .models import ApiKey, MemberInvitation, Membership, Organization, UserPreference
from .roles import Role

API_KEY_PREFIX = "cxm_"


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@transaction.atomic
def organization_create(
    *,
    slug: str,
    name: str,
    owner: User | None = None,
    time_zone: str = "UTC",
    default_language: str = "en",
    currency: str = "USD",
) -> Organization:
    organization = Organization(
        slug=slug, name=name, time_zone=time_zone, default_language=default_language, currency=currency
    )
    organization.full_clean()
    organization.save()
    if owner is not None:
        Membership.objects.create(organization=organization, user=owner, role=Role.OWNER)
    return organization


def membership_set(
    *, organization: Organization, user: User, role: str, actor_role: str | None = None
) -> Membership:
    if role not in Role.values:
        raise ValidationError(_("Unknown role."))
    existing = Membership.objects.for_organization(organization).filter(user=user).first()
    touches_owner = role == Role.OWNER or (existing is not None and existing.role == Role.OWNER)
    if actor_role is not None and touches_owner and actor_role != Role.OWNER:
        raise PermissionDenied(_("Only an owner can grant or change the owner role."))
    if existing is not None and existing.role == Role.OWNER and role != Role.OWNER:
        if Membership.objects.for_organization(organization).filter(role=Role.OWNER).count() <= 1:
            raise ValidationError(_("An organization keeps at least one owner."))
    membership, _created = Membership.objects.update_or_create(
        organization=organization, user=user, defaults={"role": role}
    )
    return membership


def membership_remove(*, membership: Membership, actor_role: str) -> None:
    if membership.role == Role.OWNER:
        if actor_role != Role.OWNER:
            raise PermissionDenied(_("Only an owner can remove an owner."))
        if Membership.objects.for_organization(membership.organization).filter(role=Role.OWNER).count() <= 1:
            raise ValidationError(_("An organization keeps at least one owner."))
    membership.delete()


def api_key_create(
    *,
    organization: Organization,
    name: str,
    read_only: bool = False,
    created_by: User | None = None,
) -> tuple[ApiKey, str]:
    """Creates a key and returns it with its plaintext, which is never stored and shown only once."""
    if not name.strip():
        raise ValidationError(_("A key needs a name."))
    secret = secrets.token_urlsafe(32)
    prefix = secrets.token_hex(4)
    plaintext = f"{API_KEY_PREFIX}{prefix}_{secret}"
    key = ApiKey.objects.create(
        organization=organization,
        name=name.strip()[:100],
        prefix=prefix,
        hashed_key=_sha256(plaintext),
        read_only=read_only,
        created_by=created_by,
    )
    return key, plaintext


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    return api_key


def api_key_authenticate(*, plaintext: str) -> ApiKey | None:
    """The active key for a plaintext secret, or None. Records when it was last used (once a minute)."""
    if not plaintext.startswith(API_KEY_PREFIX) or len(plaintext) > 200:
        return None
    key = (
        ApiKey.objects.unscoped()  # the key names its organization
        .select_related("organization")
        .filter(hashed_key=_sha256(plaintext), revoked_at__isnull=True)
        .first()
    )
    if key is None:
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > timedelta(minutes=1):
        ApiKey.objects.for_organization(key.organization_id).filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


def member_invite(
    *, organization: Organization, email: str, role: str, invited_by: User, actor_role: str
) -> MemberInvitation:
    """Creates an invitation and emails its link (after commit)."""
    if role == Role.OWNER and actor_role != Role.OWNER:
        raise PermissionDenied(_("Only an owner can invite another owner."))
    token = secrets.token_urlsafe(32)
    invitation = MemberInvitation.objects.create(
        organization=organization,
        email=email.strip().lower(),
        role=role,
        token_hash=_sha256(token),
        invited_by=invited_by,
        expires_at=timezone.now() + timedelta(days=7),
    )
    url = settings.SITE_URL + reverse("accept_invitation", args=[token])

    def _send() -> None:
        with translation.override(organization.default_language):
            subject = _("You are invited to %(org)s on cxm") % {"org": organization.name}
            body = render_to_string(
                "registration/invitation_email.txt",
                {
                    "organization": organization,
                    "url": url,
                    "invited_by": invited_by,
                    "role": invitation.get_role_display(),
                },
            )
        send_mail(subject, body, None, [invitation.email])

    transaction.on_commit(_send)
    return invitation


def invitation_find(*, token: str) -> MemberInvitation | None:
    return (
        MemberInvitation.objects.unscoped()  # the token names its organization
        .select_related("organization")
        .filter(token_hash=_sha256(token), accepted_at__isnull=True, expires_at__gt=timezone.now())
        .first()
    )


@transaction.atomic
def invitation_accept(*, invitation: MemberInvitation, user: User) -> Membership:
    locked = (
        MemberInvitation.objects.for_organization(invitation.organization_id)
        .select_for_update()
        .get(pk=invitation.pk)
    )
    if locked.accepted_at is not None:
        raise ValidationError(_("This invitation was already used."))
    membership, created = Membership.objects.get_or_create(
        organization=locked.organization, user=user, defaults={"role": locked.role}
    )
    locked.accepted_at = timezone.now()
    locked.save(update_fields=["accepted_at"])
    return membership


def user_create(*, email: str, password: str | None, name: str = "") -> User:
    User = get_user_model()
    first, _sep, last = name.strip().partition(" ")
    user = User.objects.create_user(username=email.lower(), email=email.lower(), password=password)
    user.first_name, user.last_name = first[:150], last[:150]
    user.save(update_fields=["first_name", "last_name"])
    return user


def user_set_preferences(
    *, user: User, language: str | None = None, organization: Organization | None = None
) -> UserPreference:
    preference, _created = UserPreference.objects.get_or_create(user=user)
    fields = []
    if language is not None:
        if language not in dict(settings.LANGUAGES):
            raise ValidationError(_("Unknown language."))
        preference.language = language
        fields.append("language")
    if organization is not None:
        preference.current_organization = organization
        fields.append("current_organization")
    if fields:
        preference.save(update_fields=fields)
    return preference


def organization_widget_secret_rotate(*, organization: Organization) -> str:
    """A new widget secret: signatures made with the old one stop attaching answers to customers
    (each web process within its survey snapshot's few seconds)."""
    from .models import new_widget_secret

    organization.widget_secret = new_widget_secret()
    organization.save(update_fields=["widget_secret"])
    return organization.widget_secret
