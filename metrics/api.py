"""Metrics API for integrators: the dashboards' numbers under the same filters, and the CLV model."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cxm.api.filters import SelectorFilterSet
from cxm.api.mixins import OrganizationScopedMixin
from cxm.core.money import organization_currency
from cxm.core.routers import read_alias
from cxm.tenancy.tenant import organization_of

from . import dashboard_selectors, selectors, services
from .dashboard_selectors import DIMENSIONS
from .dashboards import json_safe
from .filters import EARLIEST_DATE, FilterError, MetricFilters
from .models import CustomerValue

FILTER_PARAMETERS = [
    OpenApiParameter(
        "start",
        OpenApiTypes.DATE,
        description="First local day (default: 365 days before end); 1970-01-01 to 2100-12-31, at most 10 years before end",
    ),
    OpenApiParameter(
        "end",
        OpenApiTypes.DATE,
        description="Last local day, included (default: today); 1970-01-01 to 2100-12-31",
    ),
    OpenApiParameter("bucket", OpenApiTypes.STR, enum=["day", "week", "month"]),
    OpenApiParameter("survey", OpenApiTypes.INT),
    OpenApiParameter("touchpoint", OpenApiTypes.INT),
    OpenApiParameter("stage", OpenApiTypes.INT),
    OpenApiParameter("channel", OpenApiTypes.STR),
    OpenApiParameter("locale", OpenApiTypes.STR),
    OpenApiParameter(
        "segment", OpenApiTypes.STR, description="rfm_segment:NAME, value_tier:NAME or lifecycle_stage:NAME"
    ),
]


class MetricsView(APIView):
    """Base: parses the shared filters; a bad value is a 400 in the API's error shape."""

    def filters(self, request: Request) -> MetricFilters:
        try:
            return MetricFilters.from_params(request.query_params)
        except FilterError as error:
            raise ValidationError({name: [message] for name, message in error.errors.items()})

    def window(self, request: Request, filters: MetricFilters) -> dict[str, Any]:
        resolved = filters.resolved(organization_of(request))
        return {"start": resolved.start, "end": resolved.end, "time_zone": organization_of(request).time_zone}


def _score_view(family: str, doc: str) -> type[MetricsView]:
    class ScoreView(MetricsView):
        @extend_schema(
            parameters=FILTER_PARAMETERS,
            responses=OpenApiTypes.OBJECT,
            description=doc,
            operation_id=f"metrics_{family}",
        )
        def get(self, request: Request) -> Response:
            filters = self.filters(request)
            summary = selectors.metric_summary(organization=organization_of(request), filters=filters)
            return Response(
                json_safe(
                    {
                        "window": summary["window"],
                        family: summary["current"][family],
                        "previous": summary["previous"][family],
                        "change": summary["comparison"][family],
                    }
                )
            )

    ScoreView.__name__ = f"{family.capitalize()}View"
    ScoreView.__doc__ = doc
    return ScoreView


NpsView = _score_view(
    "nps",
    "NPS with counts and shares, the adjusted-Wald 95% interval, and the z-test against the previous window.",
)
CsatView = _score_view(
    "csat",
    "CSAT (% top two boxes, mean) with its Wilson interval and the two-proportion z-test against the previous window.",
)
CesView = _score_view(
    "ces", "CES mean and % agreeing with its Wilson interval and Welch's t-test against the previous window."
)


class TrendView(MetricsView):
    @extend_schema(
        parameters=[*FILTER_PARAMETERS, OpenApiParameter("by", OpenApiTypes.STR, enum=sorted(DIMENSIONS))],
        responses=OpenApiTypes.OBJECT,
        operation_id="metrics_trend",
        description="Scores per day, week or month in the organization's time zone; with ?by=, per dimension instead.",
    )
    def get(self, request: Request) -> Response:
        filters = self.filters(request)
        organization = organization_of(request)
        by = request.query_params.get("by", "")
        if by:
            if by not in DIMENSIONS:
                raise ValidationError({"by": [f"Choose one of {', '.join(sorted(DIMENSIONS))}."]})
            rows = dashboard_selectors.score_breakdown_rows(
                organization=organization, filters=filters, dimension=by
            )
            return Response(json_safe({"window": self.window(request, filters), "by": by, "results": rows}))
        rows = dashboard_selectors.score_trend_rows(organization=organization, filters=filters)
        return Response(
            json_safe({"window": self.window(request, filters), "bucket": filters.bucket, "results": rows})
        )


