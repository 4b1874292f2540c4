from __future__ import annotations

import secrets

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cxm.tenancy.models import TenantModel
from journeys.models import Customer, Touchpoint

from .scoring import CSAT_SCALES


def new_public_id() -> str:
    return secrets.token_urlsafe(9)


class SurveyStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ACTIVE = "active", _("Active")
    PAUSED = "paused", _("Paused")
    CLOSED = "closed", _("Closed")


class QuestionKind(models.TextChoices):
    NPS = "nps", _("NPS (0–10)")
    CSAT = "csat", _("CSAT (1–5)")
    CES = "ces", _("CES (1–7)")
    RATING = "rating", _("Star rating (1–5)")
    SINGLE_CHOICE = "single_choice", _("Single choice")
    MULTIPLE_CHOICE = "multiple_choice", _("Multiple choice")
    TEXT = "text", _("Open text")


# Score ranges per scored question kind (inclusive).
SCORE_RANGES: dict[str, tuple[int, int]] = {
    QuestionKind.NPS: (0, 10),
    QuestionKind.CSAT: (1, 5),
    QuestionKind.CES: (1, 7),
    QuestionKind.RATING: (1, 5),
}


def score_range(kind: str, scale_max: int | None = None) -> tuple[int, int] | None:
    """The inclusive range of a scored kind (None for choice and text questions)."""
    if kind == QuestionKind.CSAT and scale_max in CSAT_SCALES:
        return (1, int(scale_max))  # type: ignore[arg-type]
    return SCORE_RANGES.get(kind)


class ResponseChannel(models.TextChoices):
    LINK = "link", _("Link")
    WIDGET = "widget", _("Web widget")
    EMAIL = "email", _("Email")
    QR = "qr", _("QR code")
    API = "api", _("API")


CHANNELS = frozenset(ResponseChannel.values)  # `in ResponseChannel.values` rebuilds a list on every call


class Survey(TenantModel):
    public_id = models.CharField(max_length=32, unique=True, default=new_public_id, editable=False)
    name = models.CharField(_("name"), max_length=200)
    status = models.CharField(
        _("status"), max_length=16, choices=SurveyStatus.choices, default=SurveyStatus.DRAFT
    )
    languages = models.JSONField(_("languages"), default=list, blank=True)  # e.g. ["en", "zh-hans"]
    default_language = models.CharField(max_length=16, default="en")
    touchpoint = models.ForeignKey(
        Touchpoint, on_delete=models.SET_NULL, null=True, blank=True, related_name="surveys"
    )
    allowed_origins = models.JSONField(_("allowed embedding origins"), default=list, blank=True)
    thank_you = models.JSONField(_("thank-you message"), default=dict, blank=True)  # {lang: text}
    fatigue_days = models.PositiveIntegerField(_("fatigue days (override)"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organization", "status"], name="survey_org_status")]

    def __str__(self) -> str:
        return self.name


class Question(TenantModel):
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveIntegerField(default=0)
    kind = models.CharField(_("type"), max_length=32, choices=QuestionKind.choices)
    text = models.JSONField(_("text"), default=dict)  # {lang: text}
    required = models.BooleanField(_("required"), default=False)
    options = models.JSONField(
        _("options"), default=list, blank=True
    )  # [{"value": "x", "label": {lang: text}}]
    # Follow-up logic: {"question": <id>, "min": 0, "max": 6} shows this one only in that range.
    show_if = models.JSONField(_("show if"), default=dict, blank=True)
    # CSAT may be asked on 1–3, 1–5 (default) or 1–7; other kinds have fixed scales.
    scale_max = models.PositiveSmallIntegerField(_("scale maximum"), null=True, blank=True)

    def score_range(self) -> tuple[int, int] | None:
        return score_range(self.kind, self.scale_max)

    class Meta:
        ordering = ["survey_id", "position", "id"]

    def __str__(self) -> str:
        return next(iter(self.text.values()), self.kind) if self.text else self.kind


class Response(TenantModel):
    """One customer's answers to one survey, with the fields metrics need denormalised.

    Every response goes through every index, so none is redundant: the organization key is led by
    the composite indexes, and the touchpoint key (looked up alone only when a touchpoint is
    deleted) has no index of its own, as on interactions."""

    organization = models.ForeignKey(
        "tenancy.Organization",
        on_delete=models.CASCADE,
        related_name="%(app_label)s_%(class)s_set",
        db_index=False,
    )
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="responses")
    customer = models.ForeignKey(
        Customer, on_delete=models.SET_NULL, null=True, blank=True, related_name="responses"
    )
    touchpoint = models.ForeignKey(
        Touchpoint, on_delete=models.SET_NULL, null=True, blank=True, related_name="responses", db_index=False
    )
    channel = models.CharField(max_length=16, choices=ResponseChannel.choices, default=ResponseChannel.LINK)
    locale = models.CharField(max_length=16, blank=True)
    page_url = models.URLField(max_length=2000, blank=True)
    idempotency_key = models.CharField(max_length=128)
    hidden_fields = models.JSONField(default=dict, blank=True)
    # The survey's primary (first scored) question: kind and score, copied here for fast aggregates.
    score_kind = models.CharField(max_length=16, blank=True)
    score = models.SmallIntegerField(null=True, blank=True)
    comment = models.TextField(blank=True)
    submitted_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-submitted_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "survey", "idempotency_key"], name="response_unique_idempotency"
            ),
            models.CheckConstraint(
                condition=Q(score__isnull=True) | Q(score__gte=0, score__lte=10), name="response_score_range"
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "submitted_at"], name="response_org_time"),
            models.Index(fields=["organization", "survey", "submitted_at"], name="response_org_survey_time"),
            models.Index(fields=["organization", "touchpoint", "submitted_at"], name="response_org_tp_time"),
            models.Index(fields=["organization", "customer", "submitted_at"], name="response_org_cust_time"),
        ]


