from django.urls import path
from rest_framework.routers import SimpleRouter

from . import cases_api

router = SimpleRouter()
router.register("alert-rules", cases_api.AlertRuleViewSet, basename="api-alert-rule")
router.register("case-teams", cases_api.TeamViewSet, basename="api-case-team")
router.register("cases", cases_api.CaseViewSet, basename="api-case")

urlpatterns = [
    path("case-settings/", cases_api.CaseSettingsView.as_view(), name="api-case-settings"),
    *router.urls,
]
