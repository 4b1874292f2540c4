"""Webhooks API: endpoints (the secret is shown when created and when rotated), their delivery log with
each attempt, redelivery, and a ping. Managing webhooks needs the `edit` permission."""

from __future__ import annotations

from typing import Any

import django_filters
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response as ApiResponse

from cxm.api.mixins import OrganizationScopedMixin
from cxm.tenancy.tenant import organization_of

from . import services
from .models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from .serializers import (
    WebhookDeliveryDetailSerializer,
    WebhookDeliverySerializer,
    WebhookEndpointSecretSerializer,
    WebhookEndpointSerializer,
)


class WebhookEndpointViewSet(OrganizationScopedMixin, viewsets.ModelViewSet):
    """Webhook endpoints. Events are signed by the Standard Webhooks convention (`webhook-id`,
    `webhook-timestamp`, `webhook-signature`) with the endpoint's `whsec_…` secret."""

    queryset = WebhookEndpoint.objects.all()
    serializer_class = WebhookEndpointSerializer
    read_permission = "edit"
    write_permission = "edit"

    def get_serializer_class(self) -> Any:
        if self.action in ("create", "rotate_secret"):
            return WebhookEndpointSecretSerializer
        return WebhookEndpointSerializer

    def perform_create(self, serializer: Any) -> None:
        data = serializer.validated_data
        serializer.instance = services.endpoint_create(
            organization=organization_of(self.request),
            url=data["url"],
            events=data.get("events", []),
            description=data.get("description", ""),
            actor=self.request.user,
        )

    def perform_update(self, serializer: Any) -> None:
        serializer.instance = services.endpoint_update(
            endpoint=serializer.instance, **serializer.validated_data
        )

    @extend_schema(request=None, responses=WebhookEndpointSecretSerializer)
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request: Request, pk: Any = None) -> ApiResponse:
        """A new secret; the previous one keeps signing for 24 hours beside it."""
        endpoint = services.endpoint_rotate_secret(endpoint=self.get_object())
        return ApiResponse(WebhookEndpointSecretSerializer(endpoint).data)

    @extend_schema(request=None, responses={202: WebhookDeliverySerializer})
    @action(detail=True, methods=["post"])
    def ping(self, request: Request, pk: Any = None) -> ApiResponse:
        """Send a `webhook.ping` event to this endpoint now."""
        found = services.endpoint_ping(endpoint=self.get_object())
        return ApiResponse(WebhookDeliverySerializer(found).data, status=status.HTTP_202_ACCEPTED)


class DeliveryFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=DeliveryStatus.choices)
    event_type = django_filters.CharFilter()

    class Meta:
        model = WebhookDelivery
        fields = ["status", "event_type"]


class _EndpointDeliveries(OrganizationScopedMixin):
    """Deliveries of the endpoint in the URL, which must be the organization's (else 404)."""

    queryset = WebhookDelivery.objects.all()
    read_permission = "edit"
    write_permission = "edit"
    kwargs: dict[str, Any]

    def get_queryset(self) -> Any:
        endpoint = get_object_or_404(
            WebhookEndpoint.objects.for_organization(organization_of(self.request)),
            pk=self.kwargs["endpoint_pk"],
        )
        return super().get_queryset().filter(endpoint=endpoint)


class WebhookDeliveryListView(_EndpointDeliveries, generics.ListAPIView):
    """The delivery log of one endpoint, newest first."""

    serializer_class = WebhookDeliverySerializer
    filterset_class = DeliveryFilter


class WebhookDeliveryDetailView(_EndpointDeliveries, generics.RetrieveAPIView):
    """One delivery: its payload and every attempt (status, time, response excerpt)."""

    serializer_class = WebhookDeliveryDetailSerializer

    def get_queryset(self) -> Any:
        return super().get_queryset().prefetch_related("attempt_log")


class WebhookRedeliverView(_EndpointDeliveries, generics.GenericAPIView):
    serializer_class = WebhookDeliverySerializer

    @extend_schema(request=None, responses={202: WebhookDeliverySerializer})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> ApiResponse:
        """Send this delivery again now, with the same event id."""
        found = services.delivery_redeliver(delivery=self.get_object())
        return ApiResponse(WebhookDeliverySerializer(found).data, status=status.HTTP_202_ACCEPTED)
