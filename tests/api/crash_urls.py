"""Test-only routes under /api/ that fail outside DRF and inside it, with the project's own routes."""

from django.http import HttpResponse
from django.urls import include, path
from django.views.decorators.http import require_POST
from rest_framework.views import APIView

from cxm.urls import handler400, handler403, handler404, handler500  # noqa: F401


def plain_crash(request):
    raise RuntimeError("boom outside DRF")


@require_POST
def plain_post_only(request):
    return HttpResponse("ok")


class DrfCrash(APIView):
    permission_classes: list = []
    authentication_classes: list = []

    def get(self, request):
        raise RuntimeError("boom inside DRF")


def page_crash(request):
    raise RuntimeError("boom on a page")


urlpatterns = [
    path("api/v1/test-crash/plain", plain_crash),
    path("api/v1/test-crash/post-only", plain_post_only),
    path("api/v1/test-crash/drf", DrfCrash.as_view()),
    path("test-crash/page", page_crash),
    path("", include("cxm.urls")),
]