class RetentionView(MetricsView):
    @extend_schema(
        parameters=FILTER_PARAMETERS, responses=OpenApiTypes.OBJECT, operation_id="metrics_retention"
    )
    def get(self, request: Request) -> Response:
        """Cohort table, retention (|S ∩ E| / S) and churn (|S \\ E| / S) by month and over the window
        with new and reactivated customers as counts beside them, repeat purchase rate."""
        filters = self.filters(request)
        payload = dashboard_selectors.retention_report(organization=organization_of(request), filters=filters)
        return Response(json_safe(payload))


class SegmentsView(MetricsView):
    @extend_schema(
        parameters=FILTER_PARAMETERS, responses=OpenApiTypes.OBJECT, operation_id="metrics_segments"
    )
    def get(self, request: Request) -> Response:
        """Customers per RFM segment, value tier and lifecycle stage (last recompute), and NPS per segment."""
        filters = self.filters(request)
        organization = organization_of(request)
        counts = dashboard_selectors.segment_counts(organization=organization)
        status = selectors.recompute_status(organization=organization)
        nps = dashboard_selectors.score_breakdown_rows(
            organization=organization, filters=filters, dimension="rfm_segment"
        )
        return Response(
            json_safe(
                {
                    "window": self.window(request, filters),
                    "computed_at": status["finished_at"],
                    "customers": counts,
                    "scores_by_rfm_segment": nps,
                }
            )
        )


class DriversView(MetricsView):
    @extend_schema(
        parameters=FILTER_PARAMETERS, responses=OpenApiTypes.OBJECT, operation_id="metrics_drivers"
    )
    def get(self, request: Request) -> Response:
        """Key drivers of NPS: one analysis per survey on complete cases (answers rescaled to 0–100) and
        one of touchpoint scores from other surveys per customer (`analyses`), each with its R² and
        per driver the relative weight (they sum to R²), correlation, performance (0–100) and n; below
        10 complete cases per driver, correlations only and `more_answers_needed`."""
        filters = self.filters(request)
        organization = organization_of(request)
        result = dashboard_selectors.drivers_report(organization=organization, filters=filters)
        return Response(json_safe({"window": self.window(request, filters), **result}))


class MonetizedNpsView(MetricsView):
    @extend_schema(
        parameters=FILTER_PARAMETERS, responses=OpenApiTypes.OBJECT, operation_id="metrics_monetized_nps"
    )
    def get(self, request: Request) -> Response:
        """Revenue (organization's currency) and repeat purchases per NPS category over the N days after
        each customer's latest matured answer, with `included` and still `maturing` answers and
        `transactions_left_out` (no exchange rate); revenue at risk (with its own
        `transactions_left_out`); uplift."""
        filters = self.filters(request)
        organization = organization_of(request)
        money = dashboard_selectors.monetized_nps_report(organization=organization, filters=filters)
        # (`included` answers have had their N days; `maturing` ones have not; `transactions_left_out`
        # had no exchange rate into the organization's currency.)
        # Revenue at risk needs every customer's latest answer and trailing revenue: the value
        # dashboard's last recompute holds it (None before the first one).
        snapshot = selectors.dashboard_snapshot(
            organization=organization, dashboard="value", filters_key="default"
        )
        return Response(
            json_safe(
                {
                    "window": self.window(request, filters),
                    "currency": organization_currency(organization),
                    **money,
                    "revenue_at_risk": snapshot.payload.get("revenue_at_risk") if snapshot else None,
                    "revenue_at_risk_computed_at": snapshot.computed_at if snapshot else None,
                }
            )
        )


