"""CSV import of customers, interactions and transactions (and kinds higher layers register, such
as survey responses), streamed from a file in batches.

The file is read twice and never held in memory: the first pass counts and validates every row (so
an all-or-nothing import writes nothing when any row is bad), the second writes batches of
BATCH_SIZE rows through the same code as the bulk API. Writes are idempotent (customers by external
id, interactions by id, orders by order id), so a task that runs twice creates nothing new.

Each batch commits together with the job's checkpoint (the last line written and the counts so far),
so a run that dies (a killed worker) is resumed after its last committed batch. The job row is the
truth and the broker message only a nudge: `import_jobs_sweep` (beat) sends again the jobs whose
message never reached the broker, or was lost, and resumes the jobs that stopped making progress;
after MAX_ATTEMPTS restarts it fails them with a reason.
"""

from __future__ import annotations

import csv
import logging
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from cxm.tenancy.models import Organization

from .ingest import (
    CLEANERS,
    FIELDS_BY_KIND,
    REQUIRED_BY_KIND,
    CleanContext,
    IngestResult,
    RecordInvalid,
    notify_customer_data_changed,
    write_clean_rows,
)
from .models import ImportJob, ImportKind, ImportStatus

logger = logging.getLogger(__name__)

BATCH_SIZE = settings.IMPORT_BATCH_SIZE
MAX_STORED_ERRORS = 1_000
ProgressCallback = Callable[[ImportJob], None]
# A run whose heartbeat is older than this is taken for dead (a batch takes seconds, not minutes).
STALLED_AFTER = timedelta(minutes=10)
# A job whose task message never reached the broker is sent again after this long (the upload's own
# send happens on commit; this leaves it time).
UNSENT_AFTER = timedelta(minutes=1)
# A job queued this long after its message was sent, and never started, is sent again (the message
# was lost, e.g. Redis restarted without persistence). A duplicate message is harmless.
REQUEUE_AFTER = timedelta(minutes=30)
# Restarts of a stalled run before the job is failed.
MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class ImportKindHandler:
    """How one kind of file is checked, cleaned and written. Higher layers (surveys) register their
    own kinds with `import_kind_register`, since journeys cannot import them."""

    label: Any
    # The header's problem (unknown or missing columns), or None.
    check_header: Callable[[Organization, list[str]], str | None]
    # What cleaning needs, loaded once per pass (touchpoints, surveys…).
    context: Callable[[Organization], Any]
    # A record (empty cells left out) -> a clean row; raises RecordInvalid.
    clean: Callable[[dict[str, str], Any], Any]
    # Writes clean rows in one transaction, counting into the result, without telling anyone.
    write: Callable[[Organization, Sequence[Any], IngestResult], None]
    # Tells higher layers, after commit, that the import changed data.
    notify: Callable[[Organization], None]
    # The parts of the summary after "N row(s) imported".
    summary: Callable[[IngestResult], list[str]]
    # The columns, for the import page ("* required").
    columns_help: Any = ""


_REGISTERED_KINDS: dict[str, ImportKindHandler] = {}


def import_kind_register(*, kind: str, handler: ImportKindHandler) -> None:
    if len(kind) > ImportJob._meta.get_field("kind").max_length:  # type: ignore[operator]
        raise ValueError(f"import kind {kind!r} is too long")
    _REGISTERED_KINDS[kind] = handler


def _builtin_header(kind: str) -> Callable[[Organization, list[str]], str | None]:
    def check(organization: Organization, header: list[str]) -> str | None:
        return header_problem(header, allowed=FIELDS_BY_KIND[kind], required=REQUIRED_BY_KIND[kind])

    return check


def _builtin_summary(kind: str) -> Callable[[IngestResult], list[str]]:
    def summary(result: IngestResult) -> list[str]:
        if kind == ImportKind.CUSTOMERS:
            return [
                _("%(count)s new") % {"count": result.created},
                _("%(count)s updated") % {"count": result.updated},
            ]
        return [
            _("%(count)s new") % {"count": result.created},
            _("%(count)s already stored") % {"count": result.duplicates},
            _("%(count)s new customer(s)") % {"count": result.customers_created},
        ]

    return summary


