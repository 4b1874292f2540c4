"""Webhooks: endpoints (create, update, rotate the secret), events queued as one delivery per endpoint,
attempts with exponential backoff for up to 24 hours, the sweep that finds due retries, redelivery, and
an endpoint disabled after a day of failures (its owners are told by email)."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from cxm.tenancy.models import Membership, Organization
from cxm.tenancy.roles import Role

from .models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from .webhooks import delivery, signing
from .webhooks.addresses import resolve

# Waits after the 1st, 2nd, … failed attempt (Standard Webhooks' schedule); the last attempt comes 24
# hours after the first, then the delivery has failed.
RETRY_DELAYS = (5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 23_095)  # sums to 24 hours
GIVE_UP_AFTER = timedelta(hours=24)
DISABLE_AFTER = timedelta(hours=24)
ROTATION_OVERLAP = timedelta(hours=24)
REQUEST_TIMEOUT = 10.0
CLAIM_SECONDS = 60
# Short waits go on the queue as a countdown; longer ones are found by the sweep (a broker may redeliver
# a task whose countdown outlives its visibility timeout).
COUNTDOWN_LIMIT = 5 * 60


def _active_key(organization_id: int) -> str:
    return f"loop:webhooks-active:{organization_id}"


def webhooks_active(*, organization_id: int) -> bool:
    """Cheap check for the submit path's signal receiver: does any endpoint listen? Cached a minute."""
    cached = cache.get(_active_key(organization_id))
    if cached is None:
        cached = WebhookEndpoint.objects.for_organization(organization_id).filter(is_active=True).exists()
        cache.set(_active_key(organization_id), cached, 60)
    return bool(cached)


def _forget_active(organization_id: int) -> None:
    cache.delete(_active_key(organization_id))


def endpoint_url_check(url: str) -> None:
    """Raises AddressRefused (a ValueError with the reason) for a URL webhooks may not call."""
    resolve(url)


