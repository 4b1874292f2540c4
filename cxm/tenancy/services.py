from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

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

from cxm.audit.services import audit_change, audit_delete, audit_record, snapshot

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
    audit_change(action="organization.create", instance=organization)
    if owner is not None:
        membership = Membership.objects.create(organization=organization, user=owner, role=Role.OWNER)
        audit_change(action="member.add", instance=membership)
    return organization


def organization_settings_update(
    *, organization: Organization, fields: dict[str, Any], settings_values: dict[str, Any]
) -> Organization:
    """Saves the organization's own fields and its documented settings, with an audit event."""
    with transaction.atomic():
        # A bound ModelForm already set the new values on the instance: the old ones are stored.
        before = snapshot(Organization.objects.get(pk=organization.pk))
        for name, value in fields.items():
            setattr(organization, name, value)
        organization.settings = {**(organization.settings or {}), **settings_values}
        organization.full_clean()
        organization.save()
        audit_change(action="settings.update", instance=organization, before=before)
    return organization


@transaction.atomic
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
    membership, created = Membership.objects.update_or_create(
        organization=organization, user=user, defaults={"role": role}
    )
    if created:
        audit_change(action="member.add", instance=membership)
    elif existing is not None and existing.role != role:
        audit_change(action="member.role_change", instance=membership, before=snapshot(existing))
    return membership


def membership_remove(*, membership: Membership, actor_role: str) -> None:
    if membership.role == Role.OWNER:
        if actor_role != Role.OWNER:
            raise PermissionDenied(_("Only an owner can remove an owner."))
        if Membership.objects.for_organization(membership.organization).filter(role=Role.OWNER).count() <= 1:
            raise ValidationError(_("An organization keeps at least one owner."))
    with transaction.atomic():
        audit_delete(action="member.remove", instance=membership)
        membership.delete()


@transaction.atomic
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
    audit_change(action="api_key.create", instance=key)
    return key, plaintext


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    if api_key.revoked_at is None:
        with transaction.atomic():
            before = snapshot(api_key)
            api_key.revoked_at = timezone.now()
            api_key.save(update_fields=["revoked_at"])
            audit_change(action="api_key.revoke", instance=api_key, before=before)
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


@transaction.atomic
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
    audit_change(action="member.invite", instance=invitation)
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
    if created:
        audit_change(action="member.join", instance=membership)
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

    with transaction.atomic():
        organization.widget_secret = new_widget_secret()
        organization.save(update_fields=["widget_secret"])
        audit_record(
            organization=organization,
            action="settings.widget_secret_rotate",
            object_type="organization",
            object_id=organization.pk,
            object_repr=str(organization),
        )
    return organization.widget_secret