class Answer(TenantModel):
    """One answer. The organization and response keys are led by composite indexes (no index of
    their own)."""

    organization = models.ForeignKey(
        "tenancy.Organization",
        on_delete=models.CASCADE,
        related_name="%(app_label)s_%(class)s_set",
        db_index=False,
    )
    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="answers", db_index=False)
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="answers")
    number = models.SmallIntegerField(null=True, blank=True)
    text = models.TextField(blank=True)
    choices = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["response", "question"], name="answer_unique_question")
        ]
        indexes = [models.Index(fields=["organization", "question"], name="answer_org_question")]


class InvitationStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENT = "sent", _("Sent")
    ANSWERED = "answered", _("Answered")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Skipped")


class Invitation(TenantModel):
    """An email invitation of one customer to one survey, with its own token."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="invitations")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="invitations")
    token = models.CharField(max_length=64, unique=True, default=new_public_id)
    status = models.CharField(
        max_length=16, choices=InvitationStatus.choices, default=InvitationStatus.QUEUED
    )
    language = models.CharField(max_length=16, default="en")
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    response = models.ForeignKey(Response, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    error = models.TextField(blank=True)
    # The rows are the outbox, the broker message only a nudge: `dispatched_at` is empty until a send
    # task reached the broker (the sweep sends the rest again), `attempts` counts those sends, and
    # `sending_at` is the claim of the one send that emails it (never two, even when sends race).
    dispatched_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    sending_at = models.DateTimeField(null=True, blank=True)
    # What an integrator asked for this one invitation: `question_product_name` (names the product in
    # the question instead of the organization), `thank_you_message`, `thank_you_link_url` and
    # `thank_you_link_text` (the thank-you page), `intro_message` (a line above the question).
    personalisation = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["organization", "customer", "created_at"], name="invitation_org_cust_time"),
            # The sweep's: only the few queued rows are in it, however many invitations were sent.
            models.Index(
                fields=["organization", "created_at"],
                condition=Q(status=InvitationStatus.QUEUED),
                name="invitation_org_queued",
            ),
        ]
