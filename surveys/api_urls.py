from django.urls import path
from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter(trailing_slash=False)
router.register("surveys", api.SurveyViewSet, basename="survey")
router.register("questions", api.QuestionViewSet, basename="question")
router.register("responses", api.ResponseViewSet, basename="response")
router.register("invitations", api.InvitationViewSet, basename="invitation")

urlpatterns = [
    path("public/surveys/<str:public_id>", api.PublicSurveyView.as_view(), name="public-survey"),
    path(
        "public/surveys/<str:public_id>/responses",
        api.PublicResponseView.as_view(),
        name="public-survey-responses",
    ),
    *router.urls,
]
