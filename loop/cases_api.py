"""API of alert rules (with their test mode), teams, cases (the queues, updates, notes, bulk
assignment) and the case settings. Rules and teams need `edit` to change; cases are read with `view`
(a viewer sees only their own and their team's) and changed with `edit`."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response as ApiResponse
from rest_framework.views import APIView

from cxm.api.mixins import OrganizationScopedMixin
from cxm.tenancy.tenant import organization_of, tenant_of

from . import case_selectors, cases, rules
from .calendar import case_settings
from .case_serializers import (
    AlertRuleSerializer,
    BulkAssignSerializer,
    CaseNoteSerializer,
    CaseSerializer,
    CaseSettingsSerializer,
    CaseUpdateSerializer,
    RuleTestSerializer,
    TeamSerializer,
)
from .models import AlertRule, Case, CaseStatus, Priority, Team

RULE_FIELDS = (
    "is_active",
    "conditions",
    "open_case",
    "priority",
    "team",
    "notify_users",
    "call_webhook",
    "send_follow_up",
    "follow_up_survey",
)


class TeamViewSet(OrganizationScopedMixin, viewsets.ModelViewSet):
    """Teams: cases of a rule naming a team go round-robin to its members; the lead gets escalations."""

    queryset = Team.objects.all()
    serializer_class = TeamSerializer

    def get_queryset(self) -> QuerySet[Team]:
        return super().get_queryset().prefetch_related("members").order_by("name", "pk")

    def _check_name(self, data: dict[str, Any]) -> None:
        if "name" not in data:
            return
        taken = Team.objects.for_organization(organization_of(self.request)).filter(name=data["name"])
        instance = getattr(self, "_instance", None)
        if instance is not None:
            taken = taken.exclude(pk=instance.pk)
        if taken.exists():
            raise serializers.ValidationError({"name": ["A team of this name exists already."]})

    def _check_members(self, data: dict[str, Any]) -> None:
        self._check_name(data)
        users = [*data.get("members", []), *([data["lead"]] if data.get("lead") else [])]
        ids = {user.pk for user in users}
        if (
            ids
            and cases.organization_member_ids(organization=organization_of(self.request), user_ids=ids) != ids
        ):
            raise serializers.ValidationError(
                {"members": ["Only members of the organization can be in a team."]}
            )

    def perform_create(self, serializer: Any) -> None:
        self._check_members(serializer.validated_data)
        serializer.save(organization=organization_of(self.request))

    def perform_update(self, serializer: Any) -> None:
        self._instance = serializer.instance
        self._check_members(serializer.validated_data)
        serializer.save()


class AlertRuleViewSet(OrganizationScopedMixin, viewsets.ModelViewSet):
    """Alert rules: conditions on recorded responses (all given ones must hold) and actions."""

    queryset = AlertRule.objects.all()
    serializer_class = AlertRuleSerializer

    def get_queryset(self) -> QuerySet[AlertRule]:
        return (
            super()
            .get_queryset()
            .select_related("team")
            .prefetch_related("notify_users")
            .order_by("name", "pk")
        )

    def perform_create(self, serializer: Any) -> None:
        data = dict(serializer.validated_data)
        serializer.instance = cases.rule_create(
            organization=organization_of(self.request),
            name=data.pop("name"),
            actor=self.request.user,
            **{key: value for key, value in data.items() if key in RULE_FIELDS},
        )

    def perform_update(self, serializer: Any) -> None:
        data = serializer.validated_data
        serializer.instance = cases.rule_update(
            rule=serializer.instance,
            **{key: value for key, value in data.items() if key in (*RULE_FIELDS, "name")},
        )

    @extend_schema(request=None, responses=RuleTestSerializer)
    @action(detail=True, methods=["post"])
    def test(self, request: Request, pk: Any = None) -> ApiResponse:
        """Which of the last 30 days' responses this rule would match; nothing is recorded or sent."""
        result = rules.rule_test(rule=self.get_object())
        data = {
            "days": result.days,
            "examined": result.examined,
            "truncated": result.truncated,
            "pending": result.pending,
            "match_count": len(result.matched),
            "matches": result.matched[:200],
        }
        return ApiResponse(RuleTestSerializer(data).data)


