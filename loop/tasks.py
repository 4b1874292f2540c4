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


@shared_task(name="loop.tasks.evaluate_alert_rules", acks_late=True, time_limit=120, soft_time_limit=110)
def evaluate_alert_rules(organization_id: int, response_ids: list[int], attempt: int = 0) -> int:
    """Try the rules on recorded responses (idempotent: a rule fires once per response). Responses a
    rule waits on (their comment's text analysis) are tried again a little later, a few times."""
    from . import cases

    pending = cases.responses_evaluate(organization_id=organization_id, response_ids=response_ids)
    if pending and attempt < cases.TEXT_RETRY_ATTEMPTS:
        evaluate_alert_rules.apply_async(
            args=[organization_id, pending, attempt + 1],
            countdown=cases.TEXT_RETRY_SECONDS,
            ignore_result=True,
        )
    return len(pending)


@shared_task(name="loop.tasks.dispatch_case_event", acks_late=True, time_limit=60, soft_time_limit=55)
def dispatch_case_event(organization_id: int, case_id: int, event_type: str) -> int:
    event = events.case_event(organization_id=organization_id, case_id=case_id, event_type=event_type)
    if event is None:
        return 0
    return len(services.events_enqueue(organization_id=organization_id, events=[event]))


@shared_task(name="loop.tasks.escalate_overdue_cases", time_limit=120, soft_time_limit=110)
def escalate_overdue_cases() -> int:
    """Beat: open cases past their due time go to their owner's manager, once."""
    from . import cases

    return cases.cases_escalate_overdue()


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
