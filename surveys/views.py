"""Pages: the builder and response list for managers; the link survey and unsubscribe for customers."""

from __future__ import annotations

import csv
import os
import tempfile
import uuid
from collections.abc import Iterator
from typing import Any

import segno
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from cxm.core.spreadsheet import formula_safe
from cxm.tenancy.scoping import (
    check_permission,
    organization_required,
    scoped,
    scoped_get_or_404,
    unscoped_queryset,
)
from cxm.tenancy.tenant import organization_of
from journeys import selectors as journeys_selectors
from journeys.services import customer_resolve
from metrics import selectors as metrics_selectors

from . import exports, selectors, services
from .collection import rules, write
from .content import TEMPLATES, localised, pick_language, scale_labels
from .emails import survey_url
from .forms import (
    CHOICE_KINDS,
    CustomerPickerForm,
    InviteForm,
    OptionFormSet,
    QrForm,
    QuestionForm,
    ResponseFilterForm,
    SurveyForm,
    option_initial,
)
from .models import (
    CHANNELS,
    Invitation,
    InvitationStatus,
    Question,
    QuestionKind,
    Response,
    ResponseChannel,
    Survey,
    SurveyStatus,
)

STATUS_BADGE = {"active": "ok", "paused": "warn", "closed": "bad", "draft": ""}


def _count(model: Any, field: str) -> Subquery:
    rows = (
        model.objects.unscoped()  # correlated to the outer, scoped survey
        .filter(**{field: OuterRef("pk")})
        .order_by()
        .values(field)
        .annotate(n=Count("id"))
        .values("n")
    )
    return Coalesce(Subquery(rows, output_field=IntegerField()), 0)  # type: ignore[return-value]


# --- Builder ---------------------------------------------------------------------------------------


@organization_required("view")
def survey_list(request: HttpRequest) -> HttpResponse:
    surveys = (
        scoped(request, Survey)
        .select_related("touchpoint")
        .annotate(
            response_count=_count(Response, "survey"),
            question_count=_count(Question, "survey"),
        )
        .order_by("-created_at")
    )
    return render(
        request,
        "surveys/survey_list.html",
        {"nav": "surveys", "surveys": surveys, "templates": list(TEMPLATES), "badges": STATUS_BADGE},
    )


@organization_required("edit")
def survey_create(request: HttpRequest) -> HttpResponse:
    organization = organization_of(request)
    template = request.POST.get("template")
    if request.method == "POST" and template in TEMPLATES:
        survey = services.survey_create_from_template(
            organization=organization, template=template, language=translation.get_language() or "en"
        )
        messages.success(request, _("Survey created from the template. Review it, then activate it."))
        return redirect("survey-edit", pk=survey.pk)
    form = SurveyForm(request.POST or None, organization=organization)
    if request.method == "POST" and form.is_valid():
        survey = services.survey_create(organization=organization, **form.survey_fields())
        messages.success(request, _("Survey created. Add its questions."))
        return redirect("survey-edit", pk=survey.pk)
    return render(request, "surveys/survey_form.html", {"nav": "surveys", "form": form})


@organization_required("view")
def survey_edit(request: HttpRequest, pk: int) -> HttpResponse:
    survey = scoped_get_or_404(request, Survey.objects.select_related("touchpoint"), pk=pk)
    form = SurveyForm(request.POST or None, instance=survey, organization=organization_of(request))
    if request.method == "POST":
        check_permission(request, "edit")
        if form.is_valid():
            try:
                services.survey_update(survey=survey, **form.survey_fields())
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, _("Survey saved."))
                return redirect("survey-edit", pk=survey.pk)
    questions = list(survey.questions.all())
    by_id = {q.id: q for q in questions}
    for q in questions:
        source = by_id.get(int(q.show_if.get("question") or 0)) if q.show_if else None
        q.condition = (  # type: ignore[attr-defined]
            {"position": source.position + 1, "min": q.show_if.get("min"), "max": q.show_if.get("max")}
            if source
            else None
        )
    return render(
        request,
        "surveys/survey_edit.html",
        {"nav": "surveys", "survey": survey, "form": form, "questions": questions, "badges": STATUS_BADGE},
    )


