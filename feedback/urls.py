from django.urls import path

from . import views

app_name = "feedback"

urlpatterns = [
    path("text/comments/", views.explorer, name="explorer"),
    path("text/comments/export.<str:fmt>", views.explorer_export, name="explorer-export"),
    path("text/comments/correct/", views.comment_correct, name="correct"),
    path("text/terms/promote/", views.term_promote, name="promote"),
    path("text/model/", views.model_card, name="model-card"),
]
