from django.urls import path

from . import notification_views as views

urlpatterns = [
    path("notifications/", views.notification_inbox, name="notifications"),
    path("notifications/read-all/", views.notifications_read_all, name="notifications-read-all"),
    path("notifications/preferences/", views.notification_preferences, name="notification-preferences"),
    path("notifications/<int:pk>/", views.notification_open, name="notification-open"),
    path("notifications/<int:pk>/read/", views.notification_read, name="notification-read"),
    path("settings/notification-channels/", views.settings_channels, name="settings-channels"),
    path("settings/notification-channels/<int:pk>/", views.settings_channel, name="settings-channel"),
    path(
        "settings/notification-channels/<int:pk>/<str:action>/",
        views.channel_action,
        name="settings-channel-action",
    ),
]