def _builtin_handler(kind: str, label: Any) -> ImportKindHandler:
    def write(organization: Organization, rows: Sequence[Any], result: IngestResult) -> None:
        write_clean_rows(organization=organization, kind=kind, rows=rows, result=result, notify=False)

    def notify(organization: Organization) -> None:
        with transaction.atomic():
            notify_customer_data_changed(organization_id=organization.pk, kind=kind)

    return ImportKindHandler(
        label=label,
        check_header=_builtin_header(kind),
        context=lambda organization: CleanContext.load(organization, from_csv=True),
        clean=CLEANERS[kind],
        write=write,
        notify=notify,
        summary=_builtin_summary(kind),
    )


def import_kind_handler(kind: str) -> ImportKindHandler:
    if kind in _REGISTERED_KINDS:
        return _REGISTERED_KINDS[kind]
    if kind in ImportKind.values:
        return _builtin_handler(kind, ImportKind(kind).label)
    raise ValueError(f"unknown kind {kind!r}")


def import_kind_choices() -> list[tuple[str, Any]]:
    """Every kind a file can hold: journeys' own, then the registered ones."""
    return [*ImportKind.choices, *((kind, handler.label) for kind, handler in _REGISTERED_KINDS.items())]


def registered_kinds_help() -> list[tuple[Any, Any]]:
    """(label, columns) of the kinds other apps registered, for the import page."""
    return [(handler.label, handler.columns_help) for handler in _REGISTERED_KINDS.values()]


def header_problem(header: list[str], *, allowed: Sequence[str], required: Sequence[str]) -> str | None:
    """The message for a header with unknown or missing columns (None when it is fine)."""
    unknown = [name for name in header if name not in allowed]
    if unknown:
        return _("Unknown column(s): %(columns)s. Allowed: %(allowed)s.") % {
            "columns": ", ".join(unknown),
            "allowed": ", ".join(allowed),
        }
    missing = [name for name in required if name not in header]
    if missing:
        return _("Missing required column(s): %(columns)s.") % {"columns": ", ".join(missing)}
    return None


def imports_directory() -> Path:
    directory = Path(settings.VAR_DIR) / "imports"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def import_job_create(
    *,
    organization: Organization,
    kind: str,
    chunks: Iterable[bytes],
    original_name: str = "",
    skip_bad_rows: bool = False,
    created_by: Any = None,
    enqueue: bool = True,
) -> ImportJob:
    """Saves the uploaded file under VAR_DIR/imports (chunk by chunk) and queues its import after commit."""
    import_kind_handler(kind)  # raises for an unknown kind
    path = imports_directory() / f"{uuid.uuid4().hex}.csv"
    with path.open("wb") as target:
        for chunk in chunks:
            target.write(chunk)
    job = ImportJob.objects.create(
        organization=organization,
        kind=kind,
        skip_bad_rows=skip_bad_rows,
        file_path=str(path),
        original_name=original_name[:255],
        created_by=created_by if getattr(created_by, "is_authenticated", False) else None,
        language=translation.get_language() or settings.LANGUAGE_CODE,
    )
    if enqueue:
        transaction.on_commit(lambda: import_job_dispatch(job_id=job.pk))
    return job


def import_job_dispatch(*, job_id: int) -> bool:
    """Sends the job's task to the broker and notes when. With the broker down the job stays queued
    (its message says so) and `import_jobs_sweep` sends it once the broker is back. True if sent."""
    from kombu.exceptions import OperationalError as BrokerUnreachable

    from .tasks import import_csv_file

    try:
        # The web process never waits for an import's result: no result subscription to set up.
        import_csv_file.apply_async((job_id,), ignore_result=True)
    except BrokerUnreachable as exc:
        logger.warning("import job %s: the broker is unreachable (%s); it stays queued", job_id, exc)
        job = ImportJob.objects.unscoped().filter(pk=job_id, status=ImportStatus.QUEUED).first()
        if job is not None:
            with translation.override(job.language or settings.LANGUAGE_CODE):
                job.message = _(
                    "Queued. The task queue cannot be reached right now; the import starts as soon as it is back."
                )
            job.save(update_fields=["message"])
        return False
    ImportJob.objects.unscoped().filter(pk=job_id).update(dispatched_at=timezone.now())
    return True


