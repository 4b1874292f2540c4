"""Notifications: a request (from loop.signals.notification_requested) is recorded after commit as one
inbox row per member and one message per subscribed chat channel; emails and chat messages are then
sent by tasks on the `notifications` queue. A chat message that meets no answer, a 408/429/5xx or the
vendor's rate limit is tried again with growing waits; a refused one (4xx, a vendor error code) fails
at once. A sweep (beat) finds what was recorded but never queued (a broker that was down) and the
retries that are due."""

from __future__ import annotations

import json
import logging
import uuid
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from cxm.tenancy.models import Membership, Organization, UserPreference

from ..models import (
    ChannelMessage,
    DeliveryStatus,
    EmailStatus,
    Notification,
    NotificationChannel,
    NotificationKind,
    NotificationPreference,
)
from ..signals import NOTIFICATION_KINDS
from ..webhooks import delivery
from ..webhooks.addresses import AddressRefused, resolve
from . import robots
from .inbox import unread_forget
from .messages import message_render

logger = logging.getLogger(__name__)

# Waits after the 1st, 2nd, … failed attempt of a chat message; after the last, it has failed.
RETRY_DELAYS = (10, 60, 5 * 60, 30 * 60, 2 * 3600)
REQUEST_TIMEOUT = 10.0
CLAIM_SECONDS = 60
COUNTDOWN_LIMIT = 5 * 60
# A row still pending this long after it was recorded was never queued (or its worker died).
REQUEUE_AFTER = timedelta(minutes=2)


def member_language(*, organization: Organization, user_id: int) -> str:
    return member_languages(organization=organization, user_ids=[user_id])[user_id]


def member_languages(*, organization: Organization, user_ids: list[int]) -> dict[int, str]:
    """Each member's language: their own choice (account preference), else the organization's."""
    chosen = dict(
        UserPreference.objects.filter(user_id__in=user_ids)
        .exclude(language="")
        .values_list("user_id", "language")
    )
    return {user_id: chosen.get(user_id) or organization.default_language for user_id in user_ids}


def _check_request(kind: str, facts: dict[str, Any]) -> None:
    if kind not in NOTIFICATION_KINDS:
        raise ValueError(f"unknown notification kind {kind!r}; one of {NOTIFICATION_KINDS}")
    json.dumps(facts)  # a TypeError here, in the sender, not later in a task


def notification_request(
    *, organization_id: int, kind: str, user_ids: list[int], facts: dict[str, Any], channels: bool
) -> str:
    """Records the request when the sender's transaction commits (at once outside one). Returns its key."""
    _check_request(kind, facts)
    request_key = uuid.uuid4().hex
    members = sorted({int(user_id) for user_id in user_ids})
    facts = dict(facts)

    def record() -> None:
        notifications_record(
            organization_id=organization_id,
            kind=kind,
            user_ids=members,
            facts=facts,
            channels=bool(channels),
            request_key=request_key,
        )

    # robust: a failure here is logged, never raised into the sender after its commit.
    transaction.on_commit(record, robust=True)
    return request_key


def notifications_record(
    *,
    organization_id: int,
    kind: str,
    user_ids: list[int],
    facts: dict[str, Any],
    channels: bool,
    request_key: str,
) -> tuple[list[int], list[int]]:
    """One inbox row per member (people who are not members are left out) and one message per active
    channel that subscribed to `kind`; then their deliveries are queued. The same request_key twice
    records nothing more. Returns (notification ids, channel message ids) created now."""
    members = list(
        Membership.objects.for_organization(organization_id)
        .filter(user_id__in=user_ids)
        .values_list("user_id", flat=True)
    )
    now = timezone.now()
    targets = []
    if channels:
        targets = [
            channel
            for channel in NotificationChannel.objects.for_organization(organization_id).filter(
                is_active=True
            )
            if channel.wants(kind)
        ]
    with transaction.atomic():
        Notification.objects.bulk_create(
            [
                Notification(
                    organization_id=organization_id,
                    user_id=user_id,
                    kind=kind,
                    facts=facts,
                    request_key=request_key,
                    created_at=now,
                )
                for user_id in members
            ],
            ignore_conflicts=True,
        )
        ChannelMessage.objects.bulk_create(
            [
                ChannelMessage(
                    organization_id=organization_id,
                    channel=channel,
                    request_key=request_key,
                    kind=kind,
                    facts=facts,
                    next_attempt_at=now,
                    created_at=now,
                )
                for channel in targets
            ],
            ignore_conflicts=True,
        )
        notification_ids = list(
            Notification.objects.for_organization(organization_id)
            .filter(request_key=request_key, email_status=EmailStatus.PENDING)
            .values_list("pk", flat=True)
        )
        message_ids = list(
            ChannelMessage.objects.for_organization(organization_id)
            .filter(request_key=request_key, attempts=0)
            .values_list("pk", flat=True)
        )
        transaction.on_commit(lambda: unread_forget(organization_id=organization_id, user_ids=members))
        transaction.on_commit(lambda: _queue_emails(notification_ids))
        transaction.on_commit(lambda: _queue_messages(message_ids))
    return notification_ids, message_ids


