from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from cxm.tenancy.models import Organization
from feedback import services
from feedback.models import TextSettings
from feedback.tasks import backfill_text


class Command(BaseCommand):
    help = (
        "Analyse every comment (open-text answers and feedback records) not yet analysed in the current "
        "version, for one organization or all. In-process without a broker, else as a task on a worker."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", help="Organization slug (default: every organization).")
        parser.add_argument("--batch-size", type=int, default=services.BATCH_SIZE)

    def _progress(self, organization: Organization) -> None:
        row = TextSettings.objects.for_organization(organization).first()
        total, done = (row.progress_total, min(row.progress_done, row.progress_total)) if row else (0, 0)
        width = 30
        percent = int(100 * done / total) if total else 100
        filled = int(width * percent / 100)
        self.stdout.write(
            f"\r{organization.slug}: [{'#' * filled}{'.' * (width - filled)}] {percent:3d}%  {done:,}/{total:,} comments",
            ending="",
        )
        self.stdout.flush()

    def handle(self, *args: Any, **options: Any) -> None:
        organizations = Organization.objects.order_by("pk")
        if options["org"]:
            organizations = organizations.filter(slug=options["org"])
            if not organizations.exists():
                raise CommandError(f"No organization with slug {options['org']!r}.")
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.")
        in_process = bool(getattr(settings, "CELERY_TASK_ALWAYS_EAGER", True))
        for organization in organizations:
            if in_process:
                services.text_backfill_start(organization_id=organization.pk)
                while True:
                    outcome = services.text_pending_analyse(
                        organization_id=organization.pk, batch_size=options["batch_size"], max_batches=1
                    )
                    self._progress(organization)
                    if not outcome["left"]:
                        break
            else:
                backfill_text.delay(organization.pk)
                row = services.text_settings_get(organization=organization)
                while True:
                    time.sleep(1.0)
                    row.refresh_from_db()
                    self._progress(organization)
                    if row.finished_at is not None and not row.reanalysing:
                        break
            self._progress(organization)
            self.stdout.write("")
        self.stdout.write(self.style.SUCCESS("Done."))