def import_jobs_sweep(
    *, now: datetime | None = None, dispatch: Callable[[int], bool] | None = None
) -> dict[str, int]:
    """Finds the jobs nothing is working on and sends them again (see the module's docstring):
    queued jobs never sent or sent long ago, and runs that stopped making progress (resumed from
    their checkpoint, at most MAX_ATTEMPTS times, then failed with a reason)."""
    now = now or timezone.now()
    send = dispatch or (lambda job_id: import_job_dispatch(job_id=job_id))
    counts = {"sent": 0, "resumed": 0, "failed": 0}
    queued = (
        ImportJob.objects.unscoped()
        .filter(status=ImportStatus.QUEUED)
        .filter(
            Q(dispatched_at__isnull=True, created_at__lt=now - UNSENT_AFTER)
            | Q(dispatched_at__lt=now - REQUEUE_AFTER)
        )
    )
    for job_id in queued.values_list("pk", flat=True):
        counts["sent"] += send(job_id)
    stalled = ImportJob.objects.unscoped().filter(
        Q(status__in=[ImportStatus.VALIDATING, ImportStatus.IMPORTING]),
        Q(heartbeat_at__lt=now - STALLED_AFTER) | Q(heartbeat_at__isnull=True),
        Q(dispatched_at__lt=now - STALLED_AFTER) | Q(dispatched_at__isnull=True),
    )
    for job in stalled:
        logger.warning(
            "import job %s stalled: no progress since %s (attempt %s)", job.pk, job.heartbeat_at, job.attempts
        )
        if job.attempts >= MAX_ATTEMPTS:
            _give_up(job, now)
            counts["failed"] += 1
        elif send(job.pk):
            # The send counts as a dispatch: the next sweep leaves the job alone for STALLED_AFTER.
            ImportJob.objects.unscoped().filter(pk=job.pk).update(
                attempts=job.attempts + 1, dispatched_at=now
            )
            counts["resumed"] += 1
    return counts


def _give_up(job: ImportJob, now: datetime) -> None:
    with translation.override(job.language or settings.LANGUAGE_CODE):
        message = _(
            "The import stopped making progress %(count)s times (the worker running it was lost) and "
            "was given up after %(row)s row(s). Those rows are stored; import the file again to add "
            "the rest (rows already stored are not duplicated)."
        ) % {"count": job.attempts + 1, "row": job.checkpoint.get("processed", 0)}
    ImportJob.objects.unscoped().filter(
        pk=job.pk, status__in=[ImportStatus.VALIDATING, ImportStatus.IMPORTING]
    ).update(status=ImportStatus.FAILED, message=message, finished_at=now)


def _rows(path: str) -> Iterator[tuple[int, dict[str, str], list[str]]]:
    """(line number, record without empty cells, header) for each data row."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header = [name.strip() for name in next(reader, [])]
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue
            record = {name: cell for name, cell in zip(header, cells, strict=False) if cell.strip() != ""}
            if len(cells) > len(header):
                record["__extra__"] = ""
            yield reader.line_num, record, header


def _check_header(path: str, organization: Organization, handler: ImportKindHandler) -> str | None:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        header = [name.strip() for name in next(csv.reader(handle), [])]
    if not header:
        return _("The file is empty.")
    return handler.check_header(organization, header)


def _clean(handler: ImportKindHandler, record: dict[str, str], ctx: Any) -> Any:
    if "__extra__" in record:
        raise RecordInvalid(None, _("more cells than columns"))
    return handler.clean(record, ctx)


def _save(job: ImportJob, on_progress: ProgressCallback | None, *fields: str) -> None:
    job.heartbeat_at = timezone.now()
    job.save(update_fields=[*fields, "heartbeat_at"])
    if on_progress is not None:
        on_progress(job)


def import_job_run(*, job_id: int, on_progress: ProgressCallback | None = None) -> ImportJob:
    """Runs (or re-runs) an import job to the end. Safe to call twice: finished jobs are left alone.
    Messages and reasons are written in the language of the person who started the import."""
    language = ImportJob.objects.unscoped().filter(pk=job_id).values_list("language", flat=True).first()
    with translation.override(language or settings.LANGUAGE_CODE):
        return _run_job(job_id, on_progress)


def _run_job(job_id: int, on_progress: ProgressCallback | None) -> ImportJob:
    now = timezone.now()
    with transaction.atomic():
        job = ImportJob.objects.unscoped().select_for_update().select_related("organization").get(pk=job_id)
        if job.is_finished:
            return job
        alive = job.heartbeat_at is not None and job.heartbeat_at > now - STALLED_AFTER
        if job.status != ImportStatus.QUEUED and alive:
            return job  # a second message for a run that is making progress elsewhere
        job.status = ImportStatus.VALIDATING
        job.started_at = job.started_at or now
        job.heartbeat_at = now
        job.total = job.processed = job.created_count = job.error_count = 0
        job.errors = []
        job.message = ""
        job.save()
    try:
        return _run(job, on_progress)
    except Exception as exc:
        job.status = ImportStatus.FAILED
        job.message = _("The import stopped: %(error)s") % {"error": exc}
        job.finished_at = timezone.now()
        _save(job, on_progress, "status", "message", "finished_at")
        raise


CHECKPOINT_COUNTS = ("created", "updated", "duplicates", "customers_created")


def _commit_batch(
    job: ImportJob,
    handler: ImportKindHandler,
    batch: list[Any],
    line: int,
    result: IngestResult,
    on_progress: ProgressCallback | None,
) -> None:
    """Writes one batch and the job's checkpoint (rows up to `line` are stored) in one transaction."""
    with transaction.atomic():
        handler.write(job.organization, batch, result)
        job.processed += len(batch)
        job.created_count = result.created + result.updated
        job.checkpoint = {
            "line": line,
            "processed": job.processed,
            **{name: getattr(result, name) for name in CHECKPOINT_COUNTS},
        }
        _save(job, None, "processed", "created_count", "checkpoint")
    if on_progress is not None:
        on_progress(job)


