"""The in-app inbox: a member's notifications in the current organization, newest first, and the unread
count the top bar shows on every page (cached per member; one query when the cache has no answer)."""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.db.models import QuerySet
from django.utils import timezone

from ..models import Notification

UNREAD_CACHE_SECONDS = 300


def _unread_key(organization_id: int, user_id: int) -> str:
    return f"loop:inbox-unread:{organization_id}:{user_id}"


def inbox_for(*, organization_id: int, user: Any) -> QuerySet[Notification]:
    """The member's notifications in this organization (none for a request without a user: API keys)."""
    if not getattr(user, "is_authenticated", False):
        return Notification.objects.none()
    return (
        Notification.objects.for_organization(organization_id)
        .filter(user_id=user.pk)
        .order_by("-created_at", "-pk")
    )


def unread_count(*, organization_id: int, user: Any) -> int:
    if not getattr(user, "is_authenticated", False):
        return 0
    key = _unread_key(organization_id, user.pk)
    cached = cache.get(key)
    if cached is None:
        cached = (
            Notification.objects.for_organization(organization_id)
            .filter(user_id=user.pk, read_at__isnull=True)
            .count()
        )
        cache.set(key, cached, UNREAD_CACHE_SECONDS)
    return int(cached)


def unread_forget(*, organization_id: int, user_ids: list[int]) -> None:
    cache.delete_many([_unread_key(organization_id, user_id) for user_id in user_ids])


def notification_mark_read(*, notification: Notification) -> Notification:
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
        unread_forget(organization_id=notification.organization_id, user_ids=[notification.user_id])
    return notification


def notifications_mark_all_read(*, organization_id: int, user: Any) -> int:
    if not getattr(user, "is_authenticated", False):
        return 0
    changed = (
        Notification.objects.for_organization(organization_id)
        .filter(user_id=user.pk, read_at__isnull=True)
        .update(read_at=timezone.now())
    )
    unread_forget(organization_id=organization_id, user_ids=[user.pk])
    return changed
