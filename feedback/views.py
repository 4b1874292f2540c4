"""Pages of the text layer: the comment explorer (search, filters, highlighted matches, export and a
manager's corrections), promoting an emerging term to a theme, and the model card. The Text dashboard
itself is a registered dashboard (metrics/dashboards/text.py)."""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cxm.core.spreadsheet import formula_safe
from cxm.tenancy.scoping import organization_required
from cxm.tenancy.tenant import organization_of, request_tenant, tenant_allows
from metrics import selectors as metrics_selectors
from metrics.dashboard_selectors import dashboard_filter_options

from . import page_selectors, selectors, services
from .forms import CorrectionForm, ExplorerForm
from .models import SURVEY_SOURCE, FeedbackChannel, SentimentLabel, TextAnalysis
from .selectors import TextFilters

PAGE_SIZE = 25


def _allows(request: HttpRequest, permission: str) -> bool:
    return tenant_allows(request_tenant(request), permission)


def _explorer_queryset(request: HttpRequest) -> tuple[ExplorerForm, QuerySet[TextAnalysis], list[str]]:
    """The explorer's form and the comments it selects (newest first), with the search's terms."""
    organization = organization_of(request)
    options = dashboard_filter_options(organization=organization)
    form = ExplorerForm(
        request.GET or None,
        taxonomy=selectors.taxonomy_of(organization=organization),
        touchpoints=options["touchpoints"],
        segment_choices=options["segments"],
    )
    data = form.cleaned_data if form.is_valid() else {}
    source = data.get("source") or ""
    segment = data.get("segment") or ""
    filters = TextFilters(
        start=data.get("start"),
        end=data.get("end"),
        touchpoints=(data["touchpoint"],) if data.get("touchpoint") else None,
        channel=data.get("channel") or "",
        source=SURVEY_SOURCE if source == SURVEY_SOURCE else "",
        feedback_channel=source if source in FeedbackChannel.values else "",
        theme=data.get("theme") or "",
        sentiment=data.get("sentiment") or "",
        score_band=data.get("score_band") or "",
        customers=(
            metrics_selectors.segment_customer_ids(organization=organization, segment=segment)
            if segment
            else None
        ),
    )
    query = (data.get("q") or "").strip()
    if query:
        comments = selectors.comment_search(organization=organization, query=query, filters=filters)
        terms = selectors.search_terms(organization=organization, query=query)
    else:
        comments = selectors.comment_list(organization=organization, filters=filters)
        terms = []
    if source in FeedbackChannel.values:
        comments = comments.filter(record__isnull=False)  # a survey sent by email is not an email
    return form, comments.select_related("touchpoint"), terms


def _comment_row(analysis: TextAnalysis, tz: Any) -> dict[str, Any]:
    """What the explorer and the export show of one analysed comment."""
    score: Any
    if analysis.answer_id:
        text = analysis.answer.text  # type: ignore[union-attr]
        response = analysis.response
        score = response.score if response else None
        score_kind = (response.score_kind or "").upper() if response else ""
        source = _("Survey response")
        ref = {"answer": analysis.answer_id, "feedback": ""}
        channel = response.get_channel_display() if response else ""  # type: ignore[attr-defined]
    else:
        record = analysis.record
        assert record is not None
        text = record.text
        score = record.rating
        score_kind = f"/{record.rating_scale}" if record.rating_scale else ""
        source = record.source or record.get_channel_display()  # type: ignore[attr-defined]
        ref = {"answer": "", "feedback": record.external_id}
        channel = record.get_channel_display()  # type: ignore[attr-defined]
    mentions = list(analysis.mentions.all())  # type: ignore[attr-defined]
    return {
        "analysis": analysis,
        "text": text,
        "occurred_at": timezone.localtime(analysis.occurred_at, tz),
        "score": score,
        "score_kind": score_kind,
        "source": source,
        "channel": channel,
        "touchpoint": analysis.touchpoint.name if analysis.touchpoint else "",
        "mentions": mentions,
        "themes": sorted({m.theme for m in mentions}),
        "ref": ref,
    }


