"""/delighted/v1/…: every path with or without a format suffix (`people` and `people.json`)."""

from django.urls import re_path

from . import api

FMT = r"(?:\.(?P<format>[A-Za-z0-9]+))?$"
# After an identifier that may hold dots (an email), only `.json` is a suffix.
JSON = r"(?:\.(?P<format>json))?$"

urlpatterns = [
    re_path(r"^v1/people" + FMT, api.PeopleView.as_view(), name="delighted-people"),
    re_path(
        r"^v1/people/(?P<identifier>[^/]+?)/survey_requests/pending" + JSON,
        api.PendingSurveyRequestsView.as_view(),
        name="delighted-pending-requests",
    ),
    re_path(r"^v1/people/(?P<identifier>[^/]+?)" + JSON, api.PersonView.as_view(), name="delighted-person"),
    re_path(r"^v1/survey_responses" + FMT, api.SurveyResponsesView.as_view(), name="delighted-responses"),
    re_path(
        r"^v1/survey_responses/(?P<response_id>[^/.]+)" + FMT,
        api.SurveyResponseView.as_view(),
        name="delighted-response",
    ),
    re_path(r"^v1/metrics" + FMT, api.MetricsView.as_view(), name="delighted-metrics"),
    re_path(r"^v1/unsubscribes" + FMT, api.UnsubscribesView.as_view(), name="delighted-unsubscribes"),
    re_path(r"^v1/bounces" + FMT, api.BouncesView.as_view(), name="delighted-bounces"),
    re_path(
        r"^v1/autopilot/(?P<platform>[a-z]+)/memberships" + FMT,
        api.AutopilotMembershipsView.as_view(),
        name="delighted-autopilot-memberships",
    ),
    re_path(
        r"^v1/autopilot/(?P<platform>[a-z]+)" + FMT,
        api.AutopilotConfigurationView.as_view(),
        name="delighted-autopilot",
    ),
    re_path(r"^", api.not_found),
]
