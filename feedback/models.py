"""Unsolicited feedback, and the stored analysis of every comment (open-text answers and feedback records).

Results are versioned. `TextSettings.current_version` is the complete version every read uses;
`target_version` is the one the analyser would give now (model, taxonomy, adaptation and dictionary).
When they differ the background re-analyses every comment into the target version while reads keep
the current one, then switches and deletes the old rows (`feedback.services.text_pending_analyse`).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cxm.tenancy.models import TenantModel
from journeys.models import Customer, Touchpoint
from surveys.models import Answer, Response

MAX_TEXT_LENGTH = 10_000
SURVEY_SOURCE = "survey"


class FeedbackChannel(models.TextChoices):
    APP_STORE = "app_store", _("App store")
    REVIEW_SITE = "review_site", _("Review site")
    SOCIAL = "social", _("Social media")
    TICKET = "ticket", _("Support ticket")
    CHAT = "chat", _("Chat")
    CALL_NOTE = "call_note", _("Call note")
    EMAIL = "email", _("Email")
    OTHER = "other", _("Other")


class SentimentLabel(models.TextChoices):
    NEGATIVE = "negative", _("Negative")
    NEUTRAL = "neutral", _("Neutral")
    POSITIVE = "positive", _("Positive")


class FeedbackRecord(TenantModel):
    """One piece of unsolicited feedback (a review, a ticket, a chat, a post). Never scored: it does not
    change NPS, CSAT or CES."""

    external_id = models.CharField(_("id"), max_length=255)
    text = models.TextField(_("text"), max_length=MAX_TEXT_LENGTH)
    channel = models.CharField(_("channel"), max_length=16, choices=FeedbackChannel.choices)
    source = models.CharField(_("source"), max_length=100, blank=True)
    occurred_at = models.DateTimeField(_("occurred at"))
    customer = models.ForeignKey(
        Customer, on_delete=models.SET_NULL, null=True, blank=True, related_name="feedback_records"
    )
    touchpoint = models.ForeignKey(
        Touchpoint, on_delete=models.SET_NULL, null=True, blank=True, related_name="feedback_records"
    )
    rating = models.DecimalField(_("rating"), max_digits=6, decimal_places=2, null=True, blank=True)
    rating_scale = models.PositiveSmallIntegerField(_("rating scale"), null=True, blank=True)
    language = models.CharField(_("language"), max_length=8, blank=True)
    properties = models.JSONField(_("properties"), default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "external_id"], name="feedback_unique_external_id"
            ),
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | Q(rating_scale__isnull=False, rating__gte=0),
                name="feedback_rating_has_scale",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "occurred_at"], name="feedback_org_time"),
            models.Index(fields=["organization", "channel", "occurred_at"], name="feedback_org_channel_time"),
        ]

    def __str__(self) -> str:
        return self.external_id


class TextSettings(TenantModel):
    """An organization's text model: its taxonomy (starting from the default one), its dictionary of
    product and brand names, the adaptation learnt from its corrections, and which version of the
    results is served (`current_version`) or being computed (`target_version`), with progress."""

    organization = models.OneToOneField(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="text_settings"
    )
    taxonomy = models.JSONField(default=dict)
    taxonomy_version = models.CharField(max_length=64, blank=True)
    dictionary = models.JSONField(default=list, blank=True)
    adaptation = models.TextField(blank=True)
    adaptation_version = models.CharField(max_length=64, blank=True)
    current_version = models.CharField(max_length=200, blank=True)
    target_version = models.CharField(max_length=200, blank=True)
    # Progress of the analysis into the target version: comments to do and done, and when it started.
    progress_total = models.PositiveIntegerField(default=0)
    progress_done = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    @property
    def reanalysing(self) -> bool:
        return bool(self.target_version) and self.target_version != self.current_version


class TextAnalysis(TenantModel):
    """The analysis of one comment in one version: of an open-text answer (with its response) or of a
    feedback record. `sentiment`/`score` are what is served (a manager's correction overrides the
    model); `model_sentiment`/`model_score` are the model's own prediction, for the accuracy."""

    organization = models.ForeignKey(
        "tenancy.Organization",
        on_delete=models.CASCADE,
        related_name="%(app_label)s_%(class)s_set",
        db_index=False,
    )
    version = models.CharField(max_length=200)
    answer = models.ForeignKey(Answer, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    response = models.ForeignKey(
        Response, on_delete=models.CASCADE, null=True, blank=True, related_name="+", db_index=False
    )
    record = models.ForeignKey(
        FeedbackRecord, on_delete=models.CASCADE, null=True, blank=True, related_name="analyses"
    )
    # Copied from the comment for filters and aggregation without joins.
    touchpoint = models.ForeignKey(
        Touchpoint, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )
    channel = models.CharField(max_length=16, blank=True)
    source = models.CharField(max_length=100, blank=True)
    occurred_at = models.DateTimeField()
    day = models.DateField()
    language = models.CharField(max_length=8)
    sentiment = models.CharField(max_length=8, choices=SentimentLabel.choices)
    score = models.FloatField()
    model_sentiment = models.CharField(max_length=8, choices=SentimentLabel.choices)
    model_score = models.FloatField()
    corrected = models.BooleanField(default=False)
    clauses = models.JSONField(default=list, blank=True)
    tokens = models.JSONField(default=list, blank=True)
    # Tokens joined by spaces (Chinese segmented). On PostgreSQL a GIN index over its 'simple'
    # tsvector serves full-text search (migration 0001); SQLite falls back to substring matching.
    search_text = models.TextField(blank=True)
    analysed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "version", "answer"],
                condition=Q(answer__isnull=False),
                name="textanalysis_unique_answer",
            ),
            models.UniqueConstraint(
                fields=["organization", "version", "record"],
                condition=Q(record__isnull=False),
                name="textanalysis_unique_record",
            ),
            models.CheckConstraint(
                condition=Q(answer__isnull=False, record__isnull=True)
                | Q(answer__isnull=True, record__isnull=False),
                name="textanalysis_one_comment",
            ),
            models.CheckConstraint(condition=Q(score__gte=-1, score__lte=1), name="textanalysis_score_range"),
        ]
        indexes = [
            models.Index(fields=["organization", "version", "day"], name="textanalysis_org_version_day"),
            models.Index(fields=["organization", "response"], name="textanalysis_org_response"),
        ]


