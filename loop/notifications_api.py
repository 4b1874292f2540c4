"""Notifications API: the signed-in member's inbox in the current organization (an API key has no
inbox: its lists are empty), their preferences, and the organization's chat channels (the `edit`
permission; a channel's signing secret is write-only)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import django_filters
from django.shortcuts import get_object_or_404
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import generics, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response as ApiResponse

from cxm.api.mixins import OrganizationScopedMixin
from cxm.tenancy.tenant import organization_of

from .models import (
    SIGNED_CHANNEL_KINDS,
    ChannelMessage,
    DeliveryStatus,
    Notification,
    NotificationChannel,
    NotificationKind,
)
from .notifications import inbox, services
from .notifications.messages import message_render
from .webhooks.addresses import AddressRefused, resolve

# --- Inbox ----------------------------------------------------------------------------------------


class NotificationSerializer(serializers.ModelSerializer):
    title = serializers.SerializerMethodField(help_text="Rendered in the request's language.")
    summary = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField(help_text="Absolute link to the page the notification is about.")
    is_read = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = ["id", "kind", "title", "summary", "url", "facts", "created_at", "read_at", "is_read"]
        read_only_fields = fields

    def _message(self, obj: Notification) -> Any:
        cache: dict[int, Any] = self.context["_messages"] if "_messages" in self.context else {}
        if "_messages" not in self.context:
            self.context["_messages"] = cache  # type: ignore[index]
        if obj.pk not in cache:
            organization = self.context.get("organization")
            cache[obj.pk] = message_render(
                kind=obj.kind,
                facts=obj.facts,
                language=get_language() or "en",
                time_zone=organization.time_zone if organization else "UTC",
            )
        return cache[obj.pk]

    def get_title(self, obj: Notification) -> str:
        return str(self._message(obj).title)

    def get_summary(self, obj: Notification) -> str:
        return str(self._message(obj).summary)

    def get_url(self, obj: Notification) -> str:
        return str(self._message(obj).url)

    def get_is_read(self, obj: Notification) -> bool:
        return obj.read_at is not None


class NotificationFilter(django_filters.FilterSet):
    unread = django_filters.ChoiceFilter(
        choices=[("true", "true"), ("false", "false")],
        method="filter_unread",
        label="true: only unread; false: only read",
    )
    kind = django_filters.ChoiceFilter(choices=NotificationKind.choices)

    class Meta:
        model = Notification
        fields = ["unread", "kind"]

    def filter_unread(self, queryset: Any, name: str, value: str) -> Any:
        return queryset.filter(read_at__isnull=value == "true")


class _Inbox(OrganizationScopedMixin):
    queryset = Notification.objects.all()
    read_permission = "view"
    write_permission = "view"  # marking one's own notifications read

    def get_queryset(self) -> Any:
        return super().get_queryset().filter(user_id=getattr(self.request.user, "pk", None))


class NotificationListView(_Inbox, generics.ListAPIView):
    """The member's notifications, newest first (`?unread=true` for the unread ones)."""

    serializer_class = NotificationSerializer
    filterset_class = NotificationFilter


class NotificationDetailView(_Inbox, generics.RetrieveAPIView):
    serializer_class = NotificationSerializer


class NotificationReadView(_Inbox, generics.GenericAPIView):
    serializer_class = NotificationSerializer

    @extend_schema(request=None, responses=NotificationSerializer)
    def post(self, request: Request, *args: Any, **kwargs: Any) -> ApiResponse:
        """Mark this notification read."""
        notification = inbox.notification_mark_read(notification=self.get_object())
        return ApiResponse(self.get_serializer(notification).data)


_COUNT = inline_serializer("NotificationCount", fields={"unread": serializers.IntegerField()})