@organization_required("view")
def explorer(request: HttpRequest) -> HttpResponse:
    """Every analysed comment, searched (Chinese too) and filtered, matches highlighted, 25 a page."""
    organization = organization_of(request)
    form, comments, terms = _explorer_queryset(request)
    page = Paginator(comments, PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    query = params.urlencode()
    return render(
        request,
        "feedback/explorer.html",
        {
            "nav": "text",
            "form": form,
            "page": page,
            "rows": [_comment_row(analysis, organization.tzinfo) for analysis in page.object_list],
            "terms": terms,
            "query": query,
            "theme_names": page_selectors.theme_names(organization=organization),
            "sentiments": SentimentLabel.choices,
            "can_edit": _allows(request, "edit"),
            "can_export": _allows(request, "export"),
            "status": selectors.text_status(organization=organization),
        },
    )


_EXPORT_HEADERS = (
    "occurred_at",
    "source",
    "channel",
    "touchpoint",
    "language",
    "sentiment",
    "sentiment_score",
    "themes",
    "score",
    "comment",
)


def _export_rows(comments: QuerySet[TextAnalysis], tz: Any) -> Iterator[list[Any]]:
    for analysis in comments.iterator(chunk_size=2000):
        row = _comment_row(analysis, tz)
        yield [
            row["occurred_at"],
            row["source"],
            row["channel"],
            row["touchpoint"],
            analysis.language,
            analysis.sentiment,
            round(analysis.score, 3),
            ", ".join(row["themes"]),
            "" if row["score"] is None else row["score"],
            row["text"],
        ]


class _Echo:
    def write(self, value: str) -> str:
        return value


@organization_required("export")
def explorer_export(request: HttpRequest, fmt: str) -> HttpResponseBase:
    """The explorer's filtered comments as CSV (streamed) or XLSX (written row by row)."""
    if fmt not in ("csv", "xlsx"):
        raise Http404
    organization = organization_of(request)
    _form, comments, _terms = _explorer_queryset(request)
    rows = _export_rows(comments, organization.tzinfo)
    stamp = timezone.localtime(timezone.now(), organization.tzinfo).strftime("%Y%m%d-%H%M")
    if fmt == "csv":
        writer = csv.writer(_Echo())

        def stream() -> Iterator[str]:
            yield "\ufeff" + writer.writerow(_EXPORT_HEADERS)
            for row in rows:
                row[0] = row[0].isoformat()
                yield writer.writerow([formula_safe(v) for v in row])

        response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="comments-{stamp}.csv"'
        return response
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("comments")
    sheet.append(list(_EXPORT_HEADERS))
    for row in rows:
        row[0] = row[0].replace(tzinfo=None)
        sheet.append([formula_safe(v) for v in row])
    handle, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(handle)
    workbook.save(path)
    workbook_file = open(path, "rb")  # noqa: SIM115  (FileResponse closes it)
    os.unlink(path)
    return FileResponse(
        workbook_file,
        as_attachment=True,
        filename=f"comments-{stamp}.xlsx",
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


def _back(request: HttpRequest, default: str) -> HttpResponse:
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = default
    return redirect(target or default)


@require_POST
@organization_required("edit")
def comment_correct(request: HttpRequest) -> HttpResponse:
    """A manager corrects one comment's sentiment and/or themes (the correction service)."""
    organization = organization_of(request)
    form = CorrectionForm(request.POST, taxonomy=selectors.taxonomy_of(organization=organization))
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
        return _back(request, reverse("feedback:explorer"))
    analysis = selectors.comment_analysis(
        organization=organization,
        answer_id=form.cleaned_data.get("answer"),
        record_external_id=form.cleaned_data.get("feedback") or None,
    )
    if analysis is None:
        raise Http404
    try:
        services.correction_create(
            organization=organization,
            analysis=analysis,
            sentiment=form.cleaned_data.get("sentiment") or "",
            themes=form.themes_changed(),
            actor=request.user,
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Correction saved. The model learns from it."))
    return _back(request, reverse("feedback:explorer"))


@require_POST
@organization_required("edit")
def term_promote(request: HttpRequest) -> HttpResponse:
    """An emerging term becomes a theme of the taxonomy (one click from the Text dashboard)."""
    term = request.POST.get("term", "")
    try:
        services.taxonomy_term_promote(organization=organization_of(request), term=term)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            _("“%(term)s” is now a theme. Comments are analysed again in the background.") % {"term": term},
        )
    return _back(request, reverse("dashboard-text"))


def _published_card() -> dict[str, Any]:
    try:
        from .text.model_card import model_card
    except ImportError:
        return {}
    return dict(model_card())


@organization_required("view")
def model_card(request: HttpRequest) -> HttpResponse:
    """Which models and data (sources and licences), their measured accuracy and throughput, the
    organization's own accuracy from its corrections, and the state of the analysis."""
    organization = organization_of(request)
    status = selectors.text_status(organization=organization)
    card = _published_card()
    accuracy = [
        {"language": language, "split": split, **figures}
        for language, splits in sorted((card.get("accuracy") or {}).items())
        for split, figures in sorted(splits.items())
    ]
    return render(
        request,
        "feedback/model_card.html",
        {
            "nav": "text",
            "card": card,
            "accuracy": accuracy,
            "throughput": card.get("throughput") or {},
            "own": asdict(selectors.own_accuracy(organization=organization)),
            "status": status,
            "progress": (status["done"] / status["total"]) if status.get("total") else None,
            "analysed": page_selectors.analysed_count(organization=organization),
        },
    )