class ClvFitSerializer(serializers.Serializer):
    calibration_end = serializers.DateField(required=False, help_text="Last local day of the calibration.")
    as_of = serializers.DateField(
        required=False,
        help_text="Fit on data up to this local day only and score every customer as of it "
        "(instead of calibration_end).",
    )
    period = serializers.ChoiceField(choices=["day", "week", "month"], default="week")
    annual_discount_rate = serializers.FloatField(min_value=0, max_value=1, default=0.1)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        from django.utils import timezone

        given = [name for name in ("calibration_end", "as_of") if attrs.get(name) is not None]
        if len(given) != 1:
            raise serializers.ValidationError({"calibration_end": ["Give either calibration_end or as_of."]})
        if attrs[given[0]] > timezone.localdate():
            raise serializers.ValidationError({given[0]: ["The date cannot be in the future."]})
        if attrs[given[0]] < EARLIEST_DATE:
            message = _("Enter a date between %(earliest)s and %(latest)s.") % {
                "earliest": EARLIEST_DATE.isoformat(),
                "latest": timezone.localdate().isoformat(),
            }
            raise serializers.ValidationError({given[0]: [message]})
        return attrs


class ClvFitView(APIView):
    write_permission = "edit"

    @extend_schema(
        request=ClvFitSerializer, responses={201: OpenApiTypes.OBJECT}, operation_id="metrics_clv_fit"
    )
    def post(self, request: Request) -> Response:
        """Fit BG/NBD and Gamma-Gamma on purchases up to the calibration end; returns the model. With
        `as_of` instead: fit on data up to that past local day only and also return the scoring of
        every customer as of it (`scores`: totals of expected transactions and predicted CLV)."""
        serializer = ClvFitSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        as_of = data.pop("as_of", None)
        field = "as_of" if as_of else "calibration_end"
        organization = organization_of(request)
        try:
            model = services.clv_fit(
                organization=organization,
                calibration_end=as_of or data.pop("calibration_end"),
                period=data["period"],
                annual_discount_rate=data["annual_discount_rate"],
            )
        except ValueError as error:
            raise ValidationError({field: [str(error)]})
        payload = services.clv_model_payload(model) or {}
        if as_of:
            scores = services.clv_score(organization=organization, model=model, as_of=as_of)
            payload["scores"] = services.clv_scores_payload(scores=scores, as_of=as_of)
        return Response(payload, status=201)


class ClvModelView(APIView):
    @extend_schema(
        responses={
            200: OpenApiTypes.OBJECT,
            404: OpenApiResponse(description="No CLV model has been fitted yet."),
        },
        operation_id="metrics_clv_model",
    )
    def get(self, request: Request) -> Response:
        """The latest fitted model: r, alpha, a, b; p, q, gamma; the log-likelihoods; the data summary."""
        payload = dashboard_selectors.clv_model_summary(organization=organization_of(request))
        if payload is None:
            raise NotFound("No CLV model has been fitted yet.")
        return Response(payload)


# --- Per-customer values and recompute -------------------------------------------------------------


class CustomerValueSerializer(serializers.ModelSerializer):
    """One customer's values from the last recompute; money in the organization's currency."""

    customer = serializers.CharField(source="customer.external_id", read_only=True, help_text="External id.")
    currency = serializers.SerializerMethodField(help_text="ISO 4217 code of every amount in this row.")
    historical_clv = serializers.DecimalField(
        source="historical_value",
        max_digits=16,
        decimal_places=2,
        read_only=True,
        help_text="Sum of the customer's transactions to date, net of refunds.",
    )
    predicted_clv = serializers.FloatField(
        read_only=True, allow_null=True, help_text="Expected value over the next year (BG/NBD + Gamma-Gamma)."
    )
    p_alive = serializers.FloatField(read_only=True, allow_null=True, min_value=0, max_value=1)
    expected_transactions = serializers.FloatField(read_only=True, allow_null=True)
    transactions_left_out = serializers.IntegerField(
        read_only=True,
        help_text="The customer's transactions without an exchange rate, left out of every amount.",
    )

    class Meta:
        model = CustomerValue
        fields = [
            "customer",
            "currency",
            "historical_clv",
            "predicted_clv",
            "transactions_left_out",
            "p_alive",
            "expected_transactions",
            "purchase_count",
            "first_purchase_at",
            "last_purchase_at",
            "recency_days",
            "value_tier",
            "r_score",
            "f_score",
            "m_score",
            "rfm_segment",
            "lifecycle_stage",
            "latest_nps_score",
            "latest_nps_at",
            "computed_at",
        ]
        read_only_fields = fields

    def get_currency(self, row: CustomerValue) -> str:
        return str(self.context["currency"])


