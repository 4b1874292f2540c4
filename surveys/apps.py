from django.apps import AppConfig


class SurveysConfig(AppConfig):
    name = "surveys"
    verbose_name = "Surveys"

    def ready(self) -> None:
        from journeys.signals import customer_erased

        from .erasure import on_customer_erased
        from .imports import register

        register()  # the `responses` kind of CSV import, which journeys cannot know about
        # An erased customer's comments, open answers and hidden fields go with their personal data.
        customer_erased.connect(on_customer_erased, dispatch_uid="surveys-scrub-erased-customer")
