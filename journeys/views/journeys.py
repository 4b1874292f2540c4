"""Pages: journeys, their map and stages."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cxm.tenancy.scoping import check_permission, organization_required, scoped_get_or_404
from cxm.tenancy.tenant import organization_of
from feedback import page_selectors as text_selectors
from feedback.selectors import TextFilters
from metrics import selectors as metrics_selectors

from .. import selectors, services
from ..forms import JourneyForm, MapFilterForm, StageForm
from ..models import Journey, Stage
from ._common import _can, _metric_rows


@organization_required("view")
def journey_index(request: HttpRequest) -> HttpResponse:
    organization = organization_of(request)
    form = JourneyForm(request.POST or None)
    if request.method == "POST":
        check_permission(request, "edit")
        if form.is_valid():
            journey = services.journey_create(organization=organization, **form.cleaned_data)
            messages.success(request, _("Journey created."))
            return redirect("journey-map", pk=journey.pk)
    return render(
        request,
        "journeys/journey_index.html",
        {
            "nav": "journeys",
            "journeys": list(selectors.journey_list(organization=organization)),
            "unassigned": list(selectors.unassigned_touchpoints(organization=organization)),
            "form": form,
        },
    )


@organization_required("view")
def journey_map(request: HttpRequest, pk: int) -> HttpResponse:
    journey = scoped_get_or_404(request, Journey, pk=pk)
    filters = MapFilterForm(request.GET or None, initial={"days": "90"})
    channel, days = "", 90
    if filters.is_valid():
        channel = filters.cleaned_data["channel"] or ""
        days = int(filters.cleaned_data["days"] or 90)
    now = timezone.now()
    start, previous_start = now - timedelta(days=days), now - timedelta(days=2 * days)
    # Metrics owns the score math: both windows in one grouped query.
    previous, current = metrics_selectors.touchpoint_scores_by_period(
        organization=journey.organization, periods=[(previous_start, start), (start, now)]
    )
    the_map = selectors.journey_map(journey=journey, channel=channel or None)
    # What customers say at each touchpoint in the same window (two aggregate queries).
    themes = text_selectors.top_themes_by_touchpoint(
        organization=journey.organization,
        touchpoint_ids=[t.pk for cards in the_map.touchpoints_by_stage.values() for t in cards],
        filters=TextFilters(start=timezone.localdate(start, journey.organization.tzinfo)),
    )
    columns = []
    for stage in the_map.stages:
        cards = []
        for touchpoint in the_map.touchpoints_by_stage.get(stage.pk, []):
            metrics = _metric_rows(current.get(touchpoint.pk), previous.get(touchpoint.pk))
            cards.append(
                {
                    "touchpoint": touchpoint,
                    "metrics": metrics,
                    "tone": metrics[0]["tone"] if metrics else "neutral",
                    "n": (current.get(touchpoint.pk) or {}).get("n", 0),
                    "themes": themes.get(touchpoint.pk, []),
                }
            )
        columns.append({"stage": stage, "cards": cards})
    return render(
        request,
        "journeys/journey_map.html",
        {
            "nav": "journeys",
            "journey": journey,
            "columns": columns,
            "filters": filters,
            "days": days,
            "channel": channel,
            "stage_form": StageForm(),
            "can_edit": _can(request, "edit"),
        },
    )


@organization_required("edit")
def journey_edit(request: HttpRequest, pk: int) -> HttpResponse:
    journey = scoped_get_or_404(request, Journey, pk=pk)
    form = JourneyForm(
        request.POST or None, initial={"name": journey.name, "description": journey.description}
    )
    if request.method == "POST" and form.is_valid():
        services.journey_update(journey=journey, **form.cleaned_data)
        return redirect("journey-map", pk=journey.pk)
    return render(
        request,
        "journeys/form.html",
        {
            "nav": "journeys",
            "form": form,
            "title": _("Edit journey"),
            "back": reverse("journey-map", args=[journey.pk]),
        },
    )


@require_POST
@organization_required("edit")
def journey_delete(request: HttpRequest, pk: int) -> HttpResponse:
    services.journey_delete(journey=scoped_get_or_404(request, Journey, pk=pk))
    messages.success(request, _("Journey deleted."))
    return redirect("journey-index")


@require_POST
@organization_required("edit")
def stage_add(request: HttpRequest, pk: int) -> HttpResponse:
    journey = scoped_get_or_404(request, Journey, pk=pk)
    form = StageForm(request.POST)
    if form.is_valid():
        services.stage_create(journey=journey, name=form.cleaned_data["name"])
    else:
        messages.error(request, _("A stage needs a name."))
    return redirect("journey-map", pk=journey.pk)


@organization_required("edit")
def stage_edit(request: HttpRequest, pk: int) -> HttpResponse:
    stage = scoped_get_or_404(request, Stage, pk=pk)
    form = StageForm(request.POST or None, initial={"name": stage.name})
    if request.method == "POST" and form.is_valid():
        services.stage_update(stage=stage, name=form.cleaned_data["name"])
        return redirect("journey-map", pk=stage.journey_id)
    return render(
        request,
        "journeys/form.html",
        {
            "nav": "journeys",
            "form": form,
            "title": _("Edit stage"),
            "back": reverse("journey-map", args=[stage.journey_id]),
            "delete_url": reverse("stage-delete", args=[stage.pk]),
            "delete_confirm": _("Delete this stage? Its touchpoints are kept without a stage."),
        },
    )


@require_POST
@organization_required("edit")
def stage_move(request: HttpRequest, pk: int) -> HttpResponse:
    stage = scoped_get_or_404(request, Stage, pk=pk)
    services.stage_move(stage=stage, offset=-1 if request.POST.get("direction") == "left" else 1)
    return redirect("journey-map", pk=stage.journey_id)


@require_POST
@organization_required("edit")
def stage_delete(request: HttpRequest, pk: int) -> HttpResponse:
    stage = scoped_get_or_404(request, Stage, pk=pk)
    journey_id = stage.journey_id
    services.stage_delete(stage=stage)
    messages.success(request, _("Stage deleted."))
    return redirect("journey-map", pk=journey_id)
