from django.urls import path

from . import views

urlpatterns = [
    path("journeys/", views.journey_index, name="journey-index"),
    path("journeys/<int:pk>/", views.journey_map, name="journey-map"),
    path("journeys/<int:pk>/edit/", views.journey_edit, name="journey-edit"),
    path("journeys/<int:pk>/delete/", views.journey_delete, name="journey-delete"),
    path("journeys/<int:pk>/paths/", views.journey_paths, name="journey-paths"),
    path("journeys/<int:pk>/stages/add/", views.stage_add, name="stage-add"),
    path("journeys/stages/<int:pk>/edit/", views.stage_edit, name="stage-edit"),
    path("journeys/stages/<int:pk>/move/", views.stage_move, name="stage-move"),
    path("journeys/stages/<int:pk>/delete/", views.stage_delete, name="stage-delete"),
    path("journeys/touchpoints/new/", views.touchpoint_create, name="touchpoint-create"),
    path("journeys/touchpoints/<int:pk>/", views.touchpoint_detail, name="touchpoint-detail"),
    path("journeys/touchpoints/<int:pk>/edit/", views.touchpoint_edit, name="touchpoint-edit"),
    path("journeys/touchpoints/<int:pk>/move/", views.touchpoint_move, name="touchpoint-move"),
    path("journeys/touchpoints/<int:pk>/delete/", views.touchpoint_delete, name="touchpoint-delete"),
    path("customers/", views.customer_index, name="customer-index"),
    path("customers/<int:pk>/", views.customer_detail, name="customer-detail"),
    path("customers/<int:pk>/export/", views.customer_export, name="customer-export"),
    path("customers/<int:pk>/erase/", views.customer_erase, name="customer-erase"),
    path("settings/exchange-rates/", views.exchange_rates, name="exchange-rates"),
    path("imports/", views.import_index, name="import-index"),
    path("imports/<int:pk>/", views.import_detail, name="import-detail"),
    path("imports/<int:pk>/status/", views.import_status, name="import-status"),
]
