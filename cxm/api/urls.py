"""The API root under /api/v1/. Each app adds its routes in its own `api_urls.py`."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from .views import OrganizationView

urlpatterns = [
    path("organization/", OrganizationView.as_view(), name="api-organization"),
    path("", include("cxm.audit.api_urls")),
    path("", include("journeys.api_urls")),
    path("", include("surveys.api_urls")),
    path("", include("feedback.api_urls")),
    path("", include("metrics.api_urls")),
    path("", include("loop.api_urls")),
    path(
        "schema/",
        SpectacularAPIView.as_view(permission_classes=[], authentication_classes=[]),
        name="api-schema",
    ),
]

# The page loads its script from this URL (`?script`), never inline: the CSP allows only this origin.
docs_urlpatterns = [
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="api-schema", permission_classes=[], authentication_classes=[]
        ),
        name="api-docs",
    ),
]
