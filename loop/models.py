"""Webhook endpoints of an organization, one delivery per endpoint and event, and each attempt's log."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cxm.tenancy.models import TenantModel


class EventType(models.TextChoices):
    RESPONSE_CREATED = "response.created", "response.created"
    RESPONSE_UPDATED = "response.updated", "response.updated"
    CASE_CREATED = "case.created", "case.created"
    CASE_UPDATED = "case.updated", "case.updated"
    CASE_CLOSED = "case.closed", "case.closed"
    CUSTOMER_ERASED = "customer.erased", "customer.erased"
    PING = "webhook.ping", "webhook.ping"


class WebhookEndpoint(TenantModel):
    """A URL that receives the organization's events, signed with its secret (Standard Webhooks).
    During a rotation the previous secret signs too, until `previous_secret_expires_at`."""

    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=200, blank=True)
    events = models.JSONField(default=list, blank=True)  # event types; empty: every event
    secret = models.CharField(max_length=100)
    previous_secret = models.CharField(max_length=100, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    # The first failed attempt since the last success: a day of failures disables the endpoint.
    failing_since = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["organization", "is_active"], name="webhook_org_active")]

    def __str__(self) -> str:
        return self.url

    def wants(self, event_type: str) -> bool:
        return not self.events or event_type in self.events


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    RETRYING = "retrying", _("Retrying")
    SUCCEEDED = "succeeded", _("Delivered")
    FAILED = "failed", _("Failed")


class WebhookDelivery(TenantModel):
    """One event for one endpoint. `event_id` is the `webhook-id` header, the same on every attempt,
    unique per endpoint: queueing the same event twice delivers it once."""

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.CharField(max_length=80)
    event_type = models.CharField(max_length=40, choices=EventType.choices)
    subject = models.CharField(max_length=80, blank=True)  # "response:42": what the event is about
    payload = models.JSONField()
    status = models.CharField(max_length=12, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # An attempt in flight holds the delivery until then (a crashed worker's claim expires).
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event_id"], name="webhook_delivery_once"),
        ]
        indexes = [
            models.Index(fields=["organization", "endpoint", "-created_at"], name="webhook_delivery_log"),
            models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due"),
            models.Index(fields=["organization", "endpoint", "subject"], name="webhook_delivery_subject"),
        ]


class WebhookAttempt(TenantModel):
    """The log of one attempt: what was sent, what came back, how long it took."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    attempted_at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    request_headers = models.JSONField(default=dict)
    response_excerpt = models.CharField(max_length=1000, blank=True)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        indexes = [models.Index(fields=["organization", "delivery"], name="webhook_attempt_delivery")]


# Notifications


class NotificationKind(models.TextChoices):
    """What happened (loop.signals.NOTIFICATION_KINDS); the sender passes the facts, never the text."""

    CASE_CREATED = "case.created", _("New case")
    CASE_ASSIGNED = "case.assigned", _("Case assigned")
    CASE_ESCALATED = "case.escalated", _("Case escalated")
    CASE_MENTIONED = "case.mentioned", _("Mentioned in a case")
    CASE_CLOSED = "case.closed", _("Case closed")
    ALERT_MATCHED = "alert.matched", _("Alert matched")


class EmailStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    SKIPPED = "skipped", _("Not sent (preference or no address)")
    FAILED = "failed", _("Failed")


class Notification(TenantModel):
    """One member's in-app notification (the inbox), rendered from `kind` and `facts` in the reader's
    language when shown; `request_key` makes recording the same request twice one row."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=40, choices=NotificationKind.choices)
    facts = models.JSONField(default=dict, blank=True)
    request_key = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    email_status = models.CharField(max_length=12, choices=EmailStatus.choices, default=EmailStatus.PENDING)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "user", "request_key"], name="notification_once_per_request"
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "user", "-created_at"], name="notification_inbox"),
            models.Index(fields=["organization", "user", "read_at"], name="notification_unread"),
            models.Index(fields=["email_status", "created_at"], name="notification_email_due"),
        ]


class NotificationPreference(TenantModel):
    """A member's choices in one organization: which kinds also come by email, and the digests."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    email_muted_kinds = models.JSONField(default=list, blank=True)  # kinds NOT emailed; empty: all
    digest_daily = models.BooleanField(default=False)
    digest_weekly = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="notification_preference_once"),
        ]


class ChannelKind(models.TextChoices):
    SLACK = "slack", "Slack"
    TEAMS = "teams", "Microsoft Teams"
    WECOM = "wecom", _("WeCom (企业微信)")
    DINGTALK = "dingtalk", _("DingTalk (钉钉)")
    FEISHU = "feishu", _("Feishu / Lark (飞书)")


SIGNED_CHANNEL_KINDS = (ChannelKind.DINGTALK, ChannelKind.FEISHU)


class NotificationChannel(TenantModel):
    """A team chat robot of the organization: its incoming-webhook URL, its signing secret (DingTalk and
    Feishu), the language its messages are written in, and the kinds it receives (empty: every kind)."""

    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=12, choices=ChannelKind.choices)
    webhook_url = models.URLField(max_length=2000)
    secret = models.CharField(max_length=200, blank=True)
    language = models.CharField(max_length=16, choices=settings.LANGUAGES, default="en")
    kinds = models.JSONField(default=list, blank=True)
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["organization", "is_active"], name="notif_channel_org_active")]

    def __str__(self) -> str:
        return self.name

    def wants(self, kind: str) -> bool:
        return not self.kinds or kind in self.kinds


class ChannelMessage(TenantModel):
    """One notification for one chat channel, and how its delivery went (`request_key` once per channel)."""

    channel = models.ForeignKey(NotificationChannel, on_delete=models.CASCADE, related_name="messages")
    request_key = models.CharField(max_length=64)
    kind = models.CharField(max_length=40)  # a NotificationKind, or "test"
    facts = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=12, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    response_excerpt = models.CharField(max_length=1000, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "request_key"], name="channel_message_once"),
        ]
        indexes = [
            models.Index(fields=["organization", "channel", "-created_at"], name="channel_message_log"),
            models.Index(fields=["status", "next_attempt_at"], name="channel_message_due"),
        ]


class DigestPeriod(models.TextChoices):
    DAILY = "daily", _("Daily")
    WEEKLY = "weekly", _("Weekly")


class DigestSent(TenantModel):
    """A digest email sent to a member for one period (its local start date): at most once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    period = models.CharField(max_length=8, choices=DigestPeriod.choices)
    period_start = models.DateField()
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "user", "period", "period_start"], name="digest_once_per_period"
            ),
        ]