@organization_required("edit")
def question_edit(request: HttpRequest, pk: int, question_pk: int | None = None) -> HttpResponse:
    survey = scoped_get_or_404(request, Survey, pk=pk)
    question = scoped_get_or_404(request, Question, pk=question_pk, survey=survey) if question_pk else None
    data = request.POST.copy() if request.method == "POST" else None
    adding_row = data is not None and "add_option" in data
    if adding_row and data is not None:
        # Without JavaScript, "Add an option" posts the form back with one more empty row.
        total = data.get("options-TOTAL_FORMS", "0")
        data["options-TOTAL_FORMS"] = str(int(total) + 1 if total.isdigit() else 1)
    form = QuestionForm(data, survey=survey, question=question)
    # Posted rows are read as they are (compared with no initial, an unchanged row still counts).
    options = OptionFormSet(
        data, initial=None if data is not None else option_initial(question), prefix="options"
    )
    options_errors: list[str] = []
    # Only a choice question has options: another kind's rows (or none posted at all) are not checked.
    needs_options = data is not None and data.get("kind") in CHOICE_KINDS
    if data is not None and not adding_row and form.is_valid() and (not needs_options or options.is_valid()):
        try:
            fields = form.question_fields(options=options.options() if needs_options else [])
            if question is None:
                services.question_create(survey=survey, **fields)
            else:
                services.question_update(question=question, **fields)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                if field == "options":
                    options_errors.extend(errors)
                    continue
                target = {"show_if": "show_if_question"}.get(field, field)
                form.add_error(target if target in form.fields else None, errors)
        else:
            messages.success(request, _("Question saved."))
            return redirect("survey-edit", pk=survey.pk)
    return render(
        request,
        "surveys/question_form.html",
        {
            "nav": "surveys",
            "survey": survey,
            "question": question,
            "form": form,
            "options": options,
            "options_errors": options_errors,
            "choice_kinds": [str(k) for k in CHOICE_KINDS],
        },
    )


@require_POST
@organization_required("edit")
def question_action(request: HttpRequest, pk: int, question_pk: int) -> HttpResponse:
    survey = scoped_get_or_404(request, Survey, pk=pk)
    question = scoped_get_or_404(request, Question, pk=question_pk, survey=survey)
    action = request.POST.get("action")
    if action == "up":
        services.question_move(question=question, direction=-1)
    elif action == "down":
        services.question_move(question=question, direction=1)
    elif action == "delete":
        services.question_delete(question=question)
        messages.success(request, _("Question deleted."))
    return redirect("survey-edit", pk=survey.pk)


@require_POST
@organization_required("edit")
def survey_status(request: HttpRequest, pk: int) -> HttpResponse:
    survey = scoped_get_or_404(request, Survey, pk=pk)
    try:
        services.survey_set_status(survey=survey, action=request.POST.get("action", ""))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Survey is now %(status)s.") % {"status": survey.get_status_display()})
    return redirect("survey-edit", pk=survey.pk)


@require_POST
@organization_required("edit")
def survey_duplicate(request: HttpRequest, pk: int) -> HttpResponse:
    survey = scoped_get_or_404(request, Survey, pk=pk)
    copy = services.survey_duplicate(survey=survey)
    messages.success(request, _("Survey duplicated."))
    return redirect("survey-edit", pk=copy.pk)


@organization_required("view")
def survey_preview(request: HttpRequest, pk: int) -> HttpResponse:
    survey = scoped_get_or_404(request, Survey, pk=pk)
    language = pick_language([request.GET.get("lang", "")], list(survey.languages), survey.default_language)
    with translation.override(language):
        context = _link_context(survey, language, request.GET, preview=True)
        context.update({"nav": "surveys", "preview_of": survey})
        return render(request, "surveys/link.html", context)