class ThemeMention(TenantModel):
    """A theme found in a comment, with the sentiment of its clause: one row per mention, with what the
    aggregates filter on copied from the analysis."""

    organization = models.ForeignKey(
        "tenancy.Organization",
        on_delete=models.CASCADE,
        related_name="%(app_label)s_%(class)s_set",
        db_index=False,
    )
    analysis = models.ForeignKey(TextAnalysis, on_delete=models.CASCADE, related_name="mentions")
    version = models.CharField(max_length=200)
    theme = models.CharField(max_length=64)
    subtheme = models.CharField(max_length=64, blank=True)
    phrase = models.CharField(max_length=200, blank=True)
    start = models.PositiveIntegerField(default=0)
    end = models.PositiveIntegerField(default=0)
    sentiment = models.CharField(max_length=8, choices=SentimentLabel.choices)
    score = models.FloatField()
    day = models.DateField()
    touchpoint = models.ForeignKey(
        Touchpoint, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )
    channel = models.CharField(max_length=16, blank=True)
    source = models.CharField(max_length=100, blank=True)
    response = models.ForeignKey(
        Response, on_delete=models.CASCADE, null=True, blank=True, related_name="+", db_index=False
    )
    record = models.ForeignKey(
        FeedbackRecord, on_delete=models.CASCADE, null=True, blank=True, related_name="+", db_index=False
    )

    class Meta:
        indexes = [
            models.Index(
                fields=["organization", "version", "theme", "day"], name="mention_org_version_theme"
            ),
        ]


class Correction(TenantModel):
    """A manager's correction of one comment (an answer or a feedback record): its sentiment and/or its
    themes, with what the model had predicted. The latest correction of a comment wins."""

    answer = models.ForeignKey(Answer, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    record = models.ForeignKey(
        FeedbackRecord, on_delete=models.CASCADE, null=True, blank=True, related_name="corrections"
    )
    sentiment = models.CharField(max_length=8, choices=SentimentLabel.choices, blank=True)
    themes = models.JSONField(null=True, blank=True)  # a list of theme keys, or None: themes not corrected
    model_sentiment = models.CharField(max_length=8, blank=True)
    model_themes = models.JSONField(default=list, blank=True)
    model_version = models.CharField(max_length=200, blank=True)
    text = models.TextField(blank=True)
    language = models.CharField(max_length=8, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(answer__isnull=False, record__isnull=True)
                | Q(answer__isnull=True, record__isnull=False),
                name="correction_one_comment",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "created_at"], name="correction_org_time"),
            models.Index(fields=["organization", "answer"], name="correction_org_answer"),
            models.Index(fields=["organization", "record"], name="correction_org_record"),
        ]
