from django.apps import AppConfig


class DelightedConfig(AppConfig):
    """The Delighted v1 API served over cxm's customers, surveys and metrics (above metrics)."""

    # The package is not named `delighted`: that is the name of Delighted's official Python client,
    # which scripts (and this project's tests) import in the same process as the server.
    name = "delighted_api"
    label = "delighted"
    verbose_name = "Delighted-compatible API"
