from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from cxm.tenancy.models import Organization
from cxm.tenancy.services import organization_create, user_create


class Command(BaseCommand):
    help = "Create an organization, optionally with an owner (created if new; its password is printed once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--slug", required=True)
        parser.add_argument("--name", required=True)
        parser.add_argument("--owner-email")
        parser.add_argument("--time-zone", default="UTC")
        parser.add_argument("--language", default="en", choices=["en", "zh-hans"])

    def handle(self, *args: Any, **options: Any) -> None:
        if Organization.objects.filter(slug=options["slug"]).exists():
            raise CommandError(f"An organization with slug {options['slug']!r} exists already.")
        owner = None
        password = None
        if options["owner_email"]:
            User = get_user_model()
            owner = User.objects.filter(email__iexact=options["owner_email"]).first()
            if owner is None:
                password = secrets.token_urlsafe(12)
                owner = user_create(email=options["owner_email"], password=password)
        try:
            organization = organization_create(
                slug=options["slug"],
                name=options["name"],
                owner=owner,
                time_zone=options["time_zone"],
                default_language=options["language"],
            )
        except ValidationError as exc:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items()))
        self.stdout.write(
            self.style.SUCCESS(f"Created organization {organization.slug} (id {organization.pk}).")
        )
        if owner is not None:
            self.stdout.write(
                f"Owner: {owner.email}" + (f"  password: {password}" if password else " (existing user)")
            )
