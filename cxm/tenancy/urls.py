from django.urls import include, path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", views.RateLimitedLoginView.as_view(), name="login"),
    path("accounts/password_reset/", views.RateLimitedPasswordResetView.as_view(), name="password_reset"),
    path("accounts/invite/<str:token>/", views.accept_invitation, name="accept_invitation"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("account/language/", views.set_language, name="set-language"),
    path("orgs/switch/", views.switch_organization, name="switch-organization"),
    path("settings/", views.settings_general, name="settings"),
    path("settings/widget-secret/rotate/", views.widget_secret_rotate, name="settings-widget-secret-rotate"),
    path("settings/members/", views.settings_members, name="settings-members"),
    path("settings/members/<int:pk>/", views.member_update, name="settings-member-update"),
    path("settings/api-keys/", views.settings_api_keys, name="settings-api-keys"),
    path("settings/api-keys/<int:pk>/revoke/", views.api_key_revoke, name="settings-api-key-revoke"),
]
