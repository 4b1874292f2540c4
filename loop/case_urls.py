from django.urls import path

from . import case_views

urlpatterns = [
    path("cases/", case_views.case_queue, name="case-queue"),
    path("cases/<int:pk>/", case_views.case_detail, name="case-detail"),
    path("cases/<int:pk>/<str:form>/", case_views.case_change, name="case-change"),
    path("cases/rules/", case_views.rule_list, name="case-rules"),
    path("cases/settings/", case_views.case_settings_page, name="case-settings"),
    path("cases/rules/<int:pk>/", case_views.rule_detail, name="case-rule"),
]
