"""API of feedback and text analytics: feedback ingest and list, themes, trends, emerging terms, search,
the taxonomy and dictionary, corrections, and the model's state with the organization's own accuracy.

The text reads take the dashboard filters (`metrics.filters.MetricFilters`: start, end, survey,
touchpoint, stage, channel, locale, segment: the respondent customer's RFM segment, value tier or
lifecycle stage, as on the dashboards) plus their own (source, feedback_channel, theme, sentiment,
language, score_band)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cxm.api.filters import DateTimeFilter, SelectorFilterSet
from cxm.api.mixins import OrganizationScopedMixin
from cxm.tenancy.tenant import organization_of
from journeys.api import read_records
from journeys.serializers import IngestResultSerializer
from metrics import selectors as metrics_selectors
from metrics.dashboards import json_safe
from metrics.filters import FilterError, MetricFilters

from . import selectors, services
from .ingest import feedback_bulk_ingest
from .models import Correction, FeedbackChannel, FeedbackRecord, SentimentLabel, TextAnalysis
from .selectors import TextFilters
from .serializers import (
    CommentSerializer,
    CorrectionInSerializer,
    CorrectionSerializer,
    FeedbackRecordInSerializer,
    FeedbackRecordSerializer,
)

SCORE_BANDS = ("detractor", "passive", "promoter")
TEXT_PARAMETERS = [
    OpenApiParameter(
        "start", OpenApiTypes.DATE, description="First local day (default: 365 days before end)"
    ),
    OpenApiParameter("end", OpenApiTypes.DATE, description="Last local day, included (default: today)"),
    OpenApiParameter("bucket", OpenApiTypes.STR, enum=["day", "week", "month"]),
    OpenApiParameter("survey", OpenApiTypes.INT),
    OpenApiParameter("touchpoint", OpenApiTypes.INT),
    OpenApiParameter("stage", OpenApiTypes.INT),
    OpenApiParameter(
        "channel", OpenApiTypes.STR, description="The touchpoint's channel, as on the dashboards"
    ),
    OpenApiParameter("locale", OpenApiTypes.STR),
    OpenApiParameter(
        "segment",
        OpenApiTypes.STR,
        description="The customer's segment: rfm_segment:NAME, value_tier:NAME or lifecycle_stage:NAME",
    ),
    OpenApiParameter("source", OpenApiTypes.STR, description="survey, or a feedback record's source"),
    OpenApiParameter("feedback_channel", OpenApiTypes.STR, description="The comment's own channel"),
    OpenApiParameter("theme", OpenApiTypes.STR),
    OpenApiParameter("sentiment", OpenApiTypes.STR, enum=list(SentimentLabel.values)),
    OpenApiParameter("language", OpenApiTypes.STR, enum=["zh", "en", "other"]),
    OpenApiParameter("score_band", OpenApiTypes.STR, enum=list(SCORE_BANDS)),
]


def text_filters(request: Request) -> tuple[TextFilters, MetricFilters]:
    """The dashboard filters and the text ones, parsed from the query string; a bad value is a 400."""
    params = request.query_params
    try:
        metric = MetricFilters.from_params(params)
    except FilterError as error:
        raise exceptions.ValidationError(
            {name: [message] for name, message in error.errors.items()}
        ) from None
    errors: dict[str, list[str]] = {}
    sentiment = (params.get("sentiment") or "").strip()
    if sentiment and sentiment not in SentimentLabel.values:
        errors["sentiment"] = ["Choose negative, neutral or positive."]
    language = (params.get("language") or "").strip()
    if language and language not in ("zh", "en", "other"):
        errors["language"] = ["Choose zh, en or other."]
    score_band = (params.get("score_band") or "").strip()
    if score_band and score_band not in SCORE_BANDS:
        errors["score_band"] = ["Choose detractor, passive or promoter."]
    if errors:
        raise exceptions.ValidationError(errors)
    organization = organization_of(request)
    resolved = metric.resolved(organization)
    touchpoints: tuple[int, ...] | None = None
    if metric.touchpoint:
        touchpoints = (metric.touchpoint,)
    if metric.stage:
        in_stage = selectors.stage_touchpoint_ids(organization=organization, stage_id=metric.stage)
        touchpoints = tuple(t for t in touchpoints if t in in_stage) if touchpoints else in_stage
    return (
        TextFilters(
            start=resolved.start,
            end=resolved.end,
            touchpoints=touchpoints,
            channel=metric.channel,
            feedback_channel=(params.get("feedback_channel") or "").strip()[:16],
            source=(params.get("source") or "").strip()[:100],
            survey=metric.survey,
            locale=metric.locale,
            theme=(params.get("theme") or "").strip()[:64],
            sentiment=sentiment,
            language=language,
            score_band=score_band,
            customers=(
                metrics_selectors.segment_customer_ids(organization=organization, segment=metric.segment)
                if metric.segment
                else None
            ),
        ),
        resolved,
    )


def _window(filters: TextFilters, organization: Any) -> dict[str, Any]:
    return {"start": filters.start, "end": filters.end, "time_zone": organization.time_zone}


# --- Feedback records -------------------------------------------------------------------------------


class FeedbackBulkView(APIView):
    @extend_schema(
        request=FeedbackRecordInSerializer(many=True),
        responses=IngestResultSerializer,
        description=(
            "Up to 10,000 feedback records per request, as a JSON array. Valid records are stored even when "
            "others are rejected; each rejected record is reported with its index and reason. Idempotent by "
            "id. Customers are named by your external id. Feedback never changes NPS, CSAT or CES."
        ),
    )
    def post(self, request: Request) -> Response:
        records = read_records(request)
        result = feedback_bulk_ingest(organization=organization_of(request), records=records)
        return Response(result.as_dict())


class FeedbackFilter(SelectorFilterSet):
    selector = staticmethod(selectors.feedback_list)
    source = django_filters.CharFilter(max_length=100)
    channel = django_filters.ChoiceFilter(choices=FeedbackChannel.choices)
    touchpoint = django_filters.CharFilter(max_length=100, help_text="A touchpoint key")
    customer = django_filters.CharFilter(max_length=255, help_text="A customer's external id")
    start = DateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    end = DateTimeFilter(field_name="occurred_at", lookup_expr="lt")

    class Meta:
        model = FeedbackRecord
        fields = ["source", "channel", "touchpoint", "customer", "start", "end"]


class FeedbackListView(OrganizationScopedMixin, generics.ListAPIView):
    """Feedback records, newest first, each with its analysed language, sentiment and themes."""

    queryset = FeedbackRecord.objects.all()
    serializer_class = FeedbackRecordSerializer
    filterset_class = FeedbackFilter


# --- Text reads ---------------------------------------------------------------------------------------


class TextView(APIView):
    pass


class ThemesView(TextView):
    @extend_schema(
        parameters=TEXT_PARAMETERS,
        responses=OpenApiTypes.OBJECT,
        description=(
            "Per theme: mentions (comments), responses mentioning it and their share of the responses with a "
            "comment, average sentiment, NPS of those who mention it against the others, and its impact (NPS "
            "points gained if its negative mentions were neutral)."
        ),
    )
    def get(self, request: Request) -> Response:
        filters, _metric = text_filters(request)
        organization = organization_of(request)
        table = selectors.themes_table(organization=organization, filters=filters)
        return Response(json_safe({"window": _window(filters, organization), **table}))


class TrendView(TextView):
    @extend_schema(
        parameters=TEXT_PARAMETERS,
        responses=OpenApiTypes.OBJECT,
        description="Sentiment per bucket, and mentions per theme per bucket.",
    )
    def get(self, request: Request) -> Response:
        filters, metric = text_filters(request)
        organization = organization_of(request)
        return Response(
            json_safe(
                {
                    "window": _window(filters, organization),
                    "bucket": metric.bucket,
                    "sentiment": selectors.sentiment_trend(
                        organization=organization, filters=filters, bucket=metric.bucket
                    ),
                    "themes": selectors.theme_trend(
                        organization=organization, filters=filters, bucket=metric.bucket
                    ),
                }
            )
        )


class EmergingView(TextView):
    @extend_schema(
        parameters=[
            *TEXT_PARAMETERS,
            OpenApiParameter("min_count", OpenApiTypes.INT, description="Fewest comments with the term (5)"),
        ],
        responses=OpenApiTypes.OBJECT,
        description=(
            "Terms whose share of comments rose in the window against the same-length window before it "
            "(one-sided two-proportion z-test, p < 0.05)."
        ),
    )
    def get(self, request: Request) -> Response:
        filters, _metric = text_filters(request)
        raw = (request.query_params.get("min_count") or "5").strip()
        if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= 100_000:
            raise exceptions.ValidationError({"min_count": ["Enter a whole number from 1 to 100000."]})
        result = selectors.emerging(
            organization=organization_of(request), filters=filters, min_count=int(raw)
        )
        return Response(json_safe(result))


class EmergingPromoteView(TextView):
    """Add an emerging term to the taxonomy: as a phrase of an existing theme, or as a new theme."""

    @extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request) -> Response:
        data = request.data if isinstance(request.data, dict) else {}
        try:
            text_settings = services.taxonomy_term_promote(
                organization=organization_of(request),
                term=data.get("term"),
                theme=data.get("theme"),
                name_en=data.get("name_en"),
                name_zh=data.get("name_zh"),
            )
        except DjangoValidationError as exc:
            raise exceptions.ValidationError(exc.message_dict) from None
        return Response({"taxonomy": text_settings.taxonomy, "version": text_settings.taxonomy_version})


class SearchView(OrganizationScopedMixin, generics.ListAPIView):
    """Full-text search over every comment (Chinese segmented), with the text filters; newest first."""

    queryset = TextAnalysis.objects.all()
    serializer_class = CommentSerializer
    filter_backends: list[Any] = []

    @extend_schema(
        parameters=[
            OpenApiParameter("q", OpenApiTypes.STR, required=False, description="Words to find"),
            *TEXT_PARAMETERS,
        ]
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> Any:
        filters, _metric = text_filters(self.request)
        query = (self.request.query_params.get("q") or "").strip()
        if len(query) > 200:
            raise exceptions.ValidationError({"q": ["At most 200 characters."]})
        organization = organization_of(self.request)
        if not query:
            return selectors.comment_list(organization=organization, filters=filters)
        return selectors.comment_search(organization=organization, query=query, filters=filters)


# --- Taxonomy and dictionary -------------------------------------------------------------------------


def _taxonomy_payload(text_settings: Any) -> dict[str, Any]:
    return {
        "version": text_settings.taxonomy_version,
        "themes": text_settings.taxonomy.get("themes", []),
        "status": selectors.text_status(organization=text_settings.organization),
    }


class TaxonomyView(TextView):
    """The organization's taxonomy (themes → sub-themes, with English and Chinese phrases and exclusions).
    PUT replaces it; a change re-analyses every comment in the background while the current results stay
    served until the new ones are complete."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        return Response(
            json_safe(_taxonomy_payload(services.text_settings_get(organization=organization_of(request))))
        )

    @extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT)
    def put(self, request: Request) -> Response:
        try:
            text_settings = services.taxonomy_update(organization=organization_of(request), data=request.data)
        except DjangoValidationError as exc:
            raise exceptions.ValidationError(exc.message_dict) from None
        return Response(json_safe(_taxonomy_payload(text_settings)))