def endpoint_create(
    *, organization: Organization, url: str, events: list[str], description: str = "", actor: Any = None
) -> WebhookEndpoint:
    endpoint_url_check(url)
    endpoint = WebhookEndpoint.objects.create(
        organization=organization,
        url=url,
        events=sorted(set(events)),
        description=description,
        secret=signing.secret_generate(),
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    transaction.on_commit(lambda: _forget_active(organization.pk))
    return endpoint


def endpoint_update(*, endpoint: WebhookEndpoint, **fields: Any) -> WebhookEndpoint:
    if "url" in fields and fields["url"] != endpoint.url:
        endpoint_url_check(fields["url"])
    if "events" in fields:
        fields["events"] = sorted(set(fields["events"]))
    if fields.get("is_active") and not endpoint.is_active:
        fields.update(disabled_at=None, disabled_reason="", failing_since=None)
    for name, value in fields.items():
        setattr(endpoint, name, value)
    endpoint.save()
    transaction.on_commit(lambda: _forget_active(endpoint.organization_id))
    return endpoint


def endpoint_rotate_secret(*, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """A new secret signs from now on; the old one signs too for a day, so receivers can switch."""
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = timezone.now() + ROTATION_OVERLAP
    endpoint.secret = signing.secret_generate()
    endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"])
    return endpoint


def event_id(*, organization_id: int, event_type: str, subject: str, version: str) -> str:
    digest = hashlib.sha256(f"{organization_id}:{event_type}:{subject}:{version}".encode()).hexdigest()
    return f"msg_{digest[:32]}"


def events_enqueue(
    *, organization_id: int, events: Iterable[tuple[str, str, str, dict[str, Any]]]
) -> list[int]:
    """Queue events, each (type, subject, version, data), for every active endpoint that wants it.
    The same event queued twice is one delivery (event ids derive from the subject and version).
    `response.created` becomes `response.updated` at an endpoint that already heard of the response."""
    endpoints = list(WebhookEndpoint.objects.for_organization(organization_id).filter(is_active=True))
    if not endpoints:
        return []
    events = list(events)
    subjects = {subject for _type, subject, _version, _data in events}
    heard = set(
        WebhookDelivery.objects.for_organization(organization_id)
        .filter(endpoint__in=endpoints, subject__in=subjects)
        .values_list("endpoint_id", "subject")
    )
    now = timezone.now()
    rows = []
    for endpoint in endpoints:
        for event_type, subject, version, data in events:
            kind = event_type
            if kind == "response.created" and (endpoint.pk, subject) in heard:
                kind = "response.updated"
            if not endpoint.wants(kind):
                continue
            message_id = event_id(
                organization_id=organization_id, event_type=kind, subject=subject, version=version
            )
            payload = {"type": kind, "timestamp": now.isoformat(), "data": data}
            rows.append(
                WebhookDelivery(
                    organization_id=organization_id,
                    endpoint=endpoint,
                    event_id=message_id,
                    event_type=kind,
                    subject=subject,
                    payload=payload,
                    next_attempt_at=now,
                    created_at=now,
                )
            )
    known = set(
        WebhookDelivery.objects.for_organization(organization_id)
        .filter(endpoint__in=endpoints, event_id__in={row.event_id for row in rows})
        .values_list("endpoint_id", "event_id")
    )
    rows = [row for row in rows if (row.endpoint_id, row.event_id) not in known]
    with transaction.atomic():
        # A concurrent enqueue of the same event loses on the unique constraint, silently.
        WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
        created = list(
            WebhookDelivery.objects.for_organization(organization_id)
            .filter(attempts=0, event_id__in={row.event_id for row in rows}, created_at=now)
            .values_list("pk", flat=True)
        )
        transaction.on_commit(lambda: _queue(created))
    return created


def _queue(delivery_ids: list[int], countdown: float = 0) -> None:
    from .tasks import deliver_webhook

    for delivery_id in delivery_ids:
        deliver_webhook.apply_async(args=[delivery_id], countdown=countdown, ignore_result=True)


def _claim(delivery_id: int) -> WebhookDelivery | None:
    return delivery.claim_due(
        WebhookDelivery.objects.unscoped()
        .select_related("endpoint")
        .filter(pk=delivery_id, endpoint__is_active=True),
        claim_seconds=CLAIM_SECONDS + REQUEST_TIMEOUT,
    )


def delivery_attempt(*, delivery_id: int) -> str:
    """One attempt of one delivery: "delivered", "retrying", "failed" or "skipped" (not due, claimed
    by another worker, already delivered, or its endpoint is off)."""
    found = _claim(delivery_id)
    if found is None:
        return "skipped"
    endpoint = found.endpoint
    body = json.dumps(found.payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
    now = timezone.now()
    secrets_ = [endpoint.secret]
    if (
        endpoint.previous_secret
        and endpoint.previous_secret_expires_at
        and endpoint.previous_secret_expires_at > now
    ):
        secrets_.append(endpoint.previous_secret)
    timestamp = int(time.time())
    headers = {
        "content-type": "application/json",
        "user-agent": "cxm-webhooks/1",
        "webhook-id": found.event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signing.signature_header(
            secrets_=secrets_, message_id=found.event_id, timestamp=timestamp, body=body
        ),
    }
    outcome = delivery.post(url=endpoint.url, body=body, headers=headers, timeout=REQUEST_TIMEOUT)
    logged_headers = {key: value for key, value in headers.items() if key != "webhook-signature"}
    return _record(found, outcome, logged_headers)


def _record(found: WebhookDelivery, outcome: delivery.Outcome, headers: dict[str, str]) -> str:
    now = timezone.now()
    follow_up: float | None = None
    disabled = False
    with transaction.atomic():
        WebhookAttempt.objects.create(
            organization_id=found.organization_id,
            delivery=found,
            attempted_at=now,
            status_code=outcome.status_code,
            duration_ms=outcome.duration_ms,
            request_headers=headers,
            response_excerpt=outcome.excerpt,
            error=outcome.error,
        )
        endpoint = WebhookEndpoint.objects.unscoped().select_for_update().get(pk=found.endpoint_id)
        found.attempts += 1
        found.claimed_until = None
        found.last_status_code = outcome.status_code
        found.last_error = outcome.error or ("" if outcome.ok else outcome.excerpt[:500])
        if outcome.ok:
            result = "delivered"
            found.status = DeliveryStatus.SUCCEEDED
            found.delivered_at = now
            found.next_attempt_at = None
            if endpoint.failing_since is not None:
                endpoint.failing_since = None
                endpoint.save(update_fields=["failing_since", "updated_at"])
        else:
            endpoint.failing_since = endpoint.failing_since or now
            if found.attempts <= len(RETRY_DELAYS) and now - found.created_at < GIVE_UP_AFTER:
                result = "retrying"
                wait = RETRY_DELAYS[found.attempts - 1]
                found.status = DeliveryStatus.RETRYING
                found.next_attempt_at = now + timedelta(seconds=wait)
                follow_up = wait if wait <= COUNTDOWN_LIMIT else None
            else:
                result = "failed"
                found.status = DeliveryStatus.FAILED
                found.next_attempt_at = None
            if endpoint.is_active and endpoint.failing_since <= now - DISABLE_AFTER:
                endpoint.is_active = False
                endpoint.disabled_at = now
                endpoint.disabled_reason = _("Every delivery failed for a day; last error: %(error)s") % {
                    "error": (found.last_error or str(outcome.status_code))[:200]
                }
                disabled = True
            endpoint.save(
                update_fields=["failing_since", "is_active", "disabled_at", "disabled_reason", "updated_at"]
            )
        found.save(
            update_fields=[
                "attempts",
                "claimed_until",
                "last_status_code",
                "last_error",
                "status",
                "delivered_at",
                "next_attempt_at",
            ]
        )
        if follow_up is not None:
            delivery_id = found.pk
            transaction.on_commit(lambda: _queue([delivery_id], countdown=follow_up or 0))
        if disabled:
            endpoint_id = endpoint.pk
            organization_id = endpoint.organization_id
            transaction.on_commit(lambda: _forget_active(organization_id))
            transaction.on_commit(lambda: _notify_disabled(endpoint_id))
    return result


def _notify_disabled(endpoint_id: int) -> None:
    from .tasks import notify_endpoint_disabled

    notify_endpoint_disabled.apply_async(args=[endpoint_id], ignore_result=True)


def endpoint_disabled_notify(*, endpoint_id: int) -> int:
    """Email the endpoint's creator, or the organization's owners and admins: it was switched off."""
    endpoint = (
        WebhookEndpoint.objects.unscoped().select_related("organization", "created_by").get(pk=endpoint_id)
    )
    recipients = [endpoint.created_by.email] if endpoint.created_by and endpoint.created_by.email else []
    if not recipients:
        recipients = [
            email
            for email in Membership.objects.for_organization(endpoint.organization)
            .filter(role__in=[Role.OWNER, Role.ADMIN])
            .values_list("user__email", flat=True)
            if email
        ]
    if not recipients:
        return 0
    subject = _("Webhook endpoint switched off: %(url)s") % {"url": endpoint.url[:120]}
    body = _(
        "Every delivery to %(url)s of %(organization)s failed for a day, so it was switched off.\n"
        "Reason: %(reason)s\nSwitch it on again in Settings → Webhooks once it answers; failed deliveries "
        "can be sent again from its delivery log."
    ) % {"url": endpoint.url, "organization": endpoint.organization.name, "reason": endpoint.disabled_reason}
    return send_mail(subject, body, None, recipients)


def deliveries_sweep(*, limit: int = 1000) -> int:
    """Beat: queue the deliveries whose retry is due (and those a stopped worker left claimed)."""
    now = timezone.now()
    due = list(
        WebhookDelivery.objects.unscoped()
        .filter(status__in=[DeliveryStatus.PENDING, DeliveryStatus.RETRYING], endpoint__is_active=True)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    _queue(due)
    return len(due)


def delivery_redeliver(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send again (the same event id, so a receiver that got it can tell), now."""
    delivery.status = DeliveryStatus.PENDING
    delivery.next_attempt_at = timezone.now()
    delivery.claimed_until = None
    delivery.save(update_fields=["status", "next_attempt_at", "claimed_until"])
    delivery_id = delivery.pk
    transaction.on_commit(lambda: _queue([delivery_id]))
    return delivery


def endpoint_ping(*, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """A `webhook.ping` event to this endpoint only, to check the receiver and its signature check."""
    now = timezone.now()
    found = WebhookDelivery.objects.create(
        organization_id=endpoint.organization_id,
        endpoint=endpoint,
        event_id=event_id(
            organization_id=endpoint.organization_id,
            event_type="webhook.ping",
            subject="",
            version=now.isoformat(),
        ),
        event_type="webhook.ping",
        payload={"type": "webhook.ping", "timestamp": now.isoformat(), "data": {"endpoint": endpoint.pk}},
        next_attempt_at=now,
    )
    delivery_id = found.pk
    transaction.on_commit(lambda: _queue([delivery_id]))
    return found


def allowed_private() -> bool:
    return bool(getattr(settings, "WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", False))
