"""CSV import of unsolicited feedback (kind `feedback`), through journeys' import machinery, with the
same cleaner and writer as the bulk API (`feedback.ingest`)."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cxm.tenancy.models import Organization
from journeys.imports import ImportKindHandler, header_problem, import_kind_register
from journeys.ingest import CleanContext, IngestResult

from .ingest import FIELDS, REQUIRED, FeedbackRow, clean_feedback, feedback_rows_write

KIND = "feedback"


def _write(organization: Organization, rows: Sequence[FeedbackRow], result: IngestResult) -> None:
    feedback_rows_write(organization=organization, rows=rows, result=result)


def _summary(result: IngestResult) -> list[str]:
    return [
        _("%(count)s new") % {"count": result.created},
        _("%(count)s already stored") % {"count": result.duplicates},
        _("%(count)s new customer(s)") % {"count": result.customers_created},
    ]


def register() -> None:
    import_kind_register(
        kind=KIND,
        handler=ImportKindHandler(
            label=gettext_lazy("Feedback (reviews, tickets, chats)"),
            check_header=lambda organization, header: header_problem(
                header, allowed=FIELDS, required=REQUIRED
            ),
            context=lambda organization: CleanContext.load(organization, from_csv=True),
            clean=clean_feedback,
            write=_write,
            notify=lambda organization: None,  # each batch queued the analysis after its commit
            summary=_summary,
            columns_help=gettext_lazy(
                "id*, text*, channel* (app_store, review_site, social, ticket, chat, call_note, email, other), "
                "occurred_at*, source, customer_external_id, touchpoint (key), rating, rating_scale, language, "
                "properties (JSON)"
            ),
        ),
    )
