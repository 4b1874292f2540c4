"""Webhook endpoints of an organization, one delivery per endpoint and event, and each attempt's log;
alert rules, their matches, teams, and cases with their linked responses and notes."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from cxm.tenancy.models import TenantModel


class EventType(models.TextChoices):
    RESPONSE_CREATED = "response.created", "response.created"
    RESPONSE_UPDATED = "response.updated", "response.updated"
    CASE_CREATED = "case.created", "case.created"
    CASE_UPDATED = "case.updated", "case.updated"
    CASE_CLOSED = "case.closed", "case.closed"
    CUSTOMER_ERASED = "customer.erased", "customer.erased"
    ALERT_MATCHED = "alert.matched", "alert.matched"
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


# Alert rules and cases


class Priority(models.TextChoices):
    URGENT = "urgent", _("Urgent")
    HIGH = "high", _("High")
    NORMAL = "normal", _("Normal")
    LOW = "low", _("Low")


PRIORITY_RANK = {Priority.URGENT: 0, Priority.HIGH: 1, Priority.NORMAL: 2, Priority.LOW: 3}


class Team(TenantModel):
    """People who share a queue: new cases of a rule that names the team go round-robin to its
    members; its lead is who an overdue case escalates to."""

    name = models.CharField(_("name"), max_length=120)
    lead = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("lead"),
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="case_teams", verbose_name=_("members")
    )
    # Round-robin position: the index (in member id order) of the next assignee.
    next_index = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="team_unique_name")]

    def __str__(self) -> str:
        return self.name


class AlertRule(TenantModel):
    """Conditions on a recorded response (all given ones must hold, see loop/rules.py for their keys)
    and what happens when they do: open a case, notify members, send an `alert.matched` webhook."""

    name = models.CharField(_("name"), max_length=200)
    is_active = models.BooleanField(_("active"), default=True)
    conditions = models.JSONField(_("conditions"), default=dict, blank=True)
    open_case = models.BooleanField(_("open a case"), default=True)
    priority = models.CharField(
        _("priority"), max_length=8, choices=Priority.choices, default=Priority.NORMAL
    )
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="rules", verbose_name=_("team")
    )
    notify_users = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="+", verbose_name=_("notify")
    )
    call_webhook = models.BooleanField(_("call webhooks"), default=False)
    send_follow_up = models.BooleanField(_("ask the customer after closing"), default=False)
    follow_up_survey = models.ForeignKey(
        "surveys.Survey",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("follow-up survey"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["organization", "is_active"], name="alertrule_org_active")]

    def __str__(self) -> str:
        return self.name


class CaseStatus(models.TextChoices):
    NEW = "new", pgettext_lazy("case status", "New")
    IN_PROGRESS = "in_progress", _("In progress")
    WAITING = "waiting", _("Waiting for the customer")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")
    REOPENED = "reopened", _("Reopened")


OPEN_STATUSES = (CaseStatus.NEW, CaseStatus.IN_PROGRESS, CaseStatus.WAITING, CaseStatus.REOPENED)


class CallOutcome(models.TextChoices):
    REACHED = "reached", _("Reached")
    NOT_REACHED = "not_reached", _("Not reached")
    RESOLVED = "resolved", _("Resolved on the call")
    COMPENSATED = "compensated", _("Compensation given")


class Case(TenantModel):
    """Following up one unhappy customer: opened by a rule on a response; later responses of the same
    customer while it is open join it (CaseResponse)."""

    rule = models.ForeignKey(
        AlertRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="cases"
    )
    response = models.ForeignKey(
        "surveys.Response", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    customer = models.ForeignKey(
        "journeys.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    touchpoint = models.ForeignKey(
        "journeys.Touchpoint", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(_("status"), max_length=12, choices=CaseStatus.choices, default=CaseStatus.NEW)
    priority = models.CharField(
        _("priority"), max_length=8, choices=Priority.choices, default=Priority.NORMAL
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("assignee"),
    )
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="cases")
    due_at = models.DateTimeField(null=True, blank=True)
    first_action_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    escalated_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(_("call-back outcome"), max_length=12, choices=CallOutcome.choices, blank=True)
    compensation_amount = models.DecimalField(
        _("compensation"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    compensation_currency = models.CharField(max_length=3, blank=True)
    root_cause = models.CharField(_("root cause"), max_length=64, blank=True)
    follow_up_invitation = models.ForeignKey(
        "surveys.Invitation", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    follow_up_response = models.ForeignKey(
        "surveys.Response", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(compensation_amount__isnull=True) | models.Q(compensation_amount__gte=0),
                name="case_compensation_positive",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "status", "due_at"], name="case_org_status_due"),
            models.Index(fields=["organization", "assignee", "status"], name="case_org_assignee"),
            models.Index(fields=["organization", "customer", "status"], name="case_org_customer"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class CaseResponse(TenantModel):
    """A response that belongs to a case: the one that opened it and those of the same customer that
    arrived while it was open. A response belongs to one case at most."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="linked")
    response = models.ForeignKey("surveys.Response", on_delete=models.CASCADE, related_name="+")
    joined_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["joined_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "response"], name="caseresponse_unique_response")
        ]


class RuleMatch(TenantModel):
    """A rule fired for a response, once: the unique constraint is what makes a rule never fire twice
    for the same response, however often the evaluation runs."""

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="matches")
    response = models.ForeignKey("surveys.Response", on_delete=models.CASCADE, related_name="+")
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    matched_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "rule", "response"], name="rulematch_once")
        ]


class CaseNote(TenantModel):
    """An internal note on a case; @username or @email mentions are notified."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField(_("note"))
    mentioned_user_ids = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["organization", "case", "created_at"], name="casenote_org_case")]


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
