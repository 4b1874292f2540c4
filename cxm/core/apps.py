from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "cxm.core"
    label = "core"