class TaxonomyThemesView(TextView):
    @extend_schema(request=OpenApiTypes.OBJECT, responses={201: OpenApiTypes.OBJECT})
    def post(self, request: Request) -> Response:
        """Add a theme ({"key", "name_en", "name_zh", "phrases_en", "phrases_zh", "exclusions", "subthemes"})."""
        try:
            theme = services.taxonomy_theme_put(
                organization=organization_of(request), key=None, data=request.data
            )
        except DjangoValidationError as exc:
            raise exceptions.ValidationError(exc.message_dict) from None
        return Response(theme, status=status.HTTP_201_CREATED)


class TaxonomyThemeView(TextView):
    def _theme(self, request: Request, key: str) -> dict[str, Any]:
        theme = services.taxonomy_theme_get(organization=organization_of(request), key=key)
        if theme is None:
            raise Http404
        return theme

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, key: str) -> Response:
        return Response(self._theme(request, key))

    @extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT)
    def put(self, request: Request, key: str) -> Response:
        self._theme(request, key)
        try:
            theme = services.taxonomy_theme_put(
                organization=organization_of(request), key=key, data=request.data
            )
        except DjangoValidationError as exc:
            raise exceptions.ValidationError(exc.message_dict) from None
        return Response(theme)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, key: str) -> Response:
        self._theme(request, key)
        services.taxonomy_theme_delete(organization=organization_of(request), key=key)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DictionaryView(TextView):
    """The organization's own words (product and brand names) that Chinese segmentation keeps whole."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        return Response(
            {"words": services.text_settings_get(organization=organization_of(request)).dictionary}
        )

    @extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT)
    def put(self, request: Request) -> Response:
        words = request.data.get("words") if isinstance(request.data, dict) else None
        try:
            text_settings = services.dictionary_update(organization=organization_of(request), words=words)
        except DjangoValidationError as exc:
            raise exceptions.ValidationError(exc.message_dict) from None
        return Response({"words": text_settings.dictionary})


# --- Corrections and the model ------------------------------------------------------------------------


class CorrectionListView(OrganizationScopedMixin, generics.ListCreateAPIView):
    """Managers' corrections of comments (newest first). POST corrects one comment's sentiment and/or
    themes: the comment's served results change at once, and the organization's adaptation is fitted
    again on its corrections, which re-analyses its comments in the background."""

    queryset = Correction.objects.select_related("record", "created_by")
    serializer_class = CorrectionSerializer
    filter_backends: list[Any] = []

    @extend_schema(
        request=CorrectionInSerializer,
        responses={
            201: CorrectionSerializer,
            404: OpenApiResponse(description="No analysed comment with this id in this organization."),
        },
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = CorrectionInSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        organization = organization_of(request)
        analysis = selectors.comment_analysis(
            organization=organization,
            answer_id=body.validated_data.get("answer"),
            record_external_id=body.validated_data.get("feedback"),
        )
        if analysis is None:
            raise exceptions.NotFound("No analysed comment with this id.")
        try:
            correction = services.correction_create(
                organization=organization,
                analysis=analysis,
                sentiment=body.validated_data.get("sentiment", ""),
                themes=body.validated_data.get("themes"),
                actor=request.user,
            )
        except DjangoValidationError as exc:
            raise exceptions.ValidationError(exc.message_dict) from None
        return Response(CorrectionSerializer(correction).data, status=status.HTTP_201_CREATED)


class CommentView(TextView):
    """One analysed comment by its kind (answer or feedback) and id, with its corrections."""

    @extend_schema(responses=CommentSerializer)
    def get(self, request: Request, kind: str, ref: str) -> Response:
        organization = organization_of(request)
        if kind == "answer":
            if not (ref.isascii() and ref.isdigit()) or len(ref) > 18:
                raise Http404
            analysis = selectors.comment_analysis(organization=organization, answer_id=int(ref))
        else:
            analysis = selectors.comment_analysis(organization=organization, record_external_id=ref)
        if analysis is None:
            raise Http404
        return Response(CommentSerializer(analysis).data)


class ModelView(TextView):
    """Which version of the results is served, the progress of a re-analysis, and the organization's own
    accuracy: agreement of the model's sentiment with its managers' corrections (with n)."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        organization = organization_of(request)
        return Response(
            json_safe(
                {
                    "status": selectors.text_status(organization=organization),
                    "own_accuracy": asdict(selectors.own_accuracy(organization=organization)),
                }
            )
        )
