from django.urls import include, path
from rest_framework.routers import SimpleRouter

from . import api, notifications_api

router = SimpleRouter()
router.register("webhooks", api.WebhookEndpointViewSet, basename="api-webhook")
router.register(
    "notification-channels", notifications_api.NotificationChannelViewSet, basename="api-notification-channel"
)

urlpatterns = [
    path("notifications/", notifications_api.NotificationListView.as_view(), name="api-notification-list"),
    path(
        "notifications/unread-count/",
        notifications_api.NotificationUnreadCountView.as_view(),
        name="api-notification-unread-count",
    ),
    path(
        "notifications/read-all/",
        notifications_api.NotificationReadAllView.as_view(),
        name="api-notification-read-all",
    ),
    path(
        "notifications/preferences/",
        notifications_api.NotificationPreferenceView.as_view(),
        name="api-notification-preferences",
    ),
    path(
        "notifications/<int:pk>/",
        notifications_api.NotificationDetailView.as_view(),
        name="api-notification-detail",
    ),
    path(
        "notifications/<int:pk>/read/",
        notifications_api.NotificationReadView.as_view(),
        name="api-notification-read",
    ),
    path(
        "notification-channels/<int:channel_pk>/messages/",
        notifications_api.ChannelMessageListView.as_view(),
        name="api-notification-channel-messages",
    ),
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
