from django.urls import path

from . import views

urlpatterns = [
    path("sso/", views.SsoStartView.as_view(), name="sso-choose"),
    path("sso/callback/", views.SsoCallbackView.as_view(), name="sso-callback"),
    path("sso/<slug:slug>/", views.SsoStartView.as_view(), name="sso-start"),
    path("settings/sso/", views.settings_sso, name="settings-sso"),
]
