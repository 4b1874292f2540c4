from django.apps import AppConfig


class SurveysConfig(AppConfig):
    name = "surveys"
    verbose_name = "Surveys"

    def ready(self) -> None:
        from cxm.audit.sealing import register_digest_source
        from journeys.signals import customer_erased

        from .erasure import on_customer_erased
        from .imports import register
        from .sealing import response_digests

        register_digest_source(response_digests)  # what a sealed response's content is
        register()  # the `responses` kind of CSV import, which journeys cannot know about
        # An erased customer's comments, open answers and hidden fields go with their personal data.
        customer_erased.connect(on_customer_erased, dispatch_uid="surveys-scrub-erased-customer")
