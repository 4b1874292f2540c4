from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cxm.tenancy.models import TenantModel


class Channel(models.TextChoices):
    WEBSITE = "website", _("Website")
    MOBILE_APP = "mobile_app", _("Mobile app")
    STORE = "store", _("Store")
    PHONE = "phone", _("Phone")
    EMAIL = "email", _("Email")
    SOCIAL = "social", _("Social media")
    CHAT = "chat", _("Chat")
    OTHER = "other", _("Other")


class Customer(TenantModel):
    """A person the organization serves, keyed by the organization's own id for them."""

    external_id = models.CharField(_("external id"), max_length=255)
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=64, blank=True)
    name = models.CharField(_("name"), max_length=255, blank=True)
    age_band = models.CharField(_("age band"), max_length=32, blank=True)
    gender = models.CharField(_("gender"), max_length=32, blank=True)
    city = models.CharField(_("city"), max_length=128, blank=True)
    occupation = models.CharField(_("occupation"), max_length=128, blank=True)
    attributes = models.JSONField(_("attributes"), default=dict, blank=True)
    first_seen_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    unsubscribed = models.BooleanField(_("unsubscribed"), default=False)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    erased_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "external_id"], name="customer_unique_external_id"
            ),
        ]
        # No index on last_seen_at: ingest moves it for every customer it touches, and an index on it
        # would turn each of those updates into a full (non-HOT) row update with three index writes.
        indexes = [models.Index(fields=["organization", "email"], name="customer_org_email")]

    def __str__(self) -> str:
        return self.name or self.email or self.external_id


class Journey(TenantModel):
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Stage(TenantModel):
    """A step of a journey (awareness, purchase, delivery, …), ordered by position."""

    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(_("name"), max_length=200)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["journey_id", "position", "id"]
        indexes = [models.Index(fields=["organization", "journey", "position"], name="stage_org_journey_pos")]

    def __str__(self) -> str:
        return self.name


class Touchpoint(TenantModel):
    """Where a customer meets the business: a stage's card on the journey map."""

    stage = models.ForeignKey(
        Stage, on_delete=models.SET_NULL, null=True, blank=True, related_name="touchpoints"
    )
    name = models.CharField(_("name"), max_length=200)
    key = models.SlugField(
        _("key"), max_length=100, help_text=_("Stable id used by the API and hidden fields.")
    )
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices, default=Channel.OTHER)
    description = models.TextField(_("description"), blank=True)
    owner = models.CharField(_("owner"), max_length=200, blank=True)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["stage_id", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["organization", "key"], name="touchpoint_unique_key")]

    def __str__(self) -> str:
        return self.name


class Interaction(TenantModel):
    """A customer meeting a touchpoint at a time.

    The biggest table: every index costs each ingested row, so the foreign keys to the organization
    (led by the composite indexes) and the touchpoint (looked up only when one is deleted) get no index
    of their own. Its foreign keys have no database constraint either (three checks per ingested row):
    the ingest writes only ids it resolved and locked in the organization, and deleting a customer or a
    touchpoint cascades in the database (see journeys/ingest/__init__.py and migration 0008).
    """

    organization = models.ForeignKey(
        "tenancy.Organization",
        on_delete=models.CASCADE,
        related_name="%(app_label)s_%(class)s_set",
        db_index=False,
        db_constraint=False,
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="interactions", db_constraint=False
    )
    touchpoint = models.ForeignKey(
        Touchpoint,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="interactions",
        db_index=False,
        db_constraint=False,
    )
    kind = models.CharField(_("kind"), max_length=64, blank=True)
    occurred_at = models.DateTimeField(_("occurred at"))
    properties = models.JSONField(default=dict, blank=True)
    external_id = models.CharField(max_length=255, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-occurred_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "external_id"],
                condition=Q(external_id__isnull=False),
                name="interaction_unique_external_id",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "occurred_at"], name="interaction_org_time"),
            models.Index(
                fields=["organization", "customer", "occurred_at"], name="interaction_org_cust_time"
            ),
        ]


