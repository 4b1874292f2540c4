from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from cxm.tenancy.models import Organization
from delighted_api.imports import delighted_import
from surveys.models import Survey


class Command(BaseCommand):
    help = (
        "Import a Delighted export: the people or responses CSV, or a JSON-lines file of survey_responses "
        "pages, onto the customers and the responses of a survey. Safe to run again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path")
        parser.add_argument("--organization", required=True, help="the organization's slug")
        parser.add_argument("--survey", required=True, type=int, help="the id of the survey to import into")
        parser.add_argument("--kind", choices=["auto", "people", "responses"], default="auto")

    def handle(self, *args: Any, **options: Any) -> None:
        organization = Organization.objects.filter(slug=options["organization"]).first()
        if organization is None:
            raise CommandError(f"No organization with the slug {options['organization']!r}.")
        survey = Survey.objects.for_organization(organization).filter(pk=options["survey"]).first()
        if survey is None:
            raise CommandError(f"The organization has no survey {options['survey']}.")
        path = Path(options["path"])
        try:
            content = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"Cannot read {path}: {exc}") from exc
        fmt = "jsonl" if path.suffix.lower() in (".jsonl", ".ndjson", ".json") else "csv"
        try:
            result = delighted_import(
                organization=organization, survey=survey, content=content, fmt=fmt, kind=options["kind"]
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        self.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False, indent=2))
