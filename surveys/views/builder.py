"""Pages: the survey list and builder (surveys, questions, status, duplicate, preview)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cxm.tenancy.scoping import check_permission, organization_required, scoped, scoped_get_or_404
from cxm.tenancy.tenant import organization_of

from .. import services
from ..content import TEMPLATES, pick_language
from ..forms import CHOICE_KINDS, OptionFormSet, QuestionForm, SurveyForm, option_initial
from ..models import Question, Response, Survey
from ._common import _link_context

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
