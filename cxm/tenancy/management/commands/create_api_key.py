from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cxm.tenancy.models import Organization
from cxm.tenancy.services import api_key_create


class Command(BaseCommand):
    help = "Create an API key for an organization and print it once (only its hash is stored)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", required=True, help="organization slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--read-only", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        organization = Organization.objects.filter(slug=options["org"]).first()
        if organization is None:
            raise CommandError(f"No organization with slug {options['org']!r}.")
        key, plaintext = api_key_create(
            organization=organization, name=options["name"], read_only=options["read_only"]
        )
        self.stderr.write(
            f"Key {key.name!r} ({'read-only' if key.read_only else 'read-write'}), prefix {key.prefix}:"
        )
        self.stdout.write(plaintext)
