"""Signal receivers: they only queue a task, and only when an endpoint of the organization listens
(one cached check), so the survey submit path does not wait on webhooks."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from .services import webhooks_active


def on_response_recorded(
    sender: Any, organization_id: int, response_ids: list[int] | None = None, **kwargs: Any
) -> None:
    if not response_ids or not webhooks_active(organization_id=organization_id):
        return
    from .tasks import dispatch_response_events

    dispatch_response_events.apply_async(args=[organization_id, list(response_ids)], ignore_result=True)


def on_customer_erased(sender: Any, organization_id: int, customer_id: int, **kwargs: Any) -> None:
    if not webhooks_active(organization_id=organization_id):
        return
    from .tasks import dispatch_customer_erased

    dispatch_customer_erased.apply_async(
        args=[organization_id, customer_id, timezone.now().isoformat()], ignore_result=True
    )


def on_response_recorded_rules(
    sender: Any, organization_id: int, response_ids: list[int] | None = None, **kwargs: Any
) -> None:
    """Alert rules are tried in a task, after commit, only when the organization has an active rule,
    an open case or a follow-up survey awaiting its answer (one cached check)."""
    from .cases import cases_active

    if not response_ids or not cases_active(organization_id=organization_id):
        return
    from .tasks import evaluate_alert_rules

    evaluate_alert_rules.apply_async(args=[organization_id, list(response_ids)], ignore_result=True)


def on_notification_requested(
    sender: Any,
    organization_id: int,
    kind: str,
    user_ids: list[int] | None = None,
    facts: dict[str, Any] | None = None,
    channels: bool = False,
    **kwargs: Any,
) -> None:
    """Recorded after the sender's commit (inbox rows, chat messages); delivered by tasks."""
    from .notifications.services import notification_request

    notification_request(
        organization_id=organization_id,
        kind=kind,
        user_ids=list(user_ids or []),
        facts=dict(facts or {}),
        channels=channels,
    )
