from __future__ import annotations

import json
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cxm.tenancy.models import Organization
from metrics.services import clv_fit, clv_model_payload, clv_score, clv_scores_payload


class Command(BaseCommand):
    help = "Fit the BG/NBD + Gamma-Gamma CLV model of an organization and print it as JSON (as the API does)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", required=True, help="organization slug")
        when = parser.add_mutually_exclusive_group(required=True)
        when.add_argument("--calibration-end", help="YYYY-MM-DD, local day included")
        when.add_argument(
            "--as-of",
            help="YYYY-MM-DD: fit on data up to this local day only and score every customer as of it",
        )
        parser.add_argument(
            "--scores-csv", help="with --as-of: write each customer's scores to this CSV file"
        )
        parser.add_argument("--period", choices=["day", "week", "month"], default="week")
        parser.add_argument("--discount-rate", type=float, default=0.1, help="annual, e.g. 0.1")

    def handle(self, *args: Any, **options: Any) -> None:
        organization = Organization.objects.filter(slug=options["org"]).first()
        if organization is None:
            raise CommandError(f"no organization with slug {options['org']!r}")
        as_of = options["as_of"]
        try:
            calibration_end = date.fromisoformat(as_of or options["calibration_end"])
        except ValueError:
            raise CommandError(f"{'--as-of' if as_of else '--calibration-end'} must be YYYY-MM-DD")
        if options["scores_csv"] and not as_of:
            raise CommandError("--scores-csv needs --as-of")
        try:
            model = clv_fit(
                organization=organization,
                calibration_end=calibration_end,
                period=options["period"],
                annual_discount_rate=options["discount_rate"],
            )
        except ValueError as error:
            raise CommandError(str(error))
        payload = clv_model_payload(model)
        if as_of:
            scores = clv_score(organization=organization, model=model, as_of=calibration_end)
            assert payload is not None
            payload["scores"] = clv_scores_payload(scores=scores, as_of=calibration_end)
            if options["scores_csv"]:
                scores.to_csv(options["scores_csv"], index=False)
        self.stdout.write(json.dumps(payload, indent=2, sort_keys=True))
