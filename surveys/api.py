"""The surveys API: public collection (widget, link page), integrator collection, management."""

from __future__ import annotations

from typing import Any

import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpResponse
from django.utils import translation
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response as ApiResponse
from rest_framework.views import APIView

from cxm.api.exceptions import PayloadTooLarge
from cxm.api.filters import DateTimeFilter, IdFilter, SelectorFilterSet
from cxm.api.mixins import OrganizationScopedMixin
from cxm.api.permissions import PublicEndpoint
from cxm.api.throttling import PublicRateThrottle
from cxm.tenancy.identity import customer_signature_valid
from cxm.tenancy.models import Organization
from cxm.tenancy.tenant import organization_of
from journeys.models import Customer

from . import selectors, services
from .collection import http as collection_http
from .collection.http import MAX_BODY, OriginNotAllowed, cors_headers, origin_allowed
from .collection.views import fast_public_submit, integrator_submit, request_body
from .content import localised, normalise_language, pick_language, scale_labels
from .models import Invitation, Question, Response, ResponseChannel, Survey
from .serializers import (
    IntegratorSubmissionSerializer,
    InvitationCreateResultSerializer,
    InvitationCreateSerializer,
    InvitationSerializer,
    PublicSurveySerializer,
    QuestionReorderSerializer,
    QuestionSerializer,
    ResponseSerializer,
    SubmissionSerializer,
    SubmitResultSerializer,
    SurveySerializer,
)


def _validation_error(exc: DjangoValidationError) -> exceptions.ValidationError:
    return exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)


