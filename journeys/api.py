"""API of customers and journeys: CRUD and reorder of journeys, stages and touchpoints; customers by
external id; bulk ingest of customers, interactions and transactions; privacy export and erasure."""

from __future__ import annotations

from typing import Any

import django_filters
from django.conf import settings
from django.core.exceptions import ValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, generics, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cxm.api.exceptions import PayloadTooLarge
from cxm.api.filters import DateTimeFilter, IdFilter, SelectorFilterSet
from cxm.api.mixins import OrganizationScopedMixin
from cxm.api.permissions import request_allows
from cxm.core.jsonsafe import JsonRejected, loads_strict
from cxm.tenancy.tenant import organization_of
from surveys import selectors as surveys_selectors

from . import selectors, services
from .ingest import MAX_RECORDS, IngestResult
from .models import Channel, Customer, ExchangeRate, Interaction, Journey, Stage, Touchpoint, Transaction
from .serializers import (
    CustomerExportSerializer,
    CustomerRecordSerializer,
    CustomerSerializer,
    ExchangeRateSerializer,
    IngestResultSerializer,
    InteractionRecordSerializer,
    InteractionSerializer,
    JourneySerializer,
    ReorderSerializer,
    StageSerializer,
    TouchpointSerializer,
    TransactionRecordSerializer,
    TransactionSerializer,
)


def _validation(exc: Any) -> exceptions.ValidationError:
    return exceptions.ValidationError(
        getattr(exc, "message_dict", None) or {"non_field_errors": exc.messages}
    )


# --- Journeys, stages, touchpoints ----------------------------------------------------------


class JourneyViewSet(OrganizationScopedMixin, viewsets.ModelViewSet):
    """Journeys with their stages in order."""

    queryset = Journey.objects.prefetch_related("stages")
    serializer_class = JourneySerializer

    def perform_create(self, serializer: Any) -> None:
        try:
            serializer.instance = services.journey_create(
                organization=organization_of(self.request), **serializer.validated_data
            )
        except ValidationError as exc:
            raise _validation(exc)

    def perform_update(self, serializer: Any) -> None:
        serializer.instance = services.journey_update(
            journey=serializer.instance, **serializer.validated_data
        )

    def perform_destroy(self, instance: Journey) -> None:
        services.journey_delete(journey=instance)

    @extend_schema(request=ReorderSerializer, responses=StageSerializer(many=True))
    @action(detail=True, methods=["post"], url_path="reorder-stages")
    def reorder_stages(self, request: Request, pk: str | None = None) -> Response:
        """Sets the order of the journey's stages: `{"order": [stage ids]}`, each stage once."""
        journey = self.get_object()
        body = ReorderSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            stages = services.stages_reorder(journey=journey, stage_ids=body.validated_data["order"])
        except ValidationError as exc:
            raise _validation(exc)
        return Response(StageSerializer(stages, many=True).data)


class StageFilter(SelectorFilterSet):
    selector = staticmethod(selectors.stage_list)

    class Meta:
        model = Stage
        fields = ["journey"]


class StageViewSet(OrganizationScopedMixin, viewsets.ModelViewSet):
    """Stages of journeys; `position` on create inserts the stage there (default: at the end)."""

    queryset = Stage.objects.all()
    serializer_class = StageSerializer
    filterset_class = StageFilter

    def perform_create(self, serializer: Any) -> None:
        data = serializer.validated_data
        serializer.instance = services.stage_create(
            journey=data["journey"], name=data["name"], position=data.get("position")
        )

    def perform_update(self, serializer: Any) -> None:
        stage = services.stage_update(
            stage=serializer.instance, name=serializer.validated_data.get("name", serializer.instance.name)
        )
        if "position" in serializer.validated_data:
            ids = [
                pk
                for pk in Stage.objects.for_organization(stage.organization_id)
                .filter(journey_id=stage.journey_id)
                .order_by("position", "id")
                .values_list("id", flat=True)
                if pk != stage.pk
            ]
            ids.insert(min(serializer.validated_data["position"], len(ids)), stage.pk)
            services.stages_reorder(journey=stage.journey, stage_ids=ids)
            stage.refresh_from_db()
        serializer.instance = stage

    def perform_destroy(self, instance: Stage) -> None:
        services.stage_delete(stage=instance)

    @extend_schema(request=ReorderSerializer, responses=TouchpointSerializer(many=True))
    @action(detail=True, methods=["post"], url_path="reorder-touchpoints")
    def reorder_touchpoints(self, request: Request, pk: str | None = None) -> Response:
        """Puts touchpoints in this stage in this order: `{"order": [touchpoint ids]}`; every touchpoint
        of the stage must be listed, and touchpoints of other stages listed here move into it."""
        stage = self.get_object()
        body = ReorderSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            touchpoints = services.touchpoints_reorder(
                stage=stage, touchpoint_ids=body.validated_data["order"]
            )
        except ValidationError as exc:
            raise _validation(exc)
        return Response(TouchpointSerializer(touchpoints, many=True).data)