class NotificationReadAllView(_Inbox, generics.GenericAPIView):
    serializer_class = NotificationSerializer

    @extend_schema(
        request=None,
        responses=inline_serializer("NotificationsMarked", fields={"marked": serializers.IntegerField()}),
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> ApiResponse:
        """Mark every notification of the member read."""
        changed = inbox.notifications_mark_all_read(
            organization_id=organization_of(request).pk, user=request.user
        )
        return ApiResponse({"marked": changed})


class NotificationUnreadCountView(_Inbox, generics.GenericAPIView):
    serializer_class = NotificationSerializer

    @extend_schema(responses=_COUNT)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> ApiResponse:
        """How many of the member's notifications are unread."""
        return ApiResponse(
            {"unread": inbox.unread_count(organization_id=organization_of(request).pk, user=request.user)}
        )


class NotificationPreferenceSerializer(serializers.Serializer):
    email_kinds = serializers.ListField(
        child=serializers.ChoiceField(choices=NotificationKind.choices),
        max_length=len(NotificationKind.values),
        help_text="Kinds that also come by email (every kind is in the inbox).",
    )
    digest_daily = serializers.BooleanField()
    digest_weekly = serializers.BooleanField()


class NotificationPreferenceView(OrganizationScopedMixin, generics.GenericAPIView):
    """The signed-in member's notification preferences in this organization."""

    queryset = Notification.objects.all()
    serializer_class = NotificationPreferenceSerializer
    read_permission = "view"
    write_permission = "view"

    def _data(self, preference: Any) -> dict[str, Any]:
        return {
            "email_kinds": [k for k in NotificationKind.values if k not in preference.email_muted_kinds],
            "digest_daily": preference.digest_daily,
            "digest_weekly": preference.digest_weekly,
        }

    def _require_user(self, request: Request) -> None:
        if not request.user.is_authenticated:
            # An API key is not a member: it has no preferences to read or change (documented 403).
            raise PermissionDenied(_("Preferences belong to a signed-in member, not to an API key."))

    def get(self, request: Request, *args: Any, **kwargs: Any) -> ApiResponse:
        self._require_user(request)
        preference = services.preference_for(organization=organization_of(request), user=request.user)
        return ApiResponse(self._data(preference))

    def patch(self, request: Request, *args: Any, **kwargs: Any) -> ApiResponse:
        self._require_user(request)
        serializer = self.get_serializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        preference = services.preference_update(
            organization=organization_of(request), user=request.user, **serializer.validated_data
        )
        return ApiResponse(self._data(preference))


# --- Chat channels ----------------------------------------------------------------------------------


def webhook_url_hint(url: str) -> str:
    """Scheme, host and the first path segment: enough to tell robots apart, not to post to one."""
    parts = urlsplit(url)
    first = parts.path.strip("/").split("/")[0] if parts.path.strip("/") else ""
    return f"{parts.scheme}://{parts.netloc}/{first}{'/…' if first else '…'}"


class NotificationChannelSerializer(serializers.ModelSerializer):
    kinds = serializers.ListField(
        child=serializers.ChoiceField(choices=NotificationKind.choices),
        required=False,
        max_length=len(NotificationKind.values),
        help_text="Notification kinds this channel receives; empty or absent: every kind.",
    )
    secret = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="DingTalk (SEC…) or Feishu signing secret. Write-only; never returned.",
    )
    has_secret = serializers.SerializerMethodField()
    webhook_url_hint = serializers.SerializerMethodField(
        help_text="The robot's address with its token left out (the URL itself is write-only: it is a credential)."
    )

    class Meta:
        model = NotificationChannel
        fields = [
            "id",
            "name",
            "kind",
            "webhook_url",
            "webhook_url_hint",
            "secret",
            "has_secret",
            "language",
            "kinds",
            "is_active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "has_secret", "webhook_url_hint", "created_at", "updated_at"]
        extra_kwargs = {"webhook_url": {"write_only": True}}

    def get_webhook_url_hint(self, obj: NotificationChannel) -> str:
        return webhook_url_hint(obj.webhook_url)

    def get_has_secret(self, obj: NotificationChannel) -> bool:
        return bool(obj.secret)

    def validate_webhook_url(self, value: str) -> str:
        try:
            resolve(value)
        except AddressRefused as exc:
            raise serializers.ValidationError(str(exc))
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        kind = attrs.get("kind", getattr(self.instance, "kind", None))
        if attrs.get("secret") and kind not in SIGNED_CHANNEL_KINDS:
            raise serializers.ValidationError(
                {"secret": [_("Only DingTalk and Feishu robots use a signing secret.")]}
            )
        return attrs


class ChannelMessageSerializer(serializers.ModelSerializer):
    channel = serializers.IntegerField(source="channel_id", read_only=True)

    class Meta:
        model = ChannelMessage
        fields = [
            "id",
            "channel",
            "kind",
            "status",
            "attempts",
            "next_attempt_at",
            "last_status_code",
            "last_error",
            "response_excerpt",
            "created_at",
            "sent_at",
        ]
        read_only_fields = fields


class NotificationChannelViewSet(OrganizationScopedMixin, viewsets.ModelViewSet):
    """Team chat robots that receive the organization's notifications: `slack`, `teams`, `wecom`,
    `dingtalk`, `feishu`, each in its own format and in the channel's `language`."""

    queryset = NotificationChannel.objects.all()
    serializer_class = NotificationChannelSerializer
    read_permission = "edit"
    write_permission = "edit"

    def perform_create(self, serializer: Any) -> None:
        data = serializer.validated_data
        serializer.instance = services.channel_create(
            organization=organization_of(self.request),
            name=data["name"],
            kind=data["kind"],
            webhook_url=data["webhook_url"],
            language=data.get("language", organization_of(self.request).default_language),
            kinds=data.get("kinds", []),
            secret=data.get("secret", ""),
            actor=self.request.user,
        )

    def perform_update(self, serializer: Any) -> None:
        fields = dict(serializer.validated_data)
        if "secret" in fields and not fields["secret"]:
            fields.pop("secret")  # blank: keep the current secret
        if fields.get("kind") and fields["kind"] not in SIGNED_CHANNEL_KINDS:
            fields["secret"] = ""
        serializer.instance = services.channel_update(channel=serializer.instance, **fields)

    @extend_schema(request=None, responses={202: ChannelMessageSerializer})
    @action(detail=True, methods=["post"])
    def test(self, request: Request, pk: Any = None) -> ApiResponse:
        """Send a test message to this channel now."""
        message = services.channel_test(channel=self.get_object())
        return ApiResponse(ChannelMessageSerializer(message).data, status=status.HTTP_202_ACCEPTED)


class ChannelMessageFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=DeliveryStatus.choices)

    class Meta:
        model = ChannelMessage
        fields = ["status"]


class ChannelMessageListView(OrganizationScopedMixin, mixins.ListModelMixin, generics.GenericAPIView):
    """The messages sent to one channel and how each delivery went, newest first."""

    queryset = ChannelMessage.objects.all()
    serializer_class = ChannelMessageSerializer
    filterset_class = ChannelMessageFilter
    read_permission = "edit"
    write_permission = "edit"
    kwargs: dict[str, Any]

    def get_queryset(self) -> Any:
        channel = get_object_or_404(
            NotificationChannel.objects.for_organization(organization_of(self.request)),
            pk=self.kwargs["channel_pk"],
        )
        return super().get_queryset().filter(channel=channel)

    def get(self, request: Request, *args: Any, **kwargs: Any) -> ApiResponse:
        return self.list(request, *args, **kwargs)