class CasePagination(PageNumberPagination):
    """Pages by number (the queue is ordered by revenue at risk, which a cursor cannot follow); a
    page that does not exist is a 400 like any other bad parameter."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> Any:
        try:
            return super().paginate_queryset(queryset, request, view)
        except NotFound:
            raise serializers.ValidationError({self.page_query_param: ["This page does not exist."]})


class CaseQueueParams(serializers.Serializer):
    queue = serializers.ChoiceField(choices=case_selectors.QUEUES, required=False)
    status = serializers.ChoiceField(choices=CaseStatus.choices, required=False)
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    touchpoint = serializers.IntegerField(min_value=1, required=False)
    assignee = serializers.IntegerField(min_value=1, required=False)
    ordering = serializers.ChoiceField(choices=case_selectors.ORDERINGS, required=False)


QUEUE_PARAMETERS = [
    OpenApiParameter(
        "queue",
        str,
        enum=list(case_selectors.QUEUES),
        description="all (default), mine, team, overdue, unassigned",
    ),
    OpenApiParameter("status", str, enum=list(CaseStatus.values)),
    OpenApiParameter("priority", str, enum=list(Priority.values)),
    OpenApiParameter("touchpoint", int),
    OpenApiParameter("assignee", int),
    OpenApiParameter(
        "ordering",
        str,
        enum=list(case_selectors.ORDERINGS),
        description="risk (revenue at risk, default), age, due",
    ),
]


class CaseViewSet(
    OrganizationScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Cases. A viewer sees only the cases assigned to them or their team and cannot change any."""

    queryset = Case.objects.all()
    serializer_class = CaseSerializer
    pagination_class = CasePagination
    filter_backends: list[Any] = []

    def get_queryset(self) -> QuerySet[Case]:
        tenant = tenant_of(self.request)
        params = {}
        if self.action == "list":
            parsed = CaseQueueParams(data=self.request.query_params)
            parsed.is_valid(raise_exception=True)
            params = dict(parsed.validated_data)
        ordering = params.pop("ordering", "risk")
        return case_selectors.case_queue(
            tenant=tenant, user=self.request.user, filters=params, ordering=ordering
        ).prefetch_related("linked")

    @extend_schema(parameters=QUEUE_PARAMETERS)
    def list(self, request: Request, *args: Any, **kwargs: Any) -> ApiResponse:
        """A queue of cases, ordered by revenue at risk (predicted value × risk), then oldest first."""
        return super().list(request, *args, **kwargs)

    @extend_schema(request=CaseUpdateSerializer, responses=CaseSerializer)
    def partial_update(self, request: Request, pk: Any = None) -> ApiResponse:
        """Change the status (allowed transitions only), priority, assignee, call-back outcome,
        compensation amount (in the organization's currency) or root cause."""
        case = self.get_object()
        payload = CaseUpdateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        cases.case_update(case=case, actor=request.user, **payload.validated_data)
        return ApiResponse(CaseSerializer(self.get_object()).data)

    @extend_schema(methods=["GET"], responses=CaseNoteSerializer(many=True))
    @extend_schema(methods=["POST"], request=CaseNoteSerializer, responses={201: CaseNoteSerializer})
    @action(detail=True, methods=["get", "post"])
    def notes(self, request: Request, pk: Any = None) -> ApiResponse:
        """Internal notes, oldest first; @username or @email mentions a member."""
        case = self.get_object()
        if request.method == "POST":
            payload = CaseNoteSerializer(data=request.data)
            payload.is_valid(raise_exception=True)
            note = cases.case_note_create(case=case, author=request.user, body=payload.validated_data["body"])
            return ApiResponse(CaseNoteSerializer(note).data, status=status.HTTP_201_CREATED)
        return ApiResponse(CaseNoteSerializer(case_selectors.case_notes(case=case), many=True).data)

    @extend_schema(request=BulkAssignSerializer, responses=CaseSerializer(many=True))
    @action(detail=False, methods=["post"], url_path="bulk-assign")
    def bulk_assign(self, request: Request) -> ApiResponse:
        """Assign many cases to one member (or to nobody, with `"assignee": null`)."""
        payload = BulkAssignSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        visible = set(
            case_selectors.cases_visible(tenant=tenant_of(request), user=request.user)
            .filter(pk__in=payload.validated_data["case_ids"])
            .values_list("pk", flat=True)
        )
        missing = sorted(set(payload.validated_data["case_ids"]) - visible)
        if missing:
            raise serializers.ValidationError({"case_ids": [f"Unknown cases: {missing}"]})
        changed = cases.cases_bulk_assign(
            organization=organization_of(request),
            case_ids=payload.validated_data["case_ids"],
            assignee=payload.validated_data["assignee"],
            actor=request.user,
        )
        return ApiResponse(CaseSerializer(changed, many=True).data)


class CaseSettingsView(APIView):
    """SLA hours per priority (business hours), the working calendar and the list of root causes.
    Changing them needs `manage_organization`."""

    read_permission = "view"
    write_permission = "manage_organization"

    @extend_schema(responses=CaseSettingsSerializer)
    def get(self, request: Request) -> ApiResponse:
        return ApiResponse(CaseSettingsSerializer(case_settings(organization=organization_of(request))).data)

    @extend_schema(request=CaseSettingsSerializer, responses=CaseSettingsSerializer)
    def patch(self, request: Request) -> ApiResponse:
        if not isinstance(request.data, dict):
            raise serializers.ValidationError("Send an object of settings.")
        found = cases.case_settings_update(organization=organization_of(request), data=dict(request.data))
        return ApiResponse(CaseSettingsSerializer(found).data)
