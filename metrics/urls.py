from django.urls import URLPattern, path

from . import views
from .dashboards import registry


def dashboard_urlpatterns() -> list[URLPattern]:
    """One page per registered dashboard, named `dashboard-<key>` (the overview is /dashboards/)."""
    return [
        path(
            f"dashboards/{dashboard.path}",
            views.dashboard_page,
            {"key": dashboard.key},
            name=dashboard.url_name,
        )
        for dashboard in registry.all_dashboards()
    ]


urlpatterns = [
    *dashboard_urlpatterns(),
    path("dashboards/status/", views.status, name="dashboard-status"),
    path("dashboards/export/", views.export, name="dashboard-export"),
    path("dashboards/recompute/", views.recompute, name="dashboard-recompute"),
]