class Transaction(TenantModel):
    """An order. Negative amounts are refunds: netted in value, never counted as purchases.

    Like interactions: no single-column indexes on the organization and touchpoint keys, and no
    foreign-key constraints (integrity by construction, journeys/ingest/__init__.py)."""

    organization = models.ForeignKey(
        "tenancy.Organization",
        on_delete=models.CASCADE,
        related_name="%(app_label)s_%(class)s_set",
        db_index=False,
        db_constraint=False,
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="transactions", db_constraint=False
    )
    order_id = models.CharField(_("order id"), max_length=255)
    occurred_at = models.DateTimeField(_("occurred at"))
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="USD")
    touchpoint = models.ForeignKey(
        Touchpoint,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="transactions",
        db_index=False,
        db_constraint=False,
    )
    properties = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-occurred_at"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "order_id"], name="transaction_unique_order_id")
        ]
        indexes = [
            models.Index(fields=["organization", "occurred_at"], name="transaction_org_time"),
            models.Index(
                fields=["organization", "customer", "occurred_at"], name="transaction_org_cust_time"
            ),
        ]


class ExchangeRate(TenantModel):
    """How many units of the organization's currency one unit of `currency` is worth, effective from
    `effective_from` (a local day) until the next rate of the same currency."""

    currency = models.CharField(_("currency"), max_length=3)
    effective_from = models.DateField(_("effective from"))
    rate = models.DecimalField(_("rate"), max_digits=20, decimal_places=10)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["currency", "-effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "currency", "effective_from"], name="exchange_rate_unique_day"
            ),
            models.CheckConstraint(condition=Q(rate__gt=0), name="exchange_rate_positive"),
        ]


class ImportKind(models.TextChoices):
    CUSTOMERS = "customers", _("Customers")
    INTERACTIONS = "interactions", _("Interactions")
    TRANSACTIONS = "transactions", _("Transactions")


class ImportStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    VALIDATING = "validating", _("Validating")
    IMPORTING = "importing", _("Importing")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class ImportJob(TenantModel):
    """One CSV file being imported by a task; progress and bad rows are visible while it runs."""

    kind = models.CharField(_("kind"), max_length=16, choices=ImportKind.choices)
    status = models.CharField(
        _("status"), max_length=16, choices=ImportStatus.choices, default=ImportStatus.QUEUED
    )
    skip_bad_rows = models.BooleanField(_("skip bad rows"), default=False)
    file_path = models.CharField(max_length=500)
    original_name = models.CharField(_("file"), max_length=255, blank=True)
    total = models.PositiveIntegerField(_("rows"), default=0)
    processed = models.PositiveIntegerField(_("processed"), default=0)
    created_count = models.PositiveIntegerField(_("created"), default=0)
    error_count = models.PositiveIntegerField(_("bad rows"), default=0)
    # The first bad rows: [{"line": 12, "reason": "…"}], capped so a broken file stays small.
    errors = models.JSONField(default=list, blank=True)
    message = models.TextField(blank=True)
    # The language of the person who started it: the task writes its messages and reasons in it.
    language = models.CharField(max_length=16, blank=True)
    created_by = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The job row is the truth, the broker message only a nudge: `dispatched_at` is empty until a task
    # message reached the broker; `heartbeat_at` moves with every batch a worker commits;
    # `checkpoint` is written in the same transaction as the last committed batch, so a second run
    # resumes after it; `attempts` counts the runs the sweep restarted after the job stalled.
    dispatched_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    checkpoint = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["organization", "created_at"], name="importjob_org_created"),
            # The sweep's scan: unfinished jobs by status.
            models.Index(fields=["status", "heartbeat_at"], name="importjob_status_heartbeat"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} import {self.pk}"

    @property
    def kind_label(self) -> str:
        """The kind's name, including kinds other apps register (e.g. survey responses)."""
        from .imports import import_kind_handler

        try:
            return str(import_kind_handler(self.kind).label)
        except ValueError:
            return self.kind

    @property
    def is_finished(self) -> bool:
        return self.status in (ImportStatus.DONE, ImportStatus.FAILED)

    @property
    def percent(self) -> int:
        if self.status == ImportStatus.DONE:
            return 100
        return int(100 * self.processed / self.total) if self.total else 0
