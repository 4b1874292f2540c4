"""Celery tasks: thin, take ids, idempotent (a delivery is claimed before its attempt and recorded
once; an event queued twice is one delivery). Deliveries run on the `webhooks` queue."""

from __future__ import annotations

from celery import shared_task

from . import events, services


@shared_task(name="loop.tasks.dispatch_response_events", acks_late=True, time_limit=120, soft_time_limit=110)
def dispatch_response_events(organization_id: int, response_ids: list[int]) -> int:
    found = events.response_events(organization_id=organization_id, response_ids=response_ids)
    return len(services.events_enqueue(organization_id=organization_id, events=found))


@shared_task(name="loop.tasks.dispatch_customer_erased", acks_late=True, time_limit=60, soft_time_limit=55)
def dispatch_customer_erased(organization_id: int, customer_id: int, erased_at: str) -> int:
    event = events.customer_erased_event(customer_id=customer_id, erased_at=erased_at)
    return len(services.events_enqueue(organization_id=organization_id, events=[event]))


@shared_task(name="loop.tasks.deliver_webhook", acks_late=True, time_limit=60, soft_time_limit=50)
def deliver_webhook(delivery_id: int) -> str:
    return services.delivery_attempt(delivery_id=delivery_id)


@shared_task(name="loop.tasks.sweep_webhook_deliveries", time_limit=120)
def sweep_webhook_deliveries() -> int:
    """Beat: the retries that are due."""
    return services.deliveries_sweep()


@shared_task(name="loop.tasks.notify_endpoint_disabled", acks_late=True, time_limit=60, soft_time_limit=55)
def notify_endpoint_disabled(endpoint_id: int) -> int:
    return services.endpoint_disabled_notify(endpoint_id=endpoint_id)


# Notifications (the `notifications` queue: settings route `loop.tasks.notify_*` there)


@shared_task(name="loop.tasks.notify_email", acks_late=True, time_limit=60, soft_time_limit=55)
def notify_email(notification_id: int) -> str:
    from .notifications.email import notification_email_send

    return notification_email_send(notification_id=notification_id)


@shared_task(name="loop.tasks.notify_channel", acks_late=True, time_limit=60, soft_time_limit=50)
def notify_channel(message_id: int) -> str:
    from .notifications.services import channel_message_attempt

    return channel_message_attempt(message_id=message_id)


@shared_task(name="loop.tasks.notify_sweep", time_limit=120)
def notify_sweep() -> int:
    """Beat: chat messages whose retry is due, and what a down broker left unqueued."""
    from .notifications.services import notifications_sweep

    return notifications_sweep()


@shared_task(name="loop.tasks.notify_digests", time_limit=300)
def notify_digests() -> int:
    """Beat (hourly): queue the daily and weekly digests that are due in each organization's zone."""
    from .notifications.digests import digests_queue

    return digests_queue()


@shared_task(name="loop.tasks.notify_digest", acks_late=True, time_limit=120, soft_time_limit=110)
def notify_digest(organization_id: int, user_id: int, kind: str, period_start: str) -> str:
    from .notifications.digests import digest_send

    return digest_send(organization_id=organization_id, user_id=user_id, kind=kind, period_start=period_start)
