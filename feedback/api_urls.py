from django.urls import path, re_path

from . import api

urlpatterns = [
    re_path(r"^feedback/bulk/?$", api.FeedbackBulkView.as_view(), name="api-feedback-bulk"),
    path("feedback/", api.FeedbackListView.as_view(), name="api-feedback-list"),
    path("text/themes", api.ThemesView.as_view(), name="api-text-themes"),
    path("text/trend", api.TrendView.as_view(), name="api-text-trend"),
    path("text/emerging", api.EmergingView.as_view(), name="api-text-emerging"),
    path("text/emerging/promote", api.EmergingPromoteView.as_view(), name="api-text-emerging-promote"),
    path("text/search", api.SearchView.as_view(), name="api-text-search"),
    path("text/taxonomy", api.TaxonomyView.as_view(), name="api-text-taxonomy"),
    path("text/taxonomy/themes", api.TaxonomyThemesView.as_view(), name="api-text-taxonomy-themes"),
    path("text/taxonomy/themes/<str:key>", api.TaxonomyThemeView.as_view(), name="api-text-taxonomy-theme"),
    path("text/dictionary", api.DictionaryView.as_view(), name="api-text-dictionary"),
    path("text/corrections", api.CorrectionListView.as_view(), name="api-text-corrections"),
    path("text/comments/<str:kind>/<path:ref>", api.CommentView.as_view(), name="api-text-comment"),
    path("text/model", api.ModelView.as_view(), name="api-text-model"),
]
