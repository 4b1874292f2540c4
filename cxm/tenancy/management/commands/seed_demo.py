from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from cxm.tenancy.models import Membership, Organization
from cxm.tenancy.roles import Role
from cxm.tenancy.services import organization_create, user_create
from feedback import demo as feedback_demo
from journeys import demo as journeys_demo
from metrics import demo as metrics_demo
from surveys import demo as surveys_demo

DEMO_SLUG = "demo"
DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "cxm-demo-2026"
# Each app adds its demo data through `<app>.demo.seed(organization=…, stdout=…, size=…)`, lowest layer first.
SEEDERS = [journeys_demo, surveys_demo, feedback_demo, metrics_demo]


class Command(BaseCommand):
    help = "Create the demo organization, its owner login and realistic demo data. Safe to run again."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--size", choices=["small", "full"], default="full")

    def handle(self, *args: Any, **options: Any) -> None:
        if not getattr(settings, "DEMO_DATA_ALLOWED", False):
            raise CommandError(
                "seed_demo refuses to run under production settings: it creates a login with a "
                f"published password ({DEMO_EMAIL}). Use DJANGO_SETTINGS_MODULE=cxm.settings.local "
                "for a demo."
            )
        User = get_user_model()
        user = User.objects.filter(username=DEMO_EMAIL).first()
        if user is None:
            user = user_create(email=DEMO_EMAIL, password=DEMO_PASSWORD, name="Demo Owner")
        organization = Organization.objects.filter(slug=DEMO_SLUG).first()
        if organization is None:
            organization = organization_create(
                slug=DEMO_SLUG, name="Demo Retail", owner=user, time_zone="Asia/Shanghai", currency="CNY"
            )
        if organization.currency != "CNY":  # demo orders are in yuan (created before currencies)
            Organization.objects.filter(pk=organization.pk).update(currency="CNY")
            organization.currency = "CNY"
        Membership.objects.get_or_create(organization=organization, user=user, defaults={"role": Role.OWNER})
        for module in SEEDERS:
            module.seed(organization=organization, stdout=self.stdout, size=options["size"])
        self.stdout.write(self.style.SUCCESS(f"Demo organization '{DEMO_SLUG}' is ready."))
        self.stdout.write(f"  Demo login: {DEMO_EMAIL}  password: {DEMO_PASSWORD}")
