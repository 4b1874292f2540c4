from __future__ import annotations

from rest_framework import serializers

from .models import EventType, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from .webhooks.addresses import AddressRefused, resolve

SUBSCRIBABLE = [value for value in EventType.values if value != EventType.PING]


class WebhookEndpointSerializer(serializers.ModelSerializer):
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=SUBSCRIBABLE),
        required=False,
        max_length=len(SUBSCRIBABLE),
        help_text="Event types to receive; empty or absent: every event.",
    )

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "description",
            "events",
            "is_active",
            "disabled_at",
            "disabled_reason",
            "failing_since",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "id",
            "disabled_at",
            "disabled_reason",
            "failing_since",
            "created_at",
            "updated_at",
        ]

    def validate_url(self, value: str) -> str:
        try:
            resolve(value)
        except AddressRefused as exc:
            raise serializers.ValidationError(str(exc))
        return value


class WebhookEndpointSecretSerializer(WebhookEndpointSerializer):
    """Shown once, when the endpoint is created or its secret rotated."""

    secret = serializers.CharField(
        read_only=True, help_text="whsec_…: verify the webhook-signature header with it."
    )

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]
        read_only_fields = [*WebhookEndpointSerializer.Meta.read_only_fields, "secret"]


class WebhookAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookAttempt
        fields = [
            "attempted_at",
            "status_code",
            "duration_ms",
            "request_headers",
            "response_excerpt",
            "error",
        ]
        read_only_fields = fields


class WebhookDeliverySerializer(serializers.ModelSerializer):
    endpoint = serializers.IntegerField(source="endpoint_id", read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "endpoint",
            "event_id",
            "event_type",
            "status",
            "attempts",
            "next_attempt_at",
            "last_status_code",
            "last_error",
            "created_at",
            "delivered_at",
        ]
        read_only_fields = fields


class WebhookDeliveryDetailSerializer(WebhookDeliverySerializer):
    payload = serializers.JSONField(read_only=True)
    attempt_log = WebhookAttemptSerializer(many=True, read_only=True)

    class Meta(WebhookDeliverySerializer.Meta):
        fields = [*WebhookDeliverySerializer.Meta.fields, "payload", "attempt_log"]
        read_only_fields = fields
