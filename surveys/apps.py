from django.apps import AppConfig


class SurveysConfig(AppConfig):
    name = "surveys"
    verbose_name = "Surveys"

    def ready(self) -> None:
        from .imports import register

        register()  # the `responses` kind of CSV import, which journeys cannot know about
