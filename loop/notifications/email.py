"""A notification by email, to one member, in their language, unless they turned that kind off.
Sent at most once: the row is claimed (pending → sent) before the message leaves."""

from __future__ import annotations

import logging

from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone, translation

from ..models import EmailStatus, Notification
from .messages import message_plain_text, message_render
from .services import member_language, preference_for

logger = logging.getLogger(__name__)


def notification_email_send(*, notification_id: int) -> str:
    """ "sent", "skipped" (already handled, muted, or no address) or "failed"."""
    notification = (
        Notification.objects.unscoped()
        .select_related("organization", "user")
        .filter(pk=notification_id)
        .first()
    )
    if notification is None or notification.email_status != EmailStatus.PENDING:
        return "skipped"
    user = notification.user
    preference = preference_for(organization=notification.organization_id, user=user)
    wanted = notification.kind not in preference.email_muted_kinds and bool(user.email) and user.is_active
    now = timezone.now()
    claimed = (
        Notification.objects.unscoped()
        .filter(pk=notification_id, email_status=EmailStatus.PENDING)
        .update(
            email_status=EmailStatus.SENT if wanted else EmailStatus.SKIPPED,
            emailed_at=now if wanted else None,
        )
    )
    if not claimed or not wanted:
        return "skipped"
    organization = notification.organization
    language = member_language(organization=organization, user_id=user.pk)
    message = message_render(
        kind=notification.kind, facts=notification.facts, language=language, time_zone=organization.time_zone
    )
    with translation.override(language):
        html = render_to_string(
            "loop/notifications/email.html", {"message": message, "organization": organization}
        )
    email = EmailMultiAlternatives(
        subject=f"[{organization.name}] {message.title}",
        body=message_plain_text(message),
        to=[user.email],
    )
    email.attach_alternative(html, "text/html")
    try:
        email.send()
    except Exception:  # noqa: BLE001 (an SMTP error: recorded; the inbox still has it)
        logger.warning("notification email %s failed", notification_id, exc_info=True)
        Notification.objects.unscoped().filter(pk=notification_id).update(email_status=EmailStatus.FAILED)
        return "failed"
    return "sent"
