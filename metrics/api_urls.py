from django.urls import path

from . import api

urlpatterns = [
    path("metrics/nps", api.NpsView.as_view(), name="api-metrics-nps"),
    path("metrics/csat", api.CsatView.as_view(), name="api-metrics-csat"),
    path("metrics/ces", api.CesView.as_view(), name="api-metrics-ces"),
    path("metrics/trend", api.TrendView.as_view(), name="api-metrics-trend"),
    path("metrics/retention", api.RetentionView.as_view(), name="api-metrics-retention"),
    path("metrics/segments", api.SegmentsView.as_view(), name="api-metrics-segments"),
    path("metrics/drivers", api.DriversView.as_view(), name="api-metrics-drivers"),
    path("metrics/monetized-nps", api.MonetizedNpsView.as_view(), name="api-metrics-monetized-nps"),
    path("metrics/clv/fit", api.ClvFitView.as_view(), name="api-metrics-clv-fit"),
    path("metrics/clv/model", api.ClvModelView.as_view(), name="api-metrics-clv-model"),
    path("metrics/customers/", api.CustomerValueListView.as_view(), name="api-metrics-customers"),
    path("metrics/recompute", api.RecomputeView.as_view(), name="api-metrics-recompute"),
]
