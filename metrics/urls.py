from django.urls import path

from . import views

urlpatterns = [
    path("dashboards/", views.overview, name="dashboard-overview"),
    path("dashboards/journey/", views.journey, name="dashboard-journey"),
    path("dashboards/retention/", views.retention, name="dashboard-retention"),
    path("dashboards/value/", views.value, name="dashboard-value"),
    path("dashboards/drivers/", views.drivers, name="dashboard-drivers"),
    path("dashboards/status/", views.status, name="dashboard-status"),
    path("dashboards/export/", views.export, name="dashboard-export"),
    path("dashboards/recompute/", views.recompute, name="dashboard-recompute"),
]
