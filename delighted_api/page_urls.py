from django.urls import path

from . import views

urlpatterns = [
    path("settings/delighted/", views.delighted_settings, name="delighted-settings"),
]
