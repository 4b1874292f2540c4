"""Pages: the inbox (newest first, unread in bold), notification preferences, and Settings → Chat
channels (robots, a test message, each message's delivery)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cxm.tenancy.scoping import organization_required, scoped, scoped_get_or_404
from cxm.tenancy.tenant import organization_of

from .models import SIGNED_CHANNEL_KINDS, ChannelMessage, Notification, NotificationChannel, NotificationKind
from .notifications import inbox, services
from .notifications.forms import NotificationChannelForm, NotificationPreferenceForm
from .notifications.messages import message_render

PAGE_SIZE = 30


def _rendered(notifications: Any, time_zone: str) -> list[tuple[Notification, Any]]:
    language = get_language() or "en"
    return [
        (item, message_render(kind=item.kind, facts=item.facts, language=language, time_zone=time_zone))
        for item in notifications
    ]


@organization_required("view")
def notification_inbox(request: HttpRequest) -> HttpResponse:
    organization = organization_of(request)
    rows = inbox.inbox_for(organization_id=organization.pk, user=request.user)
    unread_only = request.GET.get("unread") == "1"
    if unread_only:
        rows = rows.filter(read_at__isnull=True)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "loop/notifications/inbox.html",
        {
            "page": page,
            "items": _rendered(page.object_list, organization.time_zone),
            "unread_only": unread_only,
            "nav": "notifications",
        },
    )


def _own(request: HttpRequest, pk: int) -> Notification:
    return scoped_get_or_404(request, Notification, pk=pk, user_id=request.user.pk)


def _safe_path(request: HttpRequest, path: Any) -> str | None:
    if isinstance(path, str) and path.startswith("/") and not path.startswith("//"):
        if url_has_allowed_host_and_scheme(path, allowed_hosts={request.get_host()}):
            return path
    return None


@organization_required("view")
def notification_open(request: HttpRequest, pk: int) -> HttpResponse:
    """Follows a notification's link, marking it read."""
    notification = inbox.notification_mark_read(notification=_own(request, pk))
    return redirect(_safe_path(request, notification.facts.get("path")) or "notifications")


@require_POST
@organization_required("view")
def notification_read(request: HttpRequest, pk: int) -> HttpResponse:
    inbox.notification_mark_read(notification=_own(request, pk))
    return redirect("notifications")


@require_POST
@organization_required("view")
def notifications_read_all(request: HttpRequest) -> HttpResponse:
    changed = inbox.notifications_mark_all_read(
        organization_id=organization_of(request).pk, user=request.user
    )
    messages.success(request, _("%(count)s notifications marked read.") % {"count": changed})
    return redirect("notifications")


@organization_required("view")
def notification_preferences(request: HttpRequest) -> HttpResponse:
    organization = organization_of(request)
    preference = services.preference_for(organization=organization, user=request.user)
    initial = {
        "email_kinds": [kind for kind in NotificationKind.values if kind not in preference.email_muted_kinds],
        "digest_daily": preference.digest_daily,
        "digest_weekly": preference.digest_weekly,
    }
    form = NotificationPreferenceForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        services.preference_update(organization=organization, user=request.user, **form.cleaned_data)
        messages.success(request, _("Preferences saved."))
        return redirect("notification-preferences")
    return render(request, "loop/notifications/preferences.html", {"form": form, "nav": "notifications"})


@organization_required("edit")
def settings_channels(request: HttpRequest) -> HttpResponse:
    form = NotificationChannelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        channel = services.channel_create(
            organization=organization_of(request), actor=request.user, **form.channel_fields()
        )
        messages.success(request, _("Channel added. Send a test message to check it."))
        return redirect("settings-channel", pk=channel.pk)
    channels = scoped(request, NotificationChannel).order_by("name", "pk")
    return render(
        request,
        "loop/notifications/settings_channels.html",
        {"form": form, "channels": channels, "section": "channels", "signed_kinds": SIGNED_CHANNEL_KINDS},
    )


@organization_required("edit")
def settings_channel(request: HttpRequest, pk: int) -> HttpResponse:
    channel = scoped_get_or_404(request, NotificationChannel, pk=pk)
    form = NotificationChannelForm(request.POST or None, instance=channel)
    if request.method == "POST" and form.is_valid():
        services.channel_update(channel=channel, **form.channel_fields())
        messages.success(request, _("Channel saved."))
        return redirect("settings-channel", pk=channel.pk)
    log = scoped(request, ChannelMessage).filter(channel=channel).order_by("-created_at", "-pk")
    page = Paginator(log, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "loop/notifications/settings_channel.html",
        {"channel": channel, "form": form, "page": page, "section": "channels"},
    )


@require_POST
@organization_required("edit")
def channel_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    channel = scoped_get_or_404(request, NotificationChannel, pk=pk)
    if action == "test":
        services.channel_test(channel=channel)
        messages.success(request, _("A test message is on its way."))
    elif action == "toggle":
        services.channel_update(channel=channel, is_active=not channel.is_active)
        messages.success(
            request, _("Channel switched on.") if channel.is_active else _("Channel switched off.")
        )
    elif action == "delete":
        channel.delete()
        messages.success(request, _("Channel deleted."))
        return redirect("settings-channels")
    else:
        messages.error(request, _("Unknown action."))
    return redirect("settings-channel", pk=channel.pk)