class TouchpointFilter(SelectorFilterSet):
    selector = staticmethod(selectors.touchpoint_list)
    journey = IdFilter(field_name="stage__journey")
    channel = django_filters.ChoiceFilter(choices=Channel.choices)

    class Meta:
        model = Touchpoint
        fields = ["stage", "journey", "channel", "key"]


class TouchpointViewSet(OrganizationScopedMixin, viewsets.ModelViewSet):
    """Touchpoints: where customers meet the business. `key` is the stable id used by ingest and surveys."""

    queryset = Touchpoint.objects.all()
    serializer_class = TouchpointSerializer
    filterset_class = TouchpointFilter

    def perform_create(self, serializer: Any) -> None:
        try:
            serializer.instance = services.touchpoint_create(
                organization=organization_of(self.request), **serializer.validated_data
            )
        except ValidationError as exc:
            raise _validation(exc)

    def perform_update(self, serializer: Any) -> None:
        try:
            serializer.instance = services.touchpoint_update(
                touchpoint=serializer.instance, **serializer.validated_data
            )
        except ValidationError as exc:
            raise _validation(exc)

    def perform_destroy(self, instance: Touchpoint) -> None:
        services.touchpoint_delete(touchpoint=instance)


# --- Customers ---------------------------------------------------------------------------------


class CustomerFilter(SelectorFilterSet):
    selector = staticmethod(selectors.customer_list)
    q = django_filters.CharFilter(help_text="External id, name, email or phone.")
    city = django_filters.CharFilter(lookup_expr="iexact")
    gender = django_filters.CharFilter(lookup_expr="iexact")
    age_band = django_filters.CharFilter(lookup_expr="iexact")
    unsubscribed = django_filters.BooleanFilter()
    erased = django_filters.BooleanFilter(field_name="erased_at", lookup_expr="isnull", exclude=True)
    seen_after = DateTimeFilter(field_name="last_seen_at", lookup_expr="gte")
    seen_before = DateTimeFilter(field_name="last_seen_at", lookup_expr="lt")

    class Meta:
        model = Customer
        fields = ["q", "city", "gender", "age_band", "unsubscribed", "erased", "seen_after", "seen_before"]


