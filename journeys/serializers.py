from __future__ import annotations

from decimal import Decimal
from typing import Any

from rest_framework import serializers

from cxm.api.limits import MAX_ID

from .models import Channel, Customer, ExchangeRate, Interaction, Journey, Stage, Touchpoint, Transaction


class ScopedPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """A related id that must belong to the request's organization (another organization's id is invalid)."""

    def get_queryset(self) -> Any:
        organization = self.context.get("organization")
        queryset: Any = super().get_queryset()  # declared with a tenant model's queryset
        return queryset.for_organization(organization) if organization is not None else queryset.none()


class StageBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Stage
        fields = ["id", "name", "position"]


class JourneySerializer(serializers.ModelSerializer):
    stages = StageBriefSerializer(many=True, read_only=True)

    class Meta:
        model = Journey
        fields = ["id", "name", "description", "created_at", "stages"]
        read_only_fields = ["created_at"]


class StageSerializer(serializers.ModelSerializer):
    journey = ScopedPrimaryKeyRelatedField(queryset=Journey.objects.all())
    position = serializers.IntegerField(required=False, min_value=0)

    class Meta:
        model = Stage
        fields = ["id", "journey", "name", "position"]

    def validate_journey(self, value: Journey) -> Journey:
        if self.instance is not None and value.pk != self.instance.journey_id:
            raise serializers.ValidationError("A stage cannot move to another journey.")
        return value


class TouchpointSerializer(serializers.ModelSerializer):
    stage = ScopedPrimaryKeyRelatedField(queryset=Stage.objects.all(), allow_null=True, required=False)
    channel = serializers.ChoiceField(choices=Channel.choices, default=Channel.OTHER)

    class Meta:
        model = Touchpoint
        fields = ["id", "stage", "name", "key", "channel", "description", "owner", "position", "created_at"]
        read_only_fields = ["position", "created_at"]
        extra_kwargs: dict[str, dict[str, Any]] = {"key": {"validators": []}}


class ReorderSerializer(serializers.Serializer):
    order = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID), allow_empty=True, max_length=1000
    )


class CustomerSerializer(serializers.ModelSerializer):
    class Meta:
        model = Customer
        fields = [
            "external_id",
            "email",
            "phone",
            "name",
            "age_band",
            "gender",
            "city",
            "occupation",
            "attributes",
            "first_seen_at",
            "last_seen_at",
            "unsubscribed",
            "unsubscribed_at",
            "erased_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class CustomerRecordSerializer(serializers.Serializer):
    """One customer for upsert: fields left out keep their stored value; attributes are merged."""

    external_id = serializers.CharField(max_length=255)
    email = serializers.EmailField(required=False, allow_blank=True)
    phone = serializers.CharField(required=False, allow_blank=True, max_length=64)
    name = serializers.CharField(required=False, allow_blank=True, max_length=255)
    age_band = serializers.CharField(required=False, allow_blank=True, max_length=32)
    gender = serializers.CharField(required=False, allow_blank=True, max_length=32)
    city = serializers.CharField(required=False, allow_blank=True, max_length=128)
    occupation = serializers.CharField(required=False, allow_blank=True, max_length=128)
    attributes = serializers.DictField(required=False)
    first_seen_at = serializers.DateTimeField(required=False)
    last_seen_at = serializers.DateTimeField(required=False)
    unsubscribed = serializers.BooleanField(required=False)


class InteractionRecordSerializer(serializers.Serializer):
    """One interaction. `id` is your id for it: re-sending the same id creates nothing new."""

    id = serializers.CharField(max_length=255, required=False)
    customer_external_id = serializers.CharField(max_length=255)
    touchpoint = serializers.CharField(max_length=100, required=False, help_text="A touchpoint key.")
    kind = serializers.CharField(max_length=64, required=False)
    occurred_at = serializers.DateTimeField()
    properties = serializers.DictField(required=False)


class TransactionRecordSerializer(serializers.Serializer):
    """One order; a negative amount is a refund. `order_id` is unique per organization."""

    order_id = serializers.CharField(max_length=255)
    customer_external_id = serializers.CharField(max_length=255)
    occurred_at = serializers.DateTimeField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    currency = serializers.CharField(max_length=3, required=False, default="USD")
    touchpoint = serializers.CharField(max_length=100, required=False)
    properties = serializers.DictField(required=False)


class RecordErrorSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    field = serializers.CharField(allow_null=True)
    reason = serializers.CharField()


class IngestResultSerializer(serializers.Serializer):
    received = serializers.IntegerField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    duplicates = serializers.IntegerField(help_text="Records already stored (same client id) or repeated.")
    customers_created = serializers.IntegerField()
    rejected = serializers.IntegerField()
    # The stubs take this for `Serializer.errors`; the serializer's metaclass moves declared fields off the class.
    errors = RecordErrorSerializer(many=True)  # type: ignore[assignment]


class InteractionSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="external_id", allow_null=True)
    customer_external_id = serializers.CharField(source="customer.external_id")
    touchpoint: serializers.SlugRelatedField[Touchpoint] = serializers.SlugRelatedField(
        slug_field="key", read_only=True, allow_null=True
    )

    class Meta:
        model = Interaction
        fields = [
            "id",
            "customer_external_id",
            "touchpoint",
            "kind",
            "occurred_at",
            "properties",
            "created_at",
        ]
        read_only_fields = fields


class TransactionSerializer(serializers.ModelSerializer):
    customer_external_id = serializers.CharField(source="customer.external_id")
    touchpoint: serializers.SlugRelatedField[Touchpoint] = serializers.SlugRelatedField(
        slug_field="key", read_only=True, allow_null=True
    )

    class Meta:
        model = Transaction
        fields = [
            "order_id",
            "customer_external_id",
            "occurred_at",
            "amount",
            "currency",
            "touchpoint",
            "properties",
            "created_at",
        ]
        read_only_fields = fields


class CustomerExportSerializer(serializers.Serializer):
    customer = CustomerSerializer()
    interactions = serializers.ListField(child=serializers.DictField())
    transactions = serializers.ListField(child=serializers.DictField())
    responses = serializers.ListField(child=serializers.DictField())
    invitations = serializers.ListField(child=serializers.DictField())
    exported_at = serializers.DateTimeField()


class ExchangeRateSerializer(serializers.ModelSerializer):
    """Units of the organization's currency per one unit of `currency`, effective from a local day
    until the next rate of the same currency."""

    currency = serializers.RegexField(r"^[A-Za-z]{3}$", max_length=3, help_text="ISO 4217 code.")
    rate = serializers.DecimalField(max_digits=20, decimal_places=10, min_value=Decimal("0.0000000001"))

    class Meta:
        model = ExchangeRate
        fields = ["id", "currency", "effective_from", "rate", "created_at"]
        read_only_fields = ["id", "created_at"]
