from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cxm.tenancy.models import TenantModel


class Snapshot(TenantModel):
    """A dashboard's computed payload for one set of filters, replaced atomically on recompute."""

    dashboard = models.CharField(max_length=32)
    filters_key = models.CharField(max_length=64)
    filters = models.JSONField(default=dict, blank=True)
    payload = models.JSONField(default=dict)
    computed_at = models.DateTimeField(default=timezone.now)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "dashboard", "filters_key"], name="snapshot_unique"
            ),
        ]


class RecomputeState(TenantModel):
    """One row per organization: whether its dashboards are stale and whether a recompute runs.

    The row is the lock: a recompute claims it with `select_for_update`, so one runs at a time
    per organization, and requests that arrive meanwhile only move `stale_since` (coalesced).
    """

    stale_since = models.DateTimeField(null=True, blank=True)
    requested_at = models.DateTimeField(null=True, blank=True)
    running_since = models.DateTimeField(null=True, blank=True)
    run_token = models.CharField(max_length=32, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    last_duration_ms = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    runs = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization"], name="recompute_state_unique_org")]


class PeriodUnit(models.TextChoices):
    DAY = "day", _("Day")
    WEEK = "week", _("Week")
    MONTH = "month", _("Month")


class ClvModel(TenantModel):
    """A fitted BG/NBD + Gamma-Gamma model: its parameters, log-likelihoods and data summary."""

    calibration_end = models.DateField()
    period = models.CharField(max_length=8, choices=PeriodUnit.choices, default=PeriodUnit.WEEK)
    r = models.FloatField()
    alpha = models.FloatField()
    a = models.FloatField()
    b = models.FloatField()
    bgnbd_log_likelihood = models.FloatField()
    p = models.FloatField(null=True, blank=True)
    q = models.FloatField(null=True, blank=True)
    gamma = models.FloatField(null=True, blank=True)
    gamma_gamma_log_likelihood = models.FloatField(null=True, blank=True)
    summary = models.JSONField(default=dict, blank=True)
    fitted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-fitted_at", "-id"]
        indexes = [models.Index(fields=["organization", "fitted_at"], name="clvmodel_org_fitted")]


class CustomerValue(TenantModel):
    """Per-customer values of the last recompute: RFM, value tier, lifecycle, CLV, latest NPS."""

    customer = models.OneToOneField(
        "journeys.Customer", on_delete=models.CASCADE, related_name="metrics_value"
    )
    first_purchase_at = models.DateTimeField(null=True, blank=True)
    last_purchase_at = models.DateTimeField(null=True, blank=True)
    purchase_count = models.PositiveIntegerField(default=0)
    historical_value = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    recency_days = models.IntegerField(null=True, blank=True)
    r_score = models.PositiveSmallIntegerField(null=True, blank=True)
    f_score = models.PositiveSmallIntegerField(null=True, blank=True)
    m_score = models.PositiveSmallIntegerField(null=True, blank=True)
    rfm_segment = models.CharField(max_length=32, blank=True)
    value_tier = models.CharField(max_length=8, blank=True)
    lifecycle_stage = models.CharField(max_length=16, blank=True)
    expected_transactions = models.FloatField(null=True, blank=True)
    p_alive = models.FloatField(null=True, blank=True)
    predicted_clv = models.FloatField(null=True, blank=True)
    # The customer's transactions without an exchange rate, left out of the amounts above.
    transactions_left_out = models.PositiveIntegerField(default=0)
    latest_nps_score = models.SmallIntegerField(null=True, blank=True)
    latest_nps_at = models.DateTimeField(null=True, blank=True)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["organization", "rfm_segment"], name="custvalue_org_segment"),
            models.Index(fields=["organization", "value_tier"], name="custvalue_org_tier"),
        ]