@organization_required("view")
def survey_share(request: HttpRequest, pk: int) -> HttpResponse:
    survey = scoped_get_or_404(request, Survey, pk=pk)
    organization = organization_of(request)
    # Who can be invited: subscribed customers with an email; the picker narrows them by a search
    # and a metrics segment, a page at a time.
    invitable = journeys_selectors.customer_list(
        organization=organization, filters={"unsubscribed": "false", "erased": "false"}
    ).exclude(email="")
    picker = CustomerPickerForm(
        request.GET or request.POST or None, segment_choices=metrics_selectors.segment_choices()
    )
    matching = invitable
    if picker.is_bound and picker.is_valid():
        if picker.cleaned_data["q"]:
            matching = matching.filter(journeys_selectors.customer_search(picker.cleaned_data["q"]))
        if picker.cleaned_data["segment"]:
            matching = matching.filter(
                id__in=metrics_selectors.segment_customer_ids(
                    organization=organization, segment=picker.cleaned_data["segment"]
                )
            )
    matching = matching.order_by("name", "external_id", "id")
    invite_form = InviteForm(
        request.POST or None,
        organization=organization,
        customer_queryset=invitable,
        matching_queryset=matching,
        initial={"language": survey.default_language},
    )
    if request.method == "POST":
        check_permission(request, "edit")
        if invite_form.is_valid():
            chosen = invite_form.chosen()
            try:
                result = services.invitations_create(
                    survey=survey, customers=chosen, language=invite_form.cleaned_data["language"]
                )
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
            else:
                messages.success(
                    request,
                    _(
                        "%(sent)d invitations queued; %(skipped)d customers skipped (recently surveyed, unsubscribed or no email)."
                    )
                    % {"sent": len(result.invitations), "skipped": len(result.skipped)},
                )
                if result.dispatched is False:
                    messages.warning(
                        request,
                        _(
                            "The task queue cannot be reached right now; the invitations are sent as soon as it is back."
                        ),
                    )
                return redirect("survey-share", pk=survey.pk)
    # The QR form and the customer search share the page's query string: each reads only its own fields.
    qr_bound = bool({"touchpoint", "channel"} & set(request.GET))
    qr_form = QrForm(request.GET if qr_bound else None, organization=organization)
    qr_params = {}
    if qr_form.is_valid():
        tp = qr_form.cleaned_data.get("touchpoint")
        qr_params = {"touchpoint": tp.key if tp else "", "channel": qr_form.cleaned_data["channel"]}
    else:
        qr_params = {"channel": ResponseChannel.QR}
    query = "&".join(f"{k}={v}" for k, v in qr_params.items() if v)
    invitations = (
        Invitation.objects.for_organization(organization)
        .filter(survey=survey)
        .select_related("customer")
        .order_by("-created_at")[:50]
    )
    status_labels = dict(InvitationStatus.choices)
    counts = [
        (str(status_labels.get(status, status)), n)
        for status, n in Invitation.objects.for_organization(organization)
        .filter(survey=survey)
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
        .order_by("status")
    ]
    customer_page = Paginator(matching, 50).get_page(request.GET.get("page"))
    picker_query = urlencode(
        {k: v for k, v in (picker.data.items() if picker.is_bound else []) if k in ("q", "segment") and v}
    )
    return render(
        request,
        "surveys/survey_share.html",
        {
            "nav": "surveys",
            "survey": survey,
            "link": survey_url(public_id=survey.public_id),
            "qr_link": survey_url(public_id=survey.public_id, **qr_params),
            "qr_query": query,
            "embed_src": settings.SITE_URL + "/static/cxm/embed.js",
            "invite_form": invite_form,
            "picker": picker,
            "picker_query": picker_query,
            "qr_form": qr_form,
            "invitations": invitations,
            "invitation_counts": counts,
            "customer_page": customer_page,
            "selected_ids": {str(v) for v in invite_form["customers"].value() or []},
        },
    )


