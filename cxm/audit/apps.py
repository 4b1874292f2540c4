from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "cxm.audit"
    label = "audit"
    verbose_name = "Audit trail"
