from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LoopConfig(AppConfig):
    name = "loop"
    verbose_name = _("Closed loop")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from journeys.signals import customer_erased
        from surveys.signals import response_recorded

        from .receivers import (
            on_customer_erased,
            on_notification_requested,
            on_response_recorded,
            on_response_recorded_rules,
        )
        from .signals import notification_requested

        response_recorded.connect(on_response_recorded, dispatch_uid="loop-webhooks-response")
        response_recorded.connect(on_response_recorded_rules, dispatch_uid="loop-alert-rules-response")
        customer_erased.connect(on_customer_erased, dispatch_uid="loop-webhooks-erased")
        notification_requested.connect(on_notification_requested, dispatch_uid="loop-notifications")