@organization_required("view")
def survey_qr(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    """The QR code of the link survey, touchpoint and channel baked into the URL."""
    if fmt not in ("svg", "png"):
        raise Http404
    survey = scoped_get_or_404(request, Survey, pk=pk)
    form = QrForm(request.GET or None, organization=organization_of(request))
    params: dict[str, str] = {"channel": ResponseChannel.QR}
    if request.GET and form.is_valid():
        tp = form.cleaned_data.get("touchpoint")
        params = {"touchpoint": tp.key if tp else "", "channel": form.cleaned_data["channel"]}
    elif request.GET:
        raise Http404
    url = survey_url(public_id=survey.public_id, **params)
    qr = segno.make(url, error="m")
    import io

    buffer = io.BytesIO()
    if fmt == "svg":
        qr.save(buffer, kind="svg", scale=8, border=2, title=survey.name)
        content_type = "image/svg+xml"
    else:
        qr.save(buffer, kind="png", scale=10, border=2)
        content_type = "image/png"
    response = HttpResponse(buffer.getvalue(), content_type=content_type)
    if request.GET.get("download"):
        response["Content-Disposition"] = f'attachment; filename="survey-{survey.public_id}.{fmt}"'
    return response


# --- Responses ------------------------------------------------------------------------------------


def _filtered_responses(request: HttpRequest) -> tuple[ResponseFilterForm, Any]:
    organization = organization_of(request)
    form = ResponseFilterForm(request.GET or None, organization=organization)
    filters = form.filters(organization.tzinfo) if request.GET else {}
    return form, selectors.responses_filtered(organization=organization, filters=filters)


@organization_required("view")
def response_list(request: HttpRequest) -> HttpResponse:
    form, responses = _filtered_responses(request)
    page = Paginator(
        responses.select_related("survey", "touchpoint", "customer").order_by("-submitted_at", "-id"), 50
    ).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "surveys/response_list.html",
        {"nav": "surveys", "form": form, "page": page, "query": query.urlencode()},
    )


@organization_required("view")
def response_detail(request: HttpRequest, pk: int) -> HttpResponse:
    response = scoped_get_or_404(
        request, Response.objects.select_related("survey", "touchpoint", "customer"), pk=pk
    )
    answers = list(response.answers.select_related("question").order_by("question__position"))
    language = translation.get_language() or "en"
    for a in answers:
        a.question_text = localised(a.question.text, language, response.survey.default_language)  # type: ignore[attr-defined]
    return render(
        request, "surveys/response_detail.html", {"nav": "surveys", "response": response, "answers": answers}
    )


_safe_cell = formula_safe  # a customer's comment must stay text in a spreadsheet


class _Echo:
    def write(self, value: str) -> str:
        return value