class CustomerListView(OrganizationScopedMixin, generics.ListAPIView):
    """Customers with filters; POST creates or updates one customer by `external_id` (upsert)."""

    queryset = Customer.objects.all()
    serializer_class = CustomerSerializer
    filterset_class = CustomerFilter

    @extend_schema(
        request=CustomerRecordSerializer, responses={200: CustomerSerializer, 201: CustomerSerializer}
    )
    def post(self, request: Request) -> Response:
        if not isinstance(request.data, dict):
            raise exceptions.ValidationError({"non_field_errors": ["Send one customer as a JSON object."]})
        try:
            customer, created = services.customer_upsert(
                organization=organization_of(request), data=request.data
            )
        except ValidationError as exc:
            raise _validation(exc)
        return Response(
            CustomerSerializer(customer).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class CustomerDetailView(OrganizationScopedMixin, generics.GenericAPIView):
    """One customer by external id. PUT/PATCH update it (fields left out keep their value); DELETE removes
    it with its interactions and orders (responses stay, unlinked)."""

    queryset = Customer.objects.all()
    serializer_class = CustomerSerializer
    lookup_field = "external_id"

    @extend_schema(responses=CustomerSerializer)
    def get(self, request: Request, external_id: str) -> Response:
        return Response(CustomerSerializer(self.get_object()).data)

    def _update(self, request: Request) -> Response:
        customer = self.get_object()
        if not isinstance(request.data, dict):
            raise exceptions.ValidationError({"non_field_errors": ["Send the customer as a JSON object."]})
        data = {**request.data, "external_id": customer.external_id}
        try:
            customer, _created = services.customer_upsert(organization=organization_of(request), data=data)
        except ValidationError as exc:
            raise _validation(exc)
        return Response(CustomerSerializer(customer).data)

    @extend_schema(request=CustomerRecordSerializer, responses=CustomerSerializer)
    def put(self, request: Request, external_id: str) -> Response:
        return self._update(request)

    @extend_schema(request=CustomerRecordSerializer, responses=CustomerSerializer)
    def patch(self, request: Request, external_id: str) -> Response:
        return self._update(request)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, external_id: str) -> Response:
        services.customer_delete(customer=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class CustomerExportView(OrganizationScopedMixin, generics.GenericAPIView):
    """Everything about one customer as JSON (a data access request). Needs the `export` permission."""

    queryset = Customer.objects.all()
    serializer_class = CustomerExportSerializer
    lookup_field = "external_id"
    read_permission = "export"

    @extend_schema(responses=CustomerExportSerializer)
    def get(self, request: Request, external_id: str) -> Response:
        return Response(surveys_selectors.customer_export_document(customer=self.get_object()))


class CustomerEraseView(OrganizationScopedMixin, generics.GenericAPIView):
    """Erases a customer's personal data; their responses, interactions and orders stay anonymously.
    Needs the `erase_customer` permission (owners and admins signed in; API keys cannot erase)."""

    queryset = Customer.objects.all()
    serializer_class = CustomerSerializer
    lookup_field = "external_id"
    write_permission = "view"  # the real check follows the lookup, so another organization's id stays a 404

    @extend_schema(request=None, responses=CustomerSerializer)
    def post(self, request: Request, external_id: str) -> Response:
        customer = self.get_object()
        if not request_allows(request, "erase_customer"):
            raise exceptions.PermissionDenied("This key or role lacks the 'erase_customer' permission.")
        return Response(CustomerSerializer(services.customer_erase(customer=customer)).data)


# --- Bulk ingest -------------------------------------------------------------------------------


def bulk_max_bytes() -> int:
    return int(getattr(settings, "BULK_MAX_BYTES", 64 * 1024 * 1024))


def read_records(request: Request) -> list[Any]:
    """The request's records, parsed straight from the body (a JSON array or {"records": [...]})."""
    django_request = request._request
    limit = bulk_max_bytes()
    try:
        length = int(django_request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit:
        raise PayloadTooLarge()
    raw = django_request._body if hasattr(django_request, "_body") else django_request.read(limit + 1)
    if len(raw) > limit:
        raise PayloadTooLarge()
    try:
        # NaN, Infinity and deep nesting: 400 before any write; text a database cannot store (NUL,
        # a lone surrogate) rejects only its own record (journeys.ingest).
        payload = loads_strict(raw, check_text=False)
    except JsonRejected as exc:
        raise exceptions.ParseError(str(exc)) from None
    if isinstance(payload, dict) and set(payload) == {"records"}:
        payload = payload["records"]
    if not isinstance(payload, list):
        raise exceptions.ValidationError(
            {"records": ['Send a JSON array of records (or {"records": [...]}).']}
        )
    if not payload:
        raise exceptions.ValidationError({"records": ["Send at least one record."]})
    if len(payload) > MAX_RECORDS:
        raise exceptions.ValidationError({"records": [f"At most {MAX_RECORDS} records per request."]})
    return payload


class _BulkView(APIView):
    kind = ""

    def post(self, request: Request) -> Response:
        records = read_records(request)
        ingest = {
            "customers": services.customers_bulk_upsert,
            "interactions": services.interactions_bulk_ingest,
            "transactions": services.transactions_bulk_ingest,
        }[self.kind]
        result: IngestResult = ingest(organization=organization_of(request), records=records)
        return Response(result.as_dict())


_BULK_DOC = (
    "Up to 10,000 records per request, as a JSON array. Valid records are stored even when others are "
    "rejected; each rejected record is reported with its index and reason. Idempotent: re-sending a record "
    "with the same client id creates nothing new."
)


class CustomerBulkView(_BulkView):
    kind = "customers"

    @extend_schema(
        request=CustomerRecordSerializer(many=True),
        responses=IngestResultSerializer,
        description=_BULK_DOC + " Customers are upserted by external_id.",
    )
    def post(self, request: Request) -> Response:
        return super().post(request)


class InteractionBulkView(_BulkView):
    kind = "interactions"

    @extend_schema(
        request=InteractionRecordSerializer(many=True),
        responses=IngestResultSerializer,
        description=_BULK_DOC + " Unknown customers are created from their external id.",
    )
    def post(self, request: Request) -> Response:
        return super().post(request)


class TransactionBulkView(_BulkView):
    kind = "transactions"

    @extend_schema(
        request=TransactionRecordSerializer(many=True),
        responses=IngestResultSerializer,
        description=_BULK_DOC
        + " Idempotent by order_id. Unknown customers are created from their external id.",
    )
    def post(self, request: Request) -> Response:
        return super().post(request)


# --- Interactions and transactions ---------------------------------------------------------------


class InteractionFilter(SelectorFilterSet):
    selector = staticmethod(selectors.interaction_list)
    customer = django_filters.CharFilter(
        field_name="customer__external_id", help_text="Customer external id."
    )
    touchpoint = django_filters.CharFilter(field_name="touchpoint__key", help_text="Touchpoint key.")
    kind = django_filters.CharFilter()
    occurred_after = DateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_before = DateTimeFilter(field_name="occurred_at", lookup_expr="lt")

    class Meta:
        model = Interaction
        fields = ["customer", "touchpoint", "kind", "occurred_after", "occurred_before"]


class InteractionListView(OrganizationScopedMixin, generics.ListAPIView):
    queryset = Interaction.objects.select_related("customer", "touchpoint")
    serializer_class = InteractionSerializer
    filterset_class = InteractionFilter


class TransactionFilter(SelectorFilterSet):
    selector = staticmethod(selectors.transaction_list)
    customer = django_filters.CharFilter(
        field_name="customer__external_id", help_text="Customer external id."
    )
    currency = django_filters.CharFilter(lookup_expr="iexact")
    min_amount = django_filters.NumberFilter(
        field_name="amount", lookup_expr="gte", max_digits=14, decimal_places=2
    )
    max_amount = django_filters.NumberFilter(
        field_name="amount", lookup_expr="lte", max_digits=14, decimal_places=2
    )
    occurred_after = DateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_before = DateTimeFilter(field_name="occurred_at", lookup_expr="lt")

    class Meta:
        model = Transaction
        fields = ["customer", "currency", "min_amount", "max_amount", "occurred_after", "occurred_before"]


class TransactionListView(OrganizationScopedMixin, generics.ListAPIView):
    queryset = Transaction.objects.select_related("customer", "touchpoint")
    serializer_class = TransactionSerializer
    filterset_class = TransactionFilter


class ExchangeRateListView(OrganizationScopedMixin, generics.ListCreateAPIView):
    """The organization's exchange rates into its own currency (`GET`), and a new rate (`POST`;
    the same currency and day again replaces the rate). Money figures convert every transaction in
    another currency at the latest rate on or before its local day."""

    queryset = ExchangeRate.objects.all()
    serializer_class = ExchangeRateSerializer
    write_permission = "edit"

    def perform_create(self, serializer: Any) -> None:
        try:
            serializer.instance = services.exchange_rate_set(
                organization=organization_of(self.request), **serializer.validated_data
            )
        except ValidationError as exc:
            raise _validation(exc)