class CustomerValueFilter(SelectorFilterSet):
    selector = staticmethod(selectors.customer_value_list)
    # The field names type the parameters in the schema; the selector does the filtering.
    customer = django_filters.CharFilter(field_name="customer__external_id", help_text="External id.")
    segment = django_filters.CharFilter(field_name="rfm_segment", help_text="RFM segment, e.g. champions.")
    tier = django_filters.CharFilter(field_name="value_tier", help_text="Value tier, e.g. top.")
    lifecycle = django_filters.CharFilter(field_name="lifecycle_stage", help_text="Lifecycle stage.")
    min_clv = django_filters.NumberFilter(field_name="historical_value", lookup_expr="gte")
    max_clv = django_filters.NumberFilter(field_name="historical_value", lookup_expr="lte")
    min_predicted_clv = django_filters.NumberFilter(field_name="predicted_clv", lookup_expr="gte")
    max_predicted_clv = django_filters.NumberFilter(field_name="predicted_clv", lookup_expr="lte")

    class Meta:
        model = CustomerValue
        fields = [
            "customer",
            "segment",
            "tier",
            "lifecycle",
            "min_clv",
            "max_clv",
            "min_predicted_clv",
            "max_predicted_clv",
        ]


class CustomerValueListView(OrganizationScopedMixin, generics.ListAPIView):
    """Per-customer values of the last recompute (historical and predicted CLV, P(alive), expected
    transactions, value tier, RFM scores and segment, lifecycle stage, latest NPS), a cursor page at a
    time; filters: customer, segment, tier, lifecycle, min_clv/max_clv (historical),
    min_predicted_clv/max_predicted_clv."""

    queryset = CustomerValue.objects.select_related("customer")
    serializer_class = CustomerValueSerializer
    filterset_class = CustomerValueFilter

    def get_queryset(self) -> QuerySet[CustomerValue]:
        return super().get_queryset().using(read_alias())

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        context["currency"] = organization_currency(organization_of(self.request))
        return context


class RecomputeStateSerializer(serializers.Serializer):
    stale = serializers.BooleanField(help_text="New data arrived since the last recompute.")
    queued = serializers.BooleanField(help_text="A recompute was asked for and has not started.")
    running = serializers.BooleanField()
    requested_at = serializers.DateTimeField(allow_null=True)
    last_computed_at = serializers.DateTimeField(allow_null=True, source="finished_at")
    last_error = serializers.CharField(allow_blank=True)


class RecomputeView(APIView):
    """The dashboards' recompute: its state, and asking for one now (as the "Recompute now" button)."""

    @extend_schema(responses=RecomputeStateSerializer, operation_id="metrics_recompute_state")
    def get(self, request: Request) -> Response:
        """Whether the dashboards are stale, a recompute is queued or running, and when they were last computed."""
        state = selectors.recompute_status(organization=organization_of(request))
        return Response(RecomputeStateSerializer(state).data)

    @extend_schema(
        request=None, responses={202: RecomputeStateSerializer}, operation_id="metrics_recompute_request"
    )
    def post(self, request: Request) -> Response:
        """Queue a recompute now, skipping the debounce (needs a key that may write); answers 202."""
        organization = organization_of(request)
        services.recompute_request(organization_id=organization.pk, force=True)
        state = selectors.recompute_status(organization=organization)
        return Response(RecomputeStateSerializer(state).data, status=202)
