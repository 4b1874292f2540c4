from django.urls import include, path
from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter()
router.register("webhooks", api.WebhookEndpointViewSet, basename="api-webhook")

urlpatterns = [
    path(
        "webhooks/<int:endpoint_pk>/deliveries/",
        api.WebhookDeliveryListView.as_view(),
        name="api-webhook-delivery-list",
    ),
    path(
        "webhooks/<int:endpoint_pk>/deliveries/<int:pk>/",
        api.WebhookDeliveryDetailView.as_view(),
        name="api-webhook-delivery-detail",
    ),
    path(
        "webhooks/<int:endpoint_pk>/deliveries/<int:pk>/redeliver/",
        api.WebhookRedeliverView.as_view(),
        name="api-webhook-delivery-redeliver",
    ),
    path("", include("loop.cases_api_urls")),
    *router.urls,
]