def _run(job: ImportJob, on_progress: ProgressCallback | None) -> ImportJob:
    organization = job.organization
    handler = import_kind_handler(job.kind)
    problem = _check_header(job.file_path, organization, handler)
    if problem:
        job.status, job.message, job.finished_at = ImportStatus.FAILED, problem, timezone.now()
        _save(job, on_progress, "status", "message", "finished_at")
        return job
    ctx = handler.context(organization)
    # Pass 1: count and validate; keep the first bad rows with their line numbers.
    bad_lines: set[int] = set()
    for line, record, _header in _rows(job.file_path):
        job.total += 1
        try:
            _clean(handler, record, ctx)
        except RecordInvalid as exc:
            bad_lines.add(line)
            job.error_count += 1
            if len(job.errors) < MAX_STORED_ERRORS:
                job.errors.append({"line": line, "field": exc.field, "reason": exc.reason})
        if job.total % BATCH_SIZE == 0:
            job.processed = job.total
            _save(job, on_progress, "total", "processed", "error_count", "errors")
    job.processed = 0
    if job.error_count and not job.skip_bad_rows:
        job.status = ImportStatus.FAILED
        job.message = _("%(count)s bad row(s); nothing was imported.") % {"count": job.error_count}
        job.finished_at = timezone.now()
        _save(
            job,
            on_progress,
            "status",
            "message",
            "finished_at",
            "total",
            "processed",
            "error_count",
            "errors",
        )
        return job
    job.status = ImportStatus.IMPORTING
    _save(job, on_progress, "status", "total", "processed", "error_count", "errors")
    # Pass 2: write the good rows in batches, after the checkpoint of an earlier run if there is one.
    checkpoint = job.checkpoint or {}
    result = IngestResult(**{name: checkpoint.get(name, 0) for name in CHECKPOINT_COUNTS})
    resume_after = checkpoint.get("line", 0)
    job.processed = checkpoint.get("processed", 0)
    batch: list[Any] = []
    line = 0
    for line, record, _header in _rows(job.file_path):
        if line <= resume_after:
            continue
        if line in bad_lines:
            job.processed += 1
            continue
        batch.append(_clean(handler, record, ctx))
        if len(batch) >= BATCH_SIZE:
            _commit_batch(job, handler, batch, line, result, on_progress)
            batch = []
    if batch:
        _commit_batch(job, handler, batch, line, result, on_progress)
    job.processed = job.total
    job.created_count = result.created + result.updated
    job.status = ImportStatus.DONE
    job.finished_at = timezone.now()
    parts = [
        _("%(count)s row(s) imported") % {"count": job.total - job.error_count},
        *handler.summary(result),
    ]
    if job.error_count:
        parts.append(_("%(count)s bad row(s) skipped") % {"count": job.error_count})
    job.message = ", ".join(parts) + "."
    _save(job, on_progress, "status", "processed", "created_count", "finished_at", "message")
    handler.notify(organization)
    return job
