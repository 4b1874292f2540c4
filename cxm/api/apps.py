from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "cxm.api"
    label = "cxm_api"

    def ready(self) -> None:
        from . import schema  # noqa: F401  (registers the OpenAPI auth extensions)
