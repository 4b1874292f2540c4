"""Serializers of alert rules, teams and cases (the API and the webhook payloads)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from cxm.tenancy.tenant import organization_of
from surveys.models import Survey

from .models import AlertRule, CallOutcome, Case, CaseNote, CaseStatus, Priority, Team

User = get_user_model()


@extend_schema_field(OpenApiTypes.INT)
class _OrganizationUsers(serializers.PrimaryKeyRelatedField):
    """A member id; membership is checked by the service (another organization's user is a 400)."""

    def get_queryset(self) -> Any:
        return User.objects.all()


class _OrganizationRelated(serializers.PrimaryKeyRelatedField):
    """An id of the request's organization's `model` (another organization's id does not exist)."""

    def __init__(self, model: Any, **kwargs: Any) -> None:
        self.model = model
        super().__init__(**kwargs)

    def get_queryset(self) -> Any:
        request = self.context.get("request")
        organization = self.context.get("organization") or (organization_of(request) if request else None)
        if organization is None:
            return self.model.objects.none()
        return self.model.objects.for_organization(organization)


class TeamSerializer(serializers.ModelSerializer):
    lead = _OrganizationUsers(allow_null=True, required=False)
    members = _OrganizationUsers(many=True, required=False)

    class Meta:
        model = Team
        fields = ["id", "name", "lead", "members", "created_at"]
        read_only_fields = ["id", "created_at"]


class ConditionsSerializer(serializers.Serializer):
    """Documents the condition keys (see loop/rules.py); validated by the service."""

    score_kind = serializers.ChoiceField(choices=["nps", "csat", "ces", "rating"], required=False)
    score_min = serializers.IntegerField(required=False, min_value=0, max_value=10)
    score_max = serializers.IntegerField(required=False, min_value=0, max_value=10)
    score_drop = serializers.IntegerField(required=False, min_value=1, max_value=10)
    sentiments = serializers.ListField(child=serializers.CharField(), required=False)
    themes = serializers.ListField(child=serializers.CharField(), required=False)
    keywords = serializers.ListField(child=serializers.CharField(), required=False)
    survey_ids = serializers.ListField(child=serializers.IntegerField(), required=False)
    touchpoint_ids = serializers.ListField(child=serializers.IntegerField(), required=False)
    channels = serializers.ListField(child=serializers.CharField(), required=False)
    customer_property = serializers.DictField(child=serializers.CharField(), required=False)
    value_tiers = serializers.ListField(child=serializers.CharField(), required=False)
    min_predicted_value = serializers.DecimalField(max_digits=14, decimal_places=2, required=False)


@extend_schema_field(ConditionsSerializer)
class ConditionsField(serializers.JSONField):
    pass


class AlertRuleSerializer(serializers.ModelSerializer):
    conditions = ConditionsField(required=False)
    team = _OrganizationRelated(Team, allow_null=True, required=False)
    follow_up_survey = _OrganizationRelated(Survey, allow_null=True, required=False)
    notify_users = _OrganizationUsers(many=True, required=False)

    class Meta:
        model = AlertRule
        fields = [
            "id",
            "name",
            "is_active",
            "conditions",
            "open_case",
            "priority",
            "team",
            "notify_users",
            "call_webhook",
            "send_follow_up",
            "follow_up_survey",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]


class RuleTestResponseSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    submitted_at = serializers.DateTimeField()
    score_kind = serializers.CharField()
    score = serializers.IntegerField(allow_null=True)
    comment = serializers.CharField()
    customer = serializers.IntegerField(source="customer_id", allow_null=True)
    survey = serializers.IntegerField(source="survey_id")
    touchpoint = serializers.IntegerField(source="touchpoint_id", allow_null=True)
    channel = serializers.CharField()


class RuleTestSerializer(serializers.Serializer):
    days = serializers.IntegerField()
    examined = serializers.IntegerField(help_text="Responses of the period the conditions were tried on.")
    truncated = serializers.BooleanField(help_text="More candidates than were examined (the newest were).")
    pending = serializers.IntegerField(help_text="Would match once their comment's text analysis is done.")
    match_count = serializers.IntegerField()
    matches = RuleTestResponseSerializer(many=True, help_text="The newest 200 matches.")


class CaseSerializer(serializers.ModelSerializer):
    assignee_name = serializers.SerializerMethodField()
    customer_label = serializers.SerializerMethodField()
    is_overdue = serializers.SerializerMethodField()
    linked_responses = serializers.SerializerMethodField()
    revenue_at_risk = serializers.SerializerMethodField(
        help_text="Predicted value × risk (1 − P(alive), else 1 for a detractor), in the organization's currency."
    )

    class Meta:
        model = Case
        fields = [
            "id",
            "status",
            "priority",
            "rule",
            "response",
            "customer",
            "customer_label",
            "touchpoint",
            "assignee",
            "assignee_name",
            "team",
            "due_at",
            "is_overdue",
            "first_action_at",
            "escalated_at",
            "escalated_to",
            "resolved_at",
            "closed_at",
            "outcome",
            "compensation_amount",
            "compensation_currency",
            "root_cause",
            "follow_up_invitation",
            "follow_up_response",
            "linked_responses",
            "revenue_at_risk",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_assignee_name(self, case: Case) -> str:
        user = case.assignee
        return (user.get_full_name() or user.email or user.username) if user else ""

    def get_customer_label(self, case: Case) -> str:
        customer = case.customer
        return (customer.name or customer.external_id) if customer else ""

    def get_is_overdue(self, case: Case) -> bool:
        from django.utils import timezone

        return bool(case.is_open and case.due_at and case.due_at < timezone.now())

    def get_linked_responses(self, case: Case) -> list[int]:
        return [link.response_id for link in case.linked.all()]

    def get_revenue_at_risk(self, case: Case) -> float | None:
        value = getattr(case, "revenue_at_risk", None)
        return None if value is None else round(float(value), 2)


class CaseUpdateSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=CaseStatus.choices, required=False)
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    assignee = _OrganizationUsers(allow_null=True, required=False)
    outcome = serializers.ChoiceField(choices=CallOutcome.choices, allow_blank=True, required=False)
    compensation_amount = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=0, allow_null=True, required=False
    )
    root_cause = serializers.CharField(max_length=64, allow_blank=True, required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs:
            raise serializers.ValidationError("Give at least one field to change.")
        return attrs


class CaseNoteSerializer(serializers.ModelSerializer):
    author_name = serializers.SerializerMethodField()

    class Meta:
        model = CaseNote
        fields = ["id", "author", "author_name", "body", "mentioned_user_ids", "created_at"]
        read_only_fields = ["id", "author", "author_name", "mentioned_user_ids", "created_at"]

    def get_author_name(self, note: CaseNote) -> str:
        user = note.author
        return (user.get_full_name() or user.email or user.username) if user else ""


class BulkAssignSerializer(serializers.Serializer):
    case_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1), min_length=1, max_length=500
    )
    assignee = _OrganizationUsers(allow_null=True)


class CaseSettingsSerializer(serializers.Serializer):
    sla_hours = serializers.DictField(child=serializers.FloatField(), required=False)
    working_days = serializers.ListField(child=serializers.IntegerField(), required=False)
    work_start = serializers.CharField(required=False)
    work_end = serializers.CharField(required=False)
    holidays = serializers.ListField(child=serializers.CharField(), required=False)
    root_causes = serializers.ListField(child=serializers.CharField(), required=False)
