from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from cxm.tenancy.models import Organization
from journeys.imports import import_job_create, import_job_run, import_kind_choices
from journeys.models import ImportJob, ImportStatus


def _chunks(path: Path, size: int = 1024 * 1024) -> Any:
    with path.open("rb") as handle:
        while chunk := handle.read(size):
            yield chunk


class Command(BaseCommand):
    help = (
        "Import customers, interactions, transactions or survey responses from a CSV file (columns: see README). "
        "Runs as a Celery task on the `imports` queue when a broker is configured, in-process otherwise."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", required=True, help="Organization slug.")
        parser.add_argument("--kind", required=True, choices=[kind for kind, _label in import_kind_choices()])
        parser.add_argument("file", help="Path of the CSV file (UTF-8, header row).")
        parser.add_argument(
            "--skip-bad-rows",
            action="store_true",
            help="Import the good rows and skip bad ones (default: all or nothing).",
        )

    def _progress(self, job: ImportJob) -> None:
        width = 30
        if job.status == ImportStatus.VALIDATING:
            line = f"validating… {job.total:,} rows read, {job.error_count:,} bad"
        else:
            filled = int(width * job.percent / 100)
            line = f"[{'#' * filled}{'.' * (width - filled)}] {job.percent:3d}%  {job.processed:,}/{job.total:,} rows"
        self.stdout.write(f"\r{line}", ending="")
        self.stdout.flush()

    def handle(self, *args: Any, **options: Any) -> None:
        organization = Organization.objects.filter(slug=options["org"]).first()
        if organization is None:
            raise CommandError(f"No organization with slug {options['org']!r}.")
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        in_process = bool(getattr(settings, "CELERY_TASK_ALWAYS_EAGER", True))
        job = import_job_create(
            organization=organization,
            kind=options["kind"],
            chunks=_chunks(path),
            original_name=path.name,
            skip_bad_rows=options["skip_bad_rows"],
            enqueue=not in_process,
        )
        self.stdout.write(f"Import job {job.pk}: {job.kind} from {path.name}")
        if in_process:
            job = import_job_run(job_id=job.pk, on_progress=self._progress)
        else:
            while not job.is_finished:
                time.sleep(0.5)
                job.refresh_from_db()
                self._progress(job)
        self._progress(job)
        self.stdout.write("")
        for error in job.errors[:50]:
            self.stdout.write(f"  line {error['line']}: {error['reason']}")
        if job.error_count > 50:
            self.stdout.write(f"  … and {job.error_count - 50} more bad rows")
        if job.status == ImportStatus.DONE:
            self.stdout.write(self.style.SUCCESS(job.message))
        else:
            raise CommandError(job.message)