class PublicSurveyMixin(APIView):
    """CORS for a public survey route: only the survey's allowed origins (and this site) may call."""

    authentication_classes = []
    permission_classes = [PublicEndpoint]
    throttle_classes = [PublicRateThrottle]
    snapshot: selectors.SurveySnapshot | None = None

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        public_id = kwargs.get("public_id", "")
        refused = collection_http.id_refused(public_id)
        if refused is not None:
            assert refused.body is not None
            error = refused.body["error"]
            raise (exceptions.NotFound if refused.status == 404 else exceptions.ParseError)(error["message"])
        super().initial(request, *args, **kwargs)  # the throttle before any lookup
        self.snapshot = selectors.survey_snapshot(public_id=public_id)

    def _origin(self, request: Any) -> str:
        return request.headers.get("Origin", "")

    def _allowed(self, request: Any) -> bool:
        origin = self._origin(request)
        if self.snapshot is not None:
            return origin_allowed(origin=origin, snapshot=self.snapshot, request=request)
        public_id = str(self.kwargs.get("public_id", "")) if hasattr(self, "kwargs") else ""
        return collection_http.cached_origin_allowed(origin=origin, public_id=public_id, request=request)

    def check_origin(self, request: Request) -> None:
        if not origin_allowed(origin=self._origin(request), snapshot=self.snapshot, request=request):
            raise OriginNotAllowed()

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        for name, value in cors_headers(self._origin(request), self._allowed(request)).items():
            response[name] = value
        return response

    # A bare 204, not a rendered DRF Response (APIView.options is itself typed with this ignore).
    def options(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:  # type: ignore[override]
        """CORS preflight: 204 for an allowed origin, 403 otherwise."""
        self.check_origin(request)
        return HttpResponse(status=204)


class PublicSurveyView(PublicSurveyMixin, APIView):
    """The widget's first call: the survey in the visitor's language, and whether to show it now."""

    @extend_schema(
        parameters=[
            OpenApiParameter("lang", str, description="Language wanted (else Accept-Language)."),
            OpenApiParameter("customer", str, description="The customer's external id (counts only signed)."),
            OpenApiParameter(
                "signature",
                str,
                description="HMAC-SHA256 (hex) of the customer id with the organization's widget secret.",
            ),
        ],
        responses=PublicSurveySerializer,
    )
    def get(self, request: Request, public_id: str) -> ApiResponse:
        snapshot = self.snapshot
        if snapshot is None:
            raise exceptions.NotFound("No survey has this id.")
        self.check_origin(request)
        survey = (
            Survey.objects.unscoped()  # a public submission: the snapshot named the survey
            .select_related("organization")
            .prefetch_related("questions")
            .get(pk=snapshot.id)
        )
        language = pick_language(
            [request.query_params.get("lang", ""), translation.get_language_from_request(request._request)],
            list(survey.languages),
            survey.default_language,
        )
        days = selectors.survey_fatigue_days(survey=survey, organization=survey.organization)
        show, reason = True, "ok"
        if snapshot.status != "active":
            show, reason = False, "not_active"
        else:
            # Only a signed id is looked up: an unsigned id or an email gets the answer any
            # anonymous visitor gets, so this endpoint never tells who is a customer.
            customer = None
            external_id = request.query_params.get("customer", "").strip()[:255]
            if external_id and customer_signature_valid(
                secret=snapshot.widget_secret,
                external_id=external_id,
                signature=request.query_params.get("signature", ""),
            ):
                customer = (
                    Customer.objects.for_organization(survey.organization)
                    .filter(external_id=external_id)
                    .first()
                )
            if customer is not None:
                if customer.unsubscribed:
                    show, reason = False, "unsubscribed"
                elif selectors.customer_is_fatigued(
                    organization=survey.organization, customer=customer, days=days
                ):
                    show, reason = False, "fatigue"
        with translation.override(language):
            from django.utils.translation import gettext as _

            strings = {
                "submit": _("Send"),
                "close": _("Close"),
                "next": _("Next"),
                "comment": _("Tell us more (optional)"),
                "error": _("We could not send your answer; we will try again."),
            }
        return ApiResponse(
            {
                "id": survey.public_id,
                "show": show,
                "reason": reason,
                "language": language,
                "status": survey.status,
                "fatigue_days": days,
                "questions": [
                    public_question(q, language, survey.default_language) for q in survey.questions.all()
                ],
                "thank_you": localised(survey.thank_you, language, survey.default_language),
                "strings": strings,
            }
        )


def public_question(q: Question, language: str, default: str) -> dict[str, Any]:
    low, high = q.score_range() or (None, None)
    return {
        "id": q.id,
        "kind": q.kind,
        "text": localised(q.text, language, default),
        "required": q.required,
        "min": low,
        "max": high,
        "labels": list(scale_labels(q.kind, language)) if low is not None else [],
        "options": [
            {"value": o.get("value"), "label": localised(o.get("label"), language, default) or o.get("value")}
            for o in (q.options or [])
        ],
        "show_if": q.show_if or None,
    }


class PublicResponseView(PublicSurveyMixin, APIView):
    """Record answers from the widget or a link page. No credentials; CORS per survey; 2xx after commit.

    POST is served by `fast_public_submit`, a plain Django view with the same rules and error shape as
    the rest of the API: this endpoint takes the full load of every widget, so it skips DRF's request
    wrapping and serializer construction (measured in bench/surveys_submit.py).
    """

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        if request.method == "POST":
            return fast_public_submit(request, kwargs["public_id"])
        return super().dispatch(request, *args, **kwargs)

    @extend_schema(
        request=SubmissionSerializer, responses={200: SubmitResultSerializer, 201: SubmitResultSerializer}
    )
    def post(self, request: Request, public_id: str) -> Any:
        return fast_public_submit(request._request, public_id)


# --- Management API -----------------------------------------------------------------------------


class SurveyViewSet(OrganizationScopedMixin, viewsets.ModelViewSet):
    """Surveys with their questions; publish (activate), pause, close, duplicate."""

    queryset = Survey.objects.select_related("touchpoint").prefetch_related("questions")
    serializer_class = SurveySerializer

    def perform_create(self, serializer: Any) -> None:
        data = dict(serializer.validated_data)
        template = data.pop("template", None)
        organization: Organization = organization_of(self.request)
        if template:
            survey = services.survey_create_from_template(
                organization=organization,
                template=template,
                name=data.get("name", ""),
                touchpoint=data.get("touchpoint"),
            )
            if data.get("allowed_origins") or data.get("fatigue_days") is not None:
                services.survey_update(
                    survey=survey,
                    **{k: data[k] for k in ("allowed_origins", "fatigue_days") if k in data},
                )
        else:
            survey = services.survey_create(organization=organization, **data)
        serializer.instance = survey

    def perform_update(self, serializer: Any) -> None:
        data = dict(serializer.validated_data)
        data.pop("template", None)
        try:
            serializer.instance = services.survey_update(survey=serializer.instance, **data)
        except DjangoValidationError as exc:
            raise _validation_error(exc) from exc

    def _status(self, action_name: str) -> ApiResponse:
        survey = self.get_object()
        try:
            services.survey_set_status(survey=survey, action=action_name)
        except DjangoValidationError as exc:
            raise _validation_error(exc) from exc
        return ApiResponse(SurveySerializer(survey, context=self.get_serializer_context()).data)

    @extend_schema(request=None, responses=SurveySerializer)
    @action(detail=True, methods=["post"])
    def publish(self, request: Request, pk: str | None = None) -> ApiResponse:
        return self._status("activate")

    @extend_schema(request=None, responses=SurveySerializer)
    @action(detail=True, methods=["post"])
    def pause(self, request: Request, pk: str | None = None) -> ApiResponse:
        return self._status("pause")

    @extend_schema(request=None, responses=SurveySerializer)
    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk: str | None = None) -> ApiResponse:
        return self._status("close")

    @extend_schema(request=None, responses={201: SurveySerializer})
    @action(detail=True, methods=["post"])
    def duplicate(self, request: Request, pk: str | None = None) -> ApiResponse:
        copy = services.survey_duplicate(survey=self.get_object())
        return ApiResponse(SurveySerializer(copy, context=self.get_serializer_context()).data, status=201)

    @extend_schema(request=QuestionReorderSerializer, responses=SurveySerializer)
    @action(detail=True, methods=["post"])
    def reorder(self, request: Request, pk: str | None = None) -> ApiResponse:
        survey = self.get_object()
        body = QuestionReorderSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            services.questions_reorder(survey=survey, order=body.validated_data["order"])
        except DjangoValidationError as exc:
            raise _validation_error(exc) from exc
        survey = self.get_queryset().get(pk=survey.pk)
        return ApiResponse(SurveySerializer(survey, context=self.get_serializer_context()).data)


