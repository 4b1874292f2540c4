from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cxm.tenancy.models import Organization
from cxm.tenancy.tenant import organization_of


class OrganizationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Organization
        fields = ["id", "slug", "name", "time_zone", "default_language", "created_at"]


class OrganizationView(APIView):
    """The organization of the API key (or the signed-in member's current organization)."""

    @extend_schema(responses=OrganizationSerializer)
    def get(self, request: Request) -> Response:
        return Response(OrganizationSerializer(organization_of(request)).data)