class ResponseRollup(TenantModel):
    """Scored responses per local day (the organization's time zone), survey, touchpoint, language
    and score: the counts every survey score of the overview and journey dashboards is computed from
    (categories, top boxes, sums and sums of squares all follow from the count per score value).
    Maintained by `metrics.services.rollups` as responses arrive, and rebuilt in full on demand.

    The survey and touchpoint are keys without database constraints: the rollup is derived data,
    refreshed when what it counts changes (a deleted survey or touchpoint refreshes its days)."""

    day = models.DateField()
    survey = models.ForeignKey(
        "surveys.Survey", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    touchpoint = models.ForeignKey(
        "journeys.Touchpoint",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    locale = models.CharField(max_length=16, blank=True)
    score_kind = models.CharField(max_length=16, blank=True)
    score = models.SmallIntegerField()
    n = models.PositiveIntegerField()

    class Meta:
        indexes = [models.Index(fields=["organization", "day"], name="response_rollup_org_day")]


class RollupState(TenantModel):
    """One row per organization: the time zone its rollups were built in (a change rebuilds them),
    whether a full rebuild is due, and a version per kind of input that moves whenever that input
    changes (the incremental recompute reuses what was computed from unchanged inputs). The row is
    also the lock serialising the refreshes of one organization's rollups."""

    time_zone = models.CharField(max_length=64, blank=True)
    built_at = models.DateTimeField(null=True, blank=True)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    needs_rebuild = models.BooleanField(default=True)
    versions = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization"], name="rollup_state_unique_org")]


class RecomputePart(TenantModel):
    """A part of the default dashboards a recompute could not derive from the rollups, stored with
    the fingerprint of its inputs: the next recompute reuses it while the fingerprint is the same."""

    key = models.CharField(max_length=64)
    fingerprint = models.CharField(max_length=64)
    value = models.JSONField(default=dict, blank=True)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "key"], name="recompute_part_unique")]


class CustomerSummary(TenantModel):
    """One row per customer: their purchase summary (METRICS.md, "Customer value") and last activity,
    maintained as data arrives (services.customer_summaries.customer_summaries_refresh) and rebuilt
    in full in SQL. Every per-customer value (RFM, tiers, lifecycle, CLV) is computed from it.

    Days are local days of the organization's zone; money is in its currency (a transaction without
    a rate is left out of every sum and counted in `unconverted`); refunds (amount < 0) are netted in
    the money but are never purchases. `gap_days` lists the gaps in days between consecutive purchase
    days (the organization's median gap is taken over all of them)."""

    # No database constraint: a rebuild writes every customer's row and the per-row check would cost
    # a quarter of it; the rows come from the customers table itself, and Django's CASCADE removes a
    # deleted customer's summary.
    customer = models.ForeignKey(
        "journeys.Customer", on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    first_purchase_at = models.DateTimeField(null=True, blank=True)
    last_purchase_at = models.DateTimeField(null=True, blank=True)
    first_purchase_day = models.DateField(null=True, blank=True)
    last_purchase_day = models.DateField(null=True, blank=True)
    purchase_days = models.PositiveIntegerField(default=0)
    purchase_count = models.PositiveIntegerField(default=0)
    gross = models.DecimalField(max_digits=30, decimal_places=10, default=0)
    refunds = models.DecimalField(max_digits=30, decimal_places=10, default=0)
    historical_value = models.DecimalField(max_digits=30, decimal_places=10, default=0)
    first_day_spend = models.DecimalField(max_digits=30, decimal_places=10, default=0)
    repeat_spend = models.DecimalField(max_digits=30, decimal_places=10, default=0)
    repeat_spend_days = models.PositiveIntegerField(default=0)
    median_gap_days = models.FloatField(null=True, blank=True)
    gap_days = models.JSONField(default=list, blank=True)
    unconverted = models.PositiveIntegerField(default=0)
    last_interaction_at = models.DateTimeField(null=True, blank=True)
    refreshed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "customer"], name="custsummary_unique_customer")
        ]
