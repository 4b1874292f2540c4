from django.urls import path, re_path
from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter()
router.register("journeys", api.JourneyViewSet, basename="api-journey")
router.register("stages", api.StageViewSet, basename="api-stage")
router.register("touchpoints", api.TouchpointViewSet, basename="api-touchpoint")

urlpatterns = [
    re_path(r"^customers/bulk/?$", api.CustomerBulkView.as_view(), name="api-customers-bulk"),
    re_path(r"^interactions/bulk/?$", api.InteractionBulkView.as_view(), name="api-interactions-bulk"),
    re_path(r"^transactions/bulk/?$", api.TransactionBulkView.as_view(), name="api-transactions-bulk"),
    path("customers/", api.CustomerListView.as_view(), name="api-customer-list"),
    # External ids may contain "/" (e.g. "shop/42"); the two actions are matched first, so an id
    # ending in "/export" or "/erase" addresses that action of the id before it.
    path(
        "customers/<path:external_id>/export/", api.CustomerExportView.as_view(), name="api-customer-export"
    ),
    path("customers/<path:external_id>/erase/", api.CustomerEraseView.as_view(), name="api-customer-erase"),
    path("customers/<path:external_id>/", api.CustomerDetailView.as_view(), name="api-customer-detail"),
    path("interactions/", api.InteractionListView.as_view(), name="api-interaction-list"),
    path("transactions/", api.TransactionListView.as_view(), name="api-transaction-list"),
    path("exchange-rates/", api.ExchangeRateListView.as_view(), name="api-exchange-rate-list"),
    *router.urls,
]
