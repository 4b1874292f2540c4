"""What the Delighted-compatible API keeps beside cxm's own rows: which survey it answers for,
survey requests scheduled for later, autopilot memberships, and the tags and notes of responses."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cxm.tenancy.models import TenantModel
from journeys.models import Customer
from surveys.models import Invitation, Response, Survey

DEFAULT_AUTOPILOT_DAYS = 90


class ApiConfiguration(TenantModel):
    """The organization's choices for the API: its NPS survey (else the newest active NPS survey) and
    the autopilot interval."""

    survey = models.ForeignKey(
        Survey, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("survey")
    )
    autopilot_interval_days = models.PositiveIntegerField(
        _("autopilot interval (days)"), default=DEFAULT_AUTOPILOT_DAYS
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization"], name="delighted_config_one_per_org")]


class RequestStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    INVITED = "invited", _("Invited")
    SKIPPED = "skipped", _("Skipped (fatigue or unsubscribed)")
    CANCELED = "canceled", _("Canceled")


class SurveyRequest(TenantModel):
    """A person's survey request (POST people with a delay, an autopilot turn): at `scheduled_at` it
    becomes an invitation through the surveys fatigue rules, or is skipped by them."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="+")
    scheduled_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=RequestStatus.choices, default=RequestStatus.PENDING)
    properties = models.JSONField(default=dict, blank=True)
    invitation = models.ForeignKey(
        Invitation, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    autopilot = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["organization", "customer", "status"], name="delighted_req_org_cust"),
            models.Index(
                fields=["scheduled_at"], condition=models.Q(status="pending"), name="delighted_req_due"
            ),
        ]


class AutopilotMembership(TenantModel):
    """A person in autopilot: asked again every interval, through the fatigue rules."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=8, default="email")
    properties = models.JSONField(default=dict, blank=True)
    next_survey_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "channel", "customer"], name="delighted_autopilot_unique"
            )
        ]
        indexes = [models.Index(fields=["next_survey_at"], name="delighted_autopilot_due")]


class ResponseAnnotation(TenantModel):
    """Tags and notes of a response (Delighted's), kept beside the response."""

    response = models.OneToOneField(Response, on_delete=models.CASCADE, related_name="+")
    tags = models.JSONField(default=list, blank=True)
    notes = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "response"], name="delighted_annotation_unique")
        ]


class ImportedRecord(TenantModel):
    """A row imported from a Delighted export: its Delighted id, kind and what it became (idempotency)."""

    kind = models.CharField(max_length=16)  # "person" or "response"
    delighted_id = models.CharField(max_length=64)
    object_id = models.BigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "kind", "delighted_id"], name="delighted_import_unique"
            )
        ]
