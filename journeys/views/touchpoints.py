"""Pages: touchpoints, their form and detail with monthly scores."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cxm.tenancy.scoping import organization_required, scoped, scoped_get_or_404
from cxm.tenancy.tenant import organization_of
from feedback import page_selectors as text_selectors
from feedback import selectors as feedback_selectors
from feedback.selectors import TextFilters
from metrics import selectors as metrics_selectors
from surveys import selectors as surveys_selectors

from .. import services
from ..forms import TouchpointForm
from ..models import Channel, Stage, Touchpoint
from ._common import _can, _metric_rows


def _touchpoint_form_page(request: HttpRequest, touchpoint: Touchpoint | None) -> HttpResponse:
    organization = organization_of(request)
    initial: dict[str, Any] = {}
    if touchpoint is not None:
        initial = {
            "name": touchpoint.name,
            "key": touchpoint.key,
            "channel": touchpoint.channel,
            "stage": touchpoint.stage_id,
            "owner": touchpoint.owner,
            "description": touchpoint.description,
        }
    elif request.GET.get("stage"):
        initial = {"stage": request.GET["stage"], "channel": Channel.WEBSITE}
    form = TouchpointForm(request.POST or None, initial=initial, organization=organization)
    if request.method == "POST" and form.is_valid():
        try:
            if touchpoint is None:
                touchpoint = services.touchpoint_create(organization=organization, **form.cleaned_data)
            else:
                touchpoint = services.touchpoint_update(touchpoint=touchpoint, **form.cleaned_data)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        else:
            if touchpoint.stage_id:
                return redirect("journey-map", pk=touchpoint.stage.journey_id)  # type: ignore[union-attr]
            return redirect("touchpoint-detail", pk=touchpoint.pk)
    back = reverse("journey-index")
    stage = form.initial.get("stage") or (touchpoint.stage_id if touchpoint else None)
    if stage:
        journey_id = scoped(request, Stage).filter(pk=stage).values_list("journey_id", flat=True).first()
        if journey_id:
            back = reverse("journey-map", args=[journey_id])
    context = {
        "nav": "journeys",
        "form": form,
        "title": _("New touchpoint") if touchpoint is None else _("Edit touchpoint"),
        "back": back,
    }
    if touchpoint is not None:
        context["delete_url"] = reverse("touchpoint-delete", args=[touchpoint.pk])
        context["delete_confirm"] = _("Delete this touchpoint? Its surveys stay, without a touchpoint.")
    return render(request, "journeys/form.html", context)


@organization_required("edit")
def touchpoint_create(request: HttpRequest) -> HttpResponse:
    return _touchpoint_form_page(request, None)


@organization_required("edit")
def touchpoint_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _touchpoint_form_page(request, scoped_get_or_404(request, Touchpoint, pk=pk))


@require_POST
@organization_required("edit")
def touchpoint_move(request: HttpRequest, pk: int) -> HttpResponse:
    touchpoint = scoped_get_or_404(request, Touchpoint.objects.select_related("stage"), pk=pk)
    services.touchpoint_move(touchpoint=touchpoint, offset=-1 if request.POST.get("direction") == "up" else 1)
    if touchpoint.stage is None:
        return redirect("touchpoint-detail", pk=touchpoint.pk)
    return redirect("journey-map", pk=touchpoint.stage.journey_id)


@require_POST
@organization_required("edit")
def touchpoint_delete(request: HttpRequest, pk: int) -> HttpResponse:
    touchpoint = scoped_get_or_404(request, Touchpoint.objects.select_related("stage"), pk=pk)
    journey_id = touchpoint.stage.journey_id if touchpoint.stage else None
    services.touchpoint_delete(touchpoint=touchpoint)
    messages.success(request, _("Touchpoint deleted."))
    return redirect("journey-map", pk=journey_id) if journey_id else redirect("journey-index")


def _month_starts(organization: Any, count: int) -> list[datetime]:
    tz = organization.tzinfo
    today = timezone.now().astimezone(tz).date()
    year, month = today.year, today.month
    starts = []
    for _i in range(count + 1):
        starts.append(datetime.combine(date(year, month, 1), time.min, tzinfo=tz))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return list(reversed(starts))


@organization_required("view")
def touchpoint_detail(request: HttpRequest, pk: int) -> HttpResponse:
    touchpoint = scoped_get_or_404(
        request, Touchpoint.objects.select_related("stage__journey", "organization"), pk=pk
    )
    organization = touchpoint.organization
    starts = _month_starts(organization, 11)  # this month and the 11 before it
    months = [
        (start, starts[index + 1] if index + 1 < len(starts) else None) for index, start in enumerate(starts)
    ]
    # One query for the chart (every month) and one for the cards (the two windows), this touchpoint only.
    by_month = metrics_selectors.touchpoint_scores_by_period(
        organization=organization, periods=months, touchpoint_id=touchpoint.pk
    )
    series: dict[str, list[Any]] = {"month": [], "nps": [], "csat": [], "ces": [], "n": []}
    for (start, _end), month_scores in zip(months, by_month, strict=True):
        scores = month_scores.get(touchpoint.pk)
        series["month"].append(start.strftime("%Y-%m"))
        series["nps"].append(scores["nps"]["nps"] if scores and scores["nps"]["n"] else None)
        series["csat"].append(scores["csat"]["top2_pct"] if scores and scores["csat"]["n"] else None)
        series["ces"].append(float(scores["ces"]["mean"]) if scores and scores["ces"]["n"] else None)
        series["n"].append(scores["n"] if scores else 0)
    now = timezone.now()
    previous_scores, current_scores = metrics_selectors.touchpoint_scores_by_period(
        organization=organization,
        periods=[(now - timedelta(days=180), now - timedelta(days=90)), (now - timedelta(days=90), now)],
        touchpoint_id=touchpoint.pk,
    )
    current, previous = current_scores.get(touchpoint.pk), previous_scores.get(touchpoint.pk)
    comments = surveys_selectors.touchpoint_comments(organization=organization, touchpoint=touchpoint)
    themes = text_selectors.top_themes_by_touchpoint(
        organization=organization,
        touchpoint_ids=[touchpoint.pk],
        filters=TextFilters(start=timezone.localdate(now - timedelta(days=90), organization.tzinfo)),
        limit=5,
    ).get(touchpoint.pk, [])
    comments = list(comments)
    comment_text = feedback_selectors.response_text_results(
        organization=organization, response_ids=[r.pk for r in comments]
    )
    for response in comments:
        response.text_result = comment_text.get(response.pk)  # type: ignore[attr-defined]
    surveys = surveys_selectors.touchpoint_surveys(organization=organization, touchpoint=touchpoint)
    labels = {
        "nps": _("NPS"),
        "csat": _("CSAT (percent satisfied)"),
        "ces": _("CES (mean, 1–7)"),
        "title": _("Scores by month"),
        "no_data": _("No data for this period."),
    }
    return render(
        request,
        "journeys/touchpoint_detail.html",
        {
            "nav": "journeys",
            "touchpoint": touchpoint,
            "metrics": _metric_rows(current, previous),
            "chart": {"series": series, "labels": labels},
            "comments": comments,
            "themes": themes,
            "theme_names": text_selectors.theme_names(organization=organization),
            "surveys": surveys,
            "can_edit": _can(request, "edit"),
        },
    )