class QuestionFilter(django_filters.FilterSet):
    survey = IdFilter(field_name="survey_id")

    class Meta:
        model = Question
        fields = ["survey"]


class QuestionViewSet(OrganizationScopedMixin, viewsets.ModelViewSet):
    """Questions of the organization's surveys (`?survey=` narrows to one)."""

    queryset = Question.objects.select_related("survey")
    serializer_class = QuestionSerializer
    filterset_class = QuestionFilter

    def perform_create(self, serializer: Any) -> None:
        data = dict(serializer.validated_data)
        try:
            serializer.instance = services.question_create(**data)
        except DjangoValidationError as exc:
            raise _validation_error(exc) from exc

    def perform_update(self, serializer: Any) -> None:
        try:
            serializer.instance = services.question_update(
                question=serializer.instance, **serializer.validated_data
            )
        except DjangoValidationError as exc:
            raise _validation_error(exc) from exc

    def perform_destroy(self, instance: Question) -> None:
        services.question_delete(question=instance)


class ResponseFilter(SelectorFilterSet):
    selector = staticmethod(selectors.response_list)
    renamed = {"touchpoint": "touchpoint_key"}
    start = DateTimeFilter(field_name="submitted_at", lookup_expr="gte")
    end = DateTimeFilter(field_name="submitted_at", lookup_expr="lt")
    survey = IdFilter(field_name="survey_id")
    touchpoint = django_filters.CharFilter(field_name="touchpoint__key")
    channel = django_filters.ChoiceFilter(choices=ResponseChannel.choices)
    score_band = django_filters.ChoiceFilter(choices=[(k, k) for k in selectors.SCORE_BANDS])
    has_comment = django_filters.BooleanFilter()
    language = django_filters.CharFilter(field_name="locale")

    class Meta:
        model = Response
        fields = ["start", "end", "survey", "touchpoint", "channel", "score_band", "has_comment", "language"]


