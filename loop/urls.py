from django.urls import include, path

from . import views

urlpatterns = [
    path("", include("loop.notification_urls")),
    path("", include("loop.case_urls")),
    path("settings/webhooks/", views.settings_webhooks, name="settings-webhooks"),
    path("settings/webhooks/<int:pk>/", views.settings_webhook, name="settings-webhook"),
    path(
        "settings/webhooks/<int:pk>/<str:action>/",
        views.webhook_action,
        name="settings-webhook-action",
    ),
    path(
        "settings/webhooks/<int:pk>/deliveries/<int:delivery_pk>/redeliver/",
        views.webhook_redeliver,
        name="settings-webhook-redeliver",
    ),
]