def _queue_emails(notification_ids: list[int]) -> None:
    from ..tasks import notify_email

    for notification_id in notification_ids:
        try:
            notify_email.apply_async(args=[notification_id], ignore_result=True)
        except Exception:  # noqa: BLE001 (the broker is down: the sweep queues it later)
            logger.warning("notification email %s not queued; the sweep will", notification_id, exc_info=True)


def _queue_messages(message_ids: list[int], countdown: float = 0) -> None:
    from ..tasks import notify_channel

    for message_id in message_ids:
        try:
            notify_channel.apply_async(args=[message_id], countdown=countdown, ignore_result=True)
        except Exception:  # noqa: BLE001
            logger.warning("channel message %s not queued; the sweep will", message_id, exc_info=True)


# --- Preferences ------------------------------------------------------------------------------


def preference_for(*, organization: Organization | int, user: Any) -> NotificationPreference:
    """The member's preferences (defaults, unsaved, when they never chose: every kind by email, no digest)."""
    found = NotificationPreference.objects.for_organization(organization).filter(user_id=user.pk).first()
    if found is None:
        organization_id = organization if isinstance(organization, int) else organization.pk
        found = NotificationPreference(organization_id=organization_id, user_id=user.pk)
    return found


def preference_update(
    *,
    organization: Organization,
    user: Any,
    email_kinds: list[str] | None = None,
    digest_daily: bool | None = None,
    digest_weekly: bool | None = None,
) -> NotificationPreference:
    preference = preference_for(organization=organization, user=user)
    if email_kinds is not None:
        unknown = set(email_kinds) - set(NotificationKind.values)
        if unknown:
            raise ValueError(f"unknown kinds: {sorted(unknown)}")
        preference.email_muted_kinds = sorted(set(NotificationKind.values) - set(email_kinds))
    if digest_daily is not None:
        preference.digest_daily = digest_daily
    if digest_weekly is not None:
        preference.digest_weekly = digest_weekly
    preference.save()
    return preference


# --- Chat channels ----------------------------------------------------------------------------


def channel_url_check(url: str) -> None:
    """Raises AddressRefused (a ValueError with the reason) for a URL robots may not call."""
    resolve(url)


def channel_create(
    *,
    organization: Organization,
    name: str,
    kind: str,
    webhook_url: str,
    language: str,
    kinds: list[str],
    secret: str = "",
    actor: Any = None,
) -> NotificationChannel:
    channel_url_check(webhook_url)
    return NotificationChannel.objects.create(
        organization=organization,
        name=name,
        kind=kind,
        webhook_url=webhook_url,
        secret=secret,
        language=language,
        kinds=sorted(set(kinds)),
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )


def channel_update(*, channel: NotificationChannel, **fields: Any) -> NotificationChannel:
    if "webhook_url" in fields and fields["webhook_url"] != channel.webhook_url:
        channel_url_check(fields["webhook_url"])
    if "kinds" in fields:
        fields["kinds"] = sorted(set(fields["kinds"]))
    for name, value in fields.items():
        setattr(channel, name, value)
    channel.save()
    return channel


