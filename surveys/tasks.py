"""Celery tasks: thin, take ids, idempotent (an invitation is sent only from the queued state)."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(name="surveys.tasks.send_invitation_emails", acks_late=True, time_limit=300, soft_time_limit=280)
def send_invitation_emails(invitation_ids: list[int]) -> dict[str, int]:
    """Send the queued invitations among `invitation_ids` (routed to the notifications queue)."""
    counts: dict[str, int] = {}
    for invitation_id in invitation_ids:
        outcome = services.invitation_send(invitation_id=invitation_id)
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


@shared_task(name="surveys.tasks.sweep_invitations", time_limit=5 * 60)
def sweep_invitations() -> dict[str, int]:
    """Beat: sends again the queued invitations nothing is sending, fails the hopeless ones."""
    return services.invitations_sweep()


@shared_task(name="surveys.tasks.seal_responses", time_limit=10 * 60, soft_time_limit=590)
def seal_responses() -> dict[int, int]:
    """Beat: seals the responses stored since the last run into each organization's chain
    (idempotent: a sealed response is skipped)."""
    from .sealing import responses_seal_all

    return responses_seal_all()
