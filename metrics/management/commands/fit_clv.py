from __future__ import annotations

import json
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cxm.tenancy.models import Organization
from metrics.services import clv_fit, clv_model_payload


class Command(BaseCommand):
    help = "Fit the BG/NBD + Gamma-Gamma CLV model of an organization and print it as JSON (as the API does)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", required=True, help="organization slug")
        parser.add_argument("--calibration-end", required=True, help="YYYY-MM-DD, local day included")
        parser.add_argument("--period", choices=["day", "week", "month"], default="week")
        parser.add_argument("--discount-rate", type=float, default=0.1, help="annual, e.g. 0.1")

    def handle(self, *args: Any, **options: Any) -> None:
        organization = Organization.objects.filter(slug=options["org"]).first()
        if organization is None:
            raise CommandError(f"no organization with slug {options['org']!r}")
        try:
            calibration_end = date.fromisoformat(options["calibration_end"])
        except ValueError:
            raise CommandError("--calibration-end must be YYYY-MM-DD")
        try:
            model = clv_fit(
                organization=organization,
                calibration_end=calibration_end,
                period=options["period"],
                annual_discount_rate=options["discount_rate"],
            )
        except ValueError as error:
            raise CommandError(str(error))
        self.stdout.write(json.dumps(clv_model_payload(model), indent=2, sort_keys=True))
