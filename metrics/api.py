"""Metrics API for integrators: the dashboards' numbers under the same filters, and the CLV model."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import Count
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from . import selectors, services
from .computations.aggregates import responses_for
from .computations.drivers import key_drivers
from .computations.money import monetized_nps
from .computations.trends import DIMENSIONS, score_breakdown, score_trend
from .dashboards import build_retention, json_safe
from .filters import EARLIEST_DATE, FilterError, MetricFilters
from .models import CustomerValue
from .routers import read_alias

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
        resolved = filters.resolved(request.organization)  # type: ignore[attr-defined]
        return {"start": resolved.start, "end": resolved.end, "time_zone": request.organization.time_zone}  # type: ignore[attr-defined]


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
            summary = selectors.metric_summary(organization=request.organization, filters=filters)  # type: ignore[attr-defined]
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
        organization = request.organization  # type: ignore[attr-defined]
        by = request.query_params.get("by", "")
        if by:
            if by not in DIMENSIONS:
                raise ValidationError({"by": [f"Choose one of {', '.join(sorted(DIMENSIONS))}."]})
            rows = score_breakdown(
                organization=organization, filters=filters, using=read_alias(), dimension=by
            )
            return Response(json_safe({"window": self.window(request, filters), "by": by, "results": rows}))
        rows = score_trend(organization=organization, filters=filters, using=read_alias())
        return Response(
            json_safe({"window": self.window(request, filters), "bucket": filters.bucket, "results": rows})
        )


class RetentionView(MetricsView):
    @extend_schema(
        parameters=FILTER_PARAMETERS, responses=OpenApiTypes.OBJECT, operation_id="metrics_retention"
    )
    def get(self, request: Request) -> Response:
        """Cohort table, retention and churn by month and over the window, repeat purchase rate."""
        filters = self.filters(request)
        from cxm.tenancy.selectors import organization_settings

        organization = request.organization  # type: ignore[attr-defined]
        payload = build_retention(
            organization=organization,
            filters=filters,
            using=read_alias(),
            context={"settings": organization_settings(organization=organization)},
        )
        return Response(json_safe(payload))


class SegmentsView(MetricsView):
    @extend_schema(
        parameters=FILTER_PARAMETERS, responses=OpenApiTypes.OBJECT, operation_id="metrics_segments"
    )
    def get(self, request: Request) -> Response:
        """Customers per RFM segment, value tier and lifecycle stage (last recompute), and NPS per segment."""
        filters = self.filters(request)
        organization = request.organization  # type: ignore[attr-defined]
        rows = CustomerValue.objects.using(read_alias()).filter(organization=organization)
        counts = {
            dimension: {
                row[dimension]: row["n"]
                for row in rows.values(dimension).annotate(n=Count("id")).order_by(dimension)
                if row[dimension]
            }
            for dimension in ("rfm_segment", "value_tier", "lifecycle_stage")
        }
        status = selectors.recompute_status(organization=organization)
        nps = score_breakdown(
            organization=organization, filters=filters, using=read_alias(), dimension="rfm_segment"
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
        """Key drivers of NPS: importance (relative weight), correlation, performance and n per driver."""
        filters = self.filters(request)
        organization = request.organization  # type: ignore[attr-defined]
        start, end = filters.window(organization)
        responses = responses_for(organization=organization, filters=filters, using=read_alias())
        result = key_drivers(
            organization=organization, responses=responses, using=read_alias(), start=start, end=end
        )
        return Response(json_safe({"window": self.window(request, filters), **result}))


class MonetizedNpsView(MetricsView):
    @extend_schema(
        parameters=FILTER_PARAMETERS, responses=OpenApiTypes.OBJECT, operation_id="metrics_monetized_nps"
    )
    def get(self, request: Request) -> Response:
        """Revenue and repeat purchases per NPS category after the response, revenue at risk, uplift."""
        from cxm.tenancy.selectors import organization_setting

        filters = self.filters(request)
        organization = request.organization  # type: ignore[attr-defined]
        days = int(organization_setting(organization=organization, name="monetized_nps_days"))
        responses = responses_for(organization=organization, filters=filters, using=read_alias())
        money = monetized_nps(organization=organization, responses=responses, using=read_alias(), days=days)
        # Revenue at risk needs every customer's latest answer and trailing revenue: the value
        # dashboard's last recompute holds it (None before the first one).
        snapshot = selectors.dashboard_snapshot(
            organization=organization, dashboard="value", filters_key="default"
        )
        return Response(
            json_safe(
                {
                    "window": self.window(request, filters),
                    **money,
                    "revenue_at_risk": snapshot.payload.get("revenue_at_risk") if snapshot else None,
                    "revenue_at_risk_computed_at": snapshot.computed_at if snapshot else None,
                }
            )
        )


class ClvFitSerializer(serializers.Serializer):
    calibration_end = serializers.DateField()
    period = serializers.ChoiceField(choices=["day", "week", "month"], default="week")
    annual_discount_rate = serializers.FloatField(min_value=0, max_value=1, default=0.1)

    def validate_calibration_end(self, value: date) -> date:
        from django.utils import timezone

        if value > timezone.localdate():
            raise serializers.ValidationError("The calibration end cannot be in the future.")
        if value < EARLIEST_DATE:
            raise serializers.ValidationError(
                _("Enter a date between %(earliest)s and %(latest)s.")
                % {"earliest": EARLIEST_DATE.isoformat(), "latest": timezone.localdate().isoformat()}
            )
        return value


class ClvFitView(APIView):
    write_permission = "edit"

    @extend_schema(
        request=ClvFitSerializer, responses={201: OpenApiTypes.OBJECT}, operation_id="metrics_clv_fit"
    )
    def post(self, request: Request) -> Response:
        """Fit BG/NBD and Gamma-Gamma on purchases up to the calibration end; returns the model."""
        serializer = ClvFitSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            model = services.clv_fit(organization=request.organization, **serializer.validated_data)  # type: ignore[attr-defined]
        except ValueError as error:
            raise ValidationError({"calibration_end": [str(error)]})
        return Response(services.clv_model_payload(model), status=201)


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
        model = services.current_clv_model(organization=request.organization)  # type: ignore[attr-defined]
        if model is None:
            raise NotFound("No CLV model has been fitted yet.")
        return Response(services.clv_model_payload(model))