def channel_test(*, channel: NotificationChannel) -> ChannelMessage:
    """A test message to this channel only, now (whatever its kinds, even switched off)."""
    now = timezone.now()
    message = ChannelMessage.objects.create(
        organization_id=channel.organization_id,
        channel=channel,
        request_key=f"test-{uuid.uuid4().hex}",
        kind="test",
        facts={"path": "/notifications/"},
        next_attempt_at=now,
        created_at=now,
    )
    message_id = message.pk
    transaction.on_commit(lambda: _queue_messages([message_id]))
    return message


def _claim(message_id: int) -> ChannelMessage | None:
    return delivery.claim_due(
        ChannelMessage.objects.unscoped().filter(pk=message_id), claim_seconds=CLAIM_SECONDS + REQUEST_TIMEOUT
    )


def channel_message_attempt(*, message_id: int) -> str:
    """One attempt: "sent", "retrying", "failed" or "skipped" (not due, claimed elsewhere, done, or its
    channel is off, except for a test message)."""
    found = _claim(message_id)
    if found is None:
        return "skipped"
    channel = NotificationChannel.objects.unscoped().select_related("organization").get(pk=found.channel_id)
    if not channel.is_active and found.kind != "test":
        return _finish(found, "failed", None, "", "The channel is switched off.")
    try:
        resolve(channel.webhook_url)
    except AddressRefused as exc:
        return _finish(found, "failed", None, "", str(exc))
    message = message_render(
        kind=found.kind,
        facts=found.facts,
        language=channel.language,
        time_zone=channel.organization.time_zone,
    )
    request = robots.robot_request(
        kind=channel.kind, webhook_url=channel.webhook_url, secret=channel.secret, message=message
    )
    outcome = delivery.post(
        url=request.url, body=request.body, headers=request.headers, timeout=REQUEST_TIMEOUT
    )
    verdict = robots.answer_verdict(
        kind=channel.kind, status_code=outcome.status_code, excerpt=outcome.excerpt
    )
    error = outcome.error or ("" if verdict == "ok" else outcome.excerpt[:500])
    return _finish(found, verdict, outcome.status_code, outcome.excerpt, error)


def _finish(found: ChannelMessage, verdict: str, status_code: int | None, excerpt: str, error: str) -> str:
    now = timezone.now()
    found.attempts += 1
    found.claimed_until = None
    found.last_status_code = status_code
    found.response_excerpt = excerpt[:1000]
    found.last_error = error[:500]
    follow_up: float | None = None
    if verdict == "ok":
        result = "sent"
        found.status = DeliveryStatus.SUCCEEDED
        found.sent_at = now
        found.next_attempt_at = None
    elif verdict == "retry" and found.attempts <= len(RETRY_DELAYS):
        result = "retrying"
        wait = RETRY_DELAYS[found.attempts - 1]
        found.status = DeliveryStatus.RETRYING
        found.next_attempt_at = now + timedelta(seconds=wait)
        follow_up = wait if wait <= COUNTDOWN_LIMIT else None
    else:
        result = "failed"
        found.status = DeliveryStatus.FAILED
        found.next_attempt_at = None
    found.save(
        update_fields=[
            "attempts",
            "claimed_until",
            "last_status_code",
            "response_excerpt",
            "last_error",
            "status",
            "sent_at",
            "next_attempt_at",
        ]
    )
    if follow_up is not None:
        message_id = found.pk
        transaction.on_commit(lambda: _queue_messages([message_id], countdown=follow_up or 0))
    return result


def notifications_sweep(*, limit: int = 1000) -> int:
    """Beat: chat messages whose retry is due (or that were never queued), and emails never queued."""
    now = timezone.now()
    due = list(
        ChannelMessage.objects.unscoped()
        .filter(status__in=[DeliveryStatus.PENDING, DeliveryStatus.RETRYING])
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .filter(Q(attempts__gt=0) | Q(created_at__lte=now - REQUEUE_AFTER))
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    _queue_messages(due)
    emails = list(
        Notification.objects.unscoped()
        .filter(email_status=EmailStatus.PENDING, created_at__lte=now - REQUEUE_AFTER)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    _queue_emails(emails)
    return len(due) + len(emails)
