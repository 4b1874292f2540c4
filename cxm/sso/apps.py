from django.apps import AppConfig


class SsoConfig(AppConfig):
    name = "cxm.sso"
    label = "sso"
    verbose_name = "Single sign-on"
