from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cxm.tenancy.models import Organization
from metrics.services import recompute_run


class Command(BaseCommand):
    help = (
        "Recompute an organization's default dashboards now: incremental (the daily rollups and what "
        "changed), or with --full a rebuild of the rollups and every dashboard from all history."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", required=True, help="organization slug")
        parser.add_argument("--full", action="store_true", help="rebuild everything from all history")

    def handle(self, *args: Any, **options: Any) -> None:
        organization = Organization.objects.filter(slug=options["org"]).first()
        if organization is None:
            raise CommandError(f"no organization with slug {options['org']!r}")
        result = recompute_run(organization_id=organization.pk, full=options["full"])
        if result == "busy":
            raise CommandError("a recompute of this organization is running; try again when it ends")
        self.stdout.write(
            json.dumps({"organization": organization.slug, "full": options["full"], "result": result})
        )