@organization_required("export")
def response_export(request: HttpRequest, fmt: str) -> HttpResponseBase:
    """CSV or XLSX of the filtered responses, streamed: rows are read in chunks, never all at once.
    One column per question of the exported surveys; times in the organization's zone (CSV: ISO 8601
    with the offset; XLSX: real dates, which Excel keeps without a zone)."""
    if fmt not in ("csv", "xlsx"):
        raise Http404
    organization = organization_of(request)
    _form, responses = _filtered_responses(request)
    columns = exports.question_columns(responses=responses, language=translation.get_language() or "en")
    rows = exports.export_rows(responses=responses, columns=columns, tz=organization.tzinfo)
    stamp = timezone.localtime(timezone.now(), organization.tzinfo).strftime("%Y%m%d-%H%M")
    if fmt == "csv":
        writer = csv.writer(_Echo())

        def stream() -> Iterator[str]:
            yield "\ufeff" + writer.writerow(exports.export_headers(columns=columns))
            for row in rows:
                row[1] = row[1].isoformat()
                yield writer.writerow([_safe_cell(v) for v in row])

        response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="responses-{stamp}.csv"'
        return response
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("responses")
    sheet.append(exports.export_headers(columns=columns, time_zone=organization.time_zone))
    for row in rows:
        submitted = WriteOnlyCell(sheet, value=row[1].replace(tzinfo=None))
        submitted.number_format = "yyyy-mm-dd hh:mm:ss"
        cells = [_safe_cell(v) for v in row]
        cells[1] = submitted
        sheet.append(cells)
    handle, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(handle)
    workbook.save(path)
    workbook_file = open(path, "rb")  # noqa: SIM115  (FileResponse closes it)
    os.unlink(path)  # the open handle keeps the data until the download ends
    return FileResponse(
        workbook_file,
        as_attachment=True,
        filename=f"responses-{stamp}.xlsx",
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


# --- Public pages ---------------------------------------------------------------------------------


def _link_context(
    survey: Survey,
    language: str,
    params: Any,
    preview: bool = False,
    values: dict[int, Any] | None = None,
    errors: dict[str, str] | None = None,
) -> dict[str, Any]:
    questions = []
    primary_seen = False
    values = values or {}
    for q in survey.questions.all():
        low_high = q.score_range()
        value = values.get(q.id)
        if value is None and low_high and not primary_seen:
            raw = params.get("score", "")
            if raw.lstrip("-").isdigit() and low_high[0] <= int(raw) <= low_high[1]:
                value = int(raw)
        if low_high:
            primary_seen = True
        questions.append(
            {
                "id": q.id,
                "kind": q.kind,
                "text": localised(q.text, language, survey.default_language),
                "required": q.required,
                "scale": list(range(low_high[0], low_high[1] + 1)) if low_high else [],
                "labels": scale_labels(q.kind, language) if low_high else ("", ""),
                "options": [
                    {
                        "value": o.get("value"),
                        "label": localised(o.get("label"), language, survey.default_language)
                        or o.get("value"),
                    }
                    for o in q.options
                ],
                "show_if": q.show_if or None,
                "value": value,
                "error": (errors or {}).get(str(q.id)),
                "is_choice": q.kind in (QuestionKind.SINGLE_CHOICE, QuestionKind.MULTIPLE_CHOICE),
                "multiple": q.kind == QuestionKind.MULTIPLE_CHOICE,
                "is_text": q.kind == QuestionKind.TEXT,
            }
        )
    hidden = {
        k: params.get(k, "")[:200] for k in ("customer", "signature", "touchpoint", "order", "channel", "inv")
    }
    return {
        "survey": survey,
        "language": language,
        "languages": survey.languages,
        "questions": questions,
        "hidden": hidden,
        "idempotency_key": params.get("idempotency_key") or uuid.uuid4().hex,
        "preview": preview,
        "body_class": "survey-page",
    }


def _form_answers(survey: Survey, post: Any) -> dict[int, Any]:
    answers: dict[int, Any] = {}
    for q in survey.questions.all():
        name = f"q{q.id}"
        if q.kind == QuestionKind.MULTIPLE_CHOICE:
            values = post.getlist(name)
            if values:
                answers[q.id] = values
            continue
        raw = post.get(name, "")
        if raw == "":
            continue
        if q.score_range() is not None:
            answers[q.id] = int(raw) if raw.lstrip("-").isdigit() else raw
        else:
            answers[q.id] = raw
    return answers


def survey_link(request: HttpRequest, public_id: str) -> HttpResponse:
    """The link survey: works without JavaScript; nothing is recorded until the customer submits."""
    survey = selectors.public_survey(public_id=public_id)  # not of the public-id form: no lookup
    if survey is None:
        raise Http404
    source = request.POST if request.method == "POST" else request.GET
    language = pick_language(
        [source.get("lang", ""), translation.get_language() or ""],
        list(survey.languages),
        survey.default_language,
    )
    with translation.override(language):
        if survey.status != SurveyStatus.ACTIVE:
            return render(
                request,
                "surveys/link_closed.html",
                {"survey": survey, "body_class": "survey-page"},
                status=410,
            )
        invitation = None
        token = source.get("inv", "")
        if token:
            invitation = (
                unscoped_queryset(Invitation)
                .select_related("customer")
                .filter(token=token[:64], survey=survey)
                .first()
            )
        params = source.copy()
        if invitation is not None:
            params.pop("idempotency_key", None)  # the service keys the answer by the invitation itself
        if request.method != "POST":
            values = {}
            if invitation is not None and invitation.response is not None:
                values = {
                    a.question_id: (a.number if a.number is not None else (a.choices or a.text))
                    for a in invitation.response.answers.all()
                }
                if params.get("score", ""):
                    # The score the customer just clicked in the email wins over the one they sent
                    # before (each link of the email's row names its score).
                    primary = next((q for q in survey.questions.all() if q.score_range()), None)
                    if primary is not None:
                        values.pop(primary.id, None)
            return render(
                request, "surveys/link.html", _link_context(survey, language, params, values=values)
            )
        answers = _form_answers(survey, request.POST)
        hidden = {k: request.POST.get(k, "")[:200] for k in ("order",) if request.POST.get(k)}
        touchpoint_key = request.POST.get("touchpoint") or None
        if (
            touchpoint_key
            and selectors.touchpoint_id_for_key(organization_id=survey.organization_id, key=touchpoint_key)
            is None
        ):
            # A stale QR code or link must not cost the customer their answer: keep the key as a field.
            hidden["touchpoint"] = touchpoint_key[:200]
            touchpoint_key = None
        channel = request.POST.get("channel") or (
            ResponseChannel.EMAIL if invitation else ResponseChannel.LINK
        )
        if channel not in CHANNELS:
            channel = ResponseChannel.LINK
        try:
            snapshot = selectors.survey_snapshot(public_id=survey.public_id)
            assert snapshot is not None
            customer = invitation.customer if invitation else None
            if invitation is None and request.POST.get("customer"):
                # `?customer=` counts only with its `&signature=` (see cxm.tenancy.identity).
                reference = rules.customer_reference_signed(
                    snapshot=snapshot,
                    reference={
                        "id": request.POST.get("customer"),
                        "signature": request.POST.get("signature", ""),
                    },
                )
                customer = customer_resolve(organization_id=survey.organization_id, reference=reference)
            write.response_submit(
                snapshot=snapshot,
                answers=answers,
                customer=customer,
                locale=language,
                page_url=request.build_absolute_uri()[:2000],
                touchpoint_key=touchpoint_key,
                channel=channel,
                idempotency_key=params.get("idempotency_key", ""),
                hidden_fields=hidden,
                invitation=invitation,
            )
        except rules.SurveyNotAccepting:
            return render(
                request,
                "surveys/link_closed.html",
                {"survey": survey, "body_class": "survey-page"},
                status=410,
            )
        except ValidationError as exc:
            errors: dict[str, str] = {}
            for field, messages_ in exc.message_dict.items():
                errors[field.removeprefix("answers.")] = " ".join(messages_)
            context = _link_context(survey, language, params, values=answers, errors=errors)
            context["form_error"] = _("Please check your answers.")
            context["errors"] = errors
            return render(request, "surveys/link.html", context, status=400)
        thanks = reverse("survey-thanks", args=[survey.public_id]) + f"?lang={language}"
        if invitation is not None:
            thanks += f"&inv={invitation.token}"
        return redirect(thanks)


def survey_thanks(request: HttpRequest, public_id: str) -> HttpResponse:
    if not selectors.public_id_valid(public_id):
        raise Http404
    survey = unscoped_queryset(Survey).filter(public_id=public_id).first()
    if survey is None:
        raise Http404
    language = pick_language(
        [request.GET.get("lang", ""), translation.get_language() or ""],
        list(survey.languages),
        survey.default_language,
    )
    with translation.override(language):
        return render(
            request,
            "surveys/link_thanks.html",
            {
                "survey": survey,
                "message": localised(survey.thank_you, language, survey.default_language),
                "inv": request.GET.get("inv", "")[:64],
                "language": language,
                "body_class": "survey-page",
            },
        )


@csrf_exempt  # the signed token is the credential; mail clients POST it without a session (RFC 8058)
def survey_unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET asks (mail scanners only GET); POST unsubscribes (also RFC 8058 one-click)."""
    done = False
    if request.method == "POST":
        customer = services.customer_unsubscribe(token=token)
        if customer is None:
            raise Http404
        done = True
    else:
        from django.core import signing

        try:
            signing.loads(token, salt=services.UNSUBSCRIBE_SALT)
        except signing.BadSignature as exc:
            raise Http404 from exc
    return render(request, "surveys/unsubscribe.html", {"done": done, "body_class": "survey-page"})
