import sys

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django.views.defaults import bad_request, page_not_found, permission_denied, server_error

from cxm.api import exceptions as api_errors
from cxm.api.urls import docs_urlpatterns
from cxm.core import views as core_views
from cxm.core.unavailable import is_database_unavailable, service_unavailable
from cxm.tenancy import views as tenancy_views

urlpatterns = [
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
    path("admin/login/", tenancy_views.admin_login),  # the site's login limits, before the admin's own URL
    path("admin/", admin.site.urls),
    path("api/v1/", include("cxm.api.urls")),
    path("api/", include(docs_urlpatterns)),
    path("delighted/", include("delighted_api.urls")),
    path("", include("cxm.tenancy.urls")),
    path("", include("cxm.audit.urls")),
    path("", include("cxm.sso.urls")),
    path("", include("metrics.urls")),
    path("", include("surveys.urls")),
    path("", include("journeys.urls")),
    path("", include("loop.urls")),
    path("", include("delighted_api.page_urls")),
    path("", include("feedback.urls")),
]


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


# Errors under /api/ are JSON, never an HTML page.
def handler400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return api_errors.api_400(request, exception) if _is_api(request) else bad_request(request, exception)  # type: ignore[arg-type]


def handler403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return (
        api_errors.api_403(request, exception) if _is_api(request) else permission_denied(request, exception)  # type: ignore[arg-type]
    )


def handler404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return api_errors.api_404(request, exception) if _is_api(request) else page_not_found(request, exception)


def handler500(request: HttpRequest) -> HttpResponse:
    # Django calls this while handling the exception: a database that cannot be reached is a 503.
    if is_database_unavailable(sys.exc_info()[1]):
        return service_unavailable(request)
    return api_errors.api_500(request) if _is_api(request) else server_error(request)