class ResponseViewSet(
    OrganizationScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Responses (filters: start, end, survey, touchpoint, channel, score_band, has_comment, language);
    POST records one for integrators, with the same rules as the public endpoint."""

    queryset = Response.objects.select_related("survey", "touchpoint", "customer").prefetch_related("answers")
    serializer_class = ResponseSerializer
    filterset_class = ResponseFilter

    # Each response carries its comment's sentiment and themes: the text layer's selector, read once for
    # the page (or the one response) in the serializer's context.
    _text_ids: list[int] = []

    def paginate_queryset(self, queryset: Any) -> Any:
        page = super().paginate_queryset(queryset)
        self._text_ids = [row.pk for row in page or []]
        return page

    def get_object(self) -> Any:
        response = super().get_object()
        self._text_ids = [response.pk]
        return response

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        if self._text_ids:
            from feedback.selectors import response_text_results

            context["text_results"] = response_text_results(
                organization=organization_of(self.request), response_ids=self._text_ids
            )
        return context

    @extend_schema(
        request=IntegratorSubmissionSerializer,
        responses={200: SubmitResultSerializer, 201: SubmitResultSerializer},
    )
    def create(self, request: Request) -> ApiResponse:
        if request_body(request._request) is None:
            raise PayloadTooLarge(f"The request body is over {MAX_BODY // 1024} KB.")
        body = IntegratorSubmissionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        ref = body.validated_data["survey"]
        surveys = Survey.objects.for_organization(organization_of(request))
        survey = surveys.filter(public_id=ref).first() or (
            surveys.filter(pk=int(ref)).first() if ref.isdigit() else None
        )
        if survey is None:
            raise exceptions.ValidationError({"survey": ["Unknown survey."]})
        snapshot = selectors.survey_snapshot(public_id=survey.public_id)
        assert snapshot is not None
        return integrator_submit(
            snapshot=snapshot,
            data=body.validated_data,
            request=request,
            submitted_at=body.validated_data.get("submitted_at"),
        )


class InvitationViewSet(
    OrganizationScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Email invitations: create for customers (by external id), and follow their status."""

    queryset = Invitation.objects.select_related("customer")
    serializer_class = InvitationSerializer
    filterset_fields = ["survey", "status"]

    @extend_schema(request=InvitationCreateSerializer, responses={201: InvitationCreateResultSerializer})
    def create(self, request: Request) -> ApiResponse:
        body = InvitationCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        organization = organization_of(request)
        survey = (
            Survey.objects.for_organization(organization).filter(pk=body.validated_data["survey"]).first()
        )
        if survey is None:
            raise exceptions.ValidationError({"survey": ["Unknown survey."]})
        wanted = list(dict.fromkeys(body.validated_data["customers"]))
        customers = list(Customer.objects.for_organization(organization).filter(external_id__in=wanted))
        found = {c.external_id for c in customers}
        try:
            result = services.invitations_create(
                survey=survey, customers=customers, language=body.validated_data.get("language")
            )
        except DjangoValidationError as exc:
            raise _validation_error(exc) from exc
        for invitation in result.invitations:
            invitation.refresh_from_db()
        return ApiResponse(
            {
                "invitations": InvitationSerializer(result.invitations, many=True).data,
                "skipped": [c.external_id for c in result.skipped],
                "unknown": [x for x in wanted if x not in found],
            },
            status=201,
        )


__all__ = ["serializers", "normalise_language"]
