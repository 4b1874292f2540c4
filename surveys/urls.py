from django.urls import path

from . import views

urlpatterns = [
    path("surveys/", views.survey_list, name="survey-index"),
    path("surveys/new/", views.survey_create, name="survey-create"),
    path("surveys/<int:pk>/", views.survey_edit, name="survey-edit"),
    path("surveys/<int:pk>/questions/new/", views.question_edit, name="question-create"),
    path("surveys/<int:pk>/questions/<int:question_pk>/", views.question_edit, name="question-edit"),
    path(
        "surveys/<int:pk>/questions/<int:question_pk>/action/", views.question_action, name="question-action"
    ),
    path("surveys/<int:pk>/status/", views.survey_status, name="survey-status"),
    path("surveys/<int:pk>/duplicate/", views.survey_duplicate, name="survey-copy"),
    path("surveys/<int:pk>/preview/", views.survey_preview, name="survey-preview"),
    path("surveys/<int:pk>/share/", views.survey_share, name="survey-share"),
    path("surveys/<int:pk>/qr.<str:fmt>", views.survey_qr, name="survey-qr"),
    path("surveys/responses/", views.response_list, name="response-list-page"),
    path("surveys/responses/<int:pk>/", views.response_detail, name="response-detail-page"),
    path("surveys/responses/export.<str:fmt>", views.response_export, name="response-export"),
    path("s/<str:public_id>", views.survey_link, name="survey-link"),
    path("s/<str:public_id>/thanks", views.survey_thanks, name="survey-thanks"),
    path("s/unsubscribe/<str:token>", views.survey_unsubscribe, name="survey-unsubscribe"),
]
