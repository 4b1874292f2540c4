"""A test-only endpoint with the project's real parser, auth and error handler (for 400/413/415)."""

from django.urls import include, path
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView


class EchoSerializer(serializers.Serializer):
    score = serializers.IntegerField(min_value=0, max_value=10)


class EchoView(APIView):
    max_body_size = 1024

    def post(self, request):
        serializer = EchoSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(serializer.validated_data)


urlpatterns = [path("api/v1/echo/", EchoView.as_view()), path("", include("cxm.urls"))]
