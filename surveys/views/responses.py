"""Pages: the response list and a response in detail."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation

from cxm.tenancy.scoping import organization_required, scoped_get_or_404
from cxm.tenancy.tenant import organization_of
from feedback import page_selectors as text_selectors
from feedback import selectors as feedback_selectors

from ..content import localised
from ..models import Response
from ._common import _filtered_responses


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
    organization = organization_of(request)
    return render(
        request,
        "surveys/response_detail.html",
        {
            "nav": "surveys",
            "response": response,
            "answers": answers,
            # What the comment says: the text layer's sentiment and themes (served version).
            "text": feedback_selectors.response_text_results(
                organization=organization, response_ids=[response.pk]
            ).get(response.pk),
            "theme_names": text_selectors.theme_names(organization=organization),
        },
    )
